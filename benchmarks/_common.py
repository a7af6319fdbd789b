"""Small helpers shared by the benchmark scripts: timing and `name: value` printing."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def report(name: str, value: float | str, digits: int = 3) -> None:
    """Print one ``name: value`` line (the format every benchmark uses)."""
    text = value if isinstance(value, str) else f"{value:.{digits}f}"
    print(f"{name}: {text}", flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], repeats: int, warmup: int, device: torch.device) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def median_ms(times: list[float]) -> float:
    return 1000 * statistics.median(times)


def machine_line() -> str:
    if torch.cuda.is_available():
        return f"cuda {torch.cuda.get_device_name(0)}"
    return f"cpu, {torch.get_num_threads()} threads"
