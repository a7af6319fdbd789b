"""What the notebooks share: quick mode, folders, the device, the toy world, the best weights at hand.

Every chapter starts with the same setup cell (:data:`SETUP_CELL`), which on Colab installs the
package and PyAV without dependencies (:data:`COLAB_INSTALL`: Colab's torch and Jupyter
packages stay as they are) and then calls :func:`setup`.

* **Quick mode.** ``SLAVC_LITE_QUICK=1`` makes every notebook run in seconds (the test suite
  executes them this way): :data:`QUICK` is true and :func:`pick` returns the small value.
* **Folders.** Data (the toy world, downloads) go to :func:`data_dir` (``SLAVC_LITE_DATA``, else
  ``data/`` in a clone, else ``~/slavc-lite/data``); figures and executed notebooks to
  :func:`build_dir` (``SLAVC_LITE_BUILD``, else ``build/``); training runs to :func:`runs_dir`
  (``SLAVC_LITE_RUNS``, else ``runs/``).
* **Weights.** :func:`best_weights` finds the best SLAVC weights at hand, in the order the
  collection promises: the official release, the user's own training run, the toy-world model
  that ``make run`` trains. It never invents weights: with none it returns ``None`` and the
  chapter says so.
"""

from __future__ import annotations

import json
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from slavc_lite.fetch import OFFICIAL_CHECKPOINT_NAME, official_weights_dir
from slavc_lite.folders import build_dir, data_dir, project_root, runs_dir

__all__ = [
    "COLAB_INSTALL", "COLAB_PREINSTALLED", "QUICK", "QUICK_ENV", "REPOSITORY", "SETUP_CELL",
    "WeightsChoice", "best_weights", "build_dir", "colab_url", "data_dir", "device", "figure_path",
    "is_quick", "is_unattended", "on_colab", "pick", "project_root", "ensure_toy_run", "runs_dir",
    "save_figure", "seed_everything", "UNATTENDED_ENV", "setup", "toy_run_config", "toy_run_dir",
    "toy_world", "unmet_requirements",
]

QUICK_ENV = "SLAVC_LITE_QUICK"
"""The environment variable that switches every notebook to quick mode (``1``)."""

REPOSITORY = "slavc-lite/slavc-lite"
"""The project's GitHub repository (``owner/name``), for Colab links and the Colab install."""

COLAB_PREINSTALLED = (
    "torch", "torchvision", "torchaudio", "numpy", "scipy", "pillow", "soundfile", "librosa", "soxr",
    "matplotlib", "tqdm", "seaborn", "ipywidgets",
)
"""What Colab's runtime already has among the packages the chapters use (kept as they are)."""

COLAB_INSTALL = (f"slavc-lite @ git+https://github.com/{REPOSITORY}", "av>=11")
"""What the setup cell installs on Colab, with ``pip install --no-deps``: the package and PyAV.

This is the hosted-notebook install. ``--no-deps`` makes pip install exactly these two and
resolve nothing, so it can neither replace Colab's torch, torchvision and torchaudio (a
matching triple) nor upgrade the packages Colab's own kernel runs on (ipykernel, ipython,
jupyter-client, tornado, pyzmq, traitlets, ipywidgets ...): upgrading those crashes the runtime.
Colab already has every other dependency (:data:`COLAB_PREINSTALLED`); PyAV (the ``video``
extra) is the one it lacks. No Jupyter package is installed: the ``notebooks`` extra is for
running the chapters elsewhere. :func:`unmet_requirements` (printed by :func:`setup`) names any
dependency that a runtime lacks or has too old. ``tests/test_hosted_install.py`` checks this list
against pyproject.toml and the closure of what it installs.
"""

SETUP_CELL = f"""\
# Setup. In a clone the package is already installed (`make lab`). On Colab this installs only
# slavc-lite and PyAV, without dependencies: Colab has the others (torch, torchvision, torchaudio,
# librosa, matplotlib, seaborn, ipywidgets), and its Jupyter packages must stay as they are.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("slavc_lite") is None:
    if "google.colab" not in sys.modules:
        raise ModuleNotFoundError("slavc_lite is not installed: `make lab` in a clone, or pip install "
                                  "'slavc-lite[notebooks,video] @ git+https://github.com/{REPOSITORY}'")
    install = {json.dumps(list(COLAB_INSTALL))}
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *install], check=True)
    importlib.invalidate_caches()
    print("Installed on Colab (pip --no-deps):", ", ".join(install))
from slavc_lite.teaching import tutorial

tutorial.setup()"""
"""The first code cell of every notebook (tests check that each notebook starts with it)."""

TOY_FULL = {"n_train": 2000, "n_val": 300, "n_test": 500}
TOY_QUICK = {"n_train": 64, "n_val": 24, "n_test": 48}
TOY_RUN_NAME = "cpu-toy"
"""The folder under :func:`runs_dir` where ``make run`` trains the toy-world model."""
TOY_QUICK_RUN_NAME = "cpu-toy-quick"
"""The same in quick mode (a few steps: a pipeline check, not a trained model)."""
QUICK_TRAIN_OVERRIDES = {
    "data.toy_train": TOY_QUICK["n_train"], "data.toy_val": TOY_QUICK["n_val"],
    "data.toy_test": TOY_QUICK["n_test"],
    "optim.max_steps": 4, "optim.batch_size": 8, "run.pretrain_samples": 64, "run.pretrain_epochs": 1,
    "run.checkpoint_every": 2, "run.log_every": 1,
}
"""How quick mode shrinks the ``cpu-toy`` recipe (every stage still runs)."""

OFFICIAL_CHECKPOINT_ENV = "SLAVC_LITE_CHECKPOINT"


def is_quick() -> bool:
    """Whether quick mode is on (``SLAVC_LITE_QUICK=1``), read now."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


UNATTENDED_ENV = "SLAVC_LITE_UNATTENDED"
"""Set (``1``) where notebooks run without a reader (``make run``, the tests): no downloads offered."""


def is_unattended() -> bool:
    """Whether the notebook runs without a reader (``SLAVC_LITE_UNATTENDED=1``), read now.

    :func:`slavc_lite.teaching.notebook_runner.execute_notebook` sets it, so that cells which offer a
    download (chapter 00's released weights) do nothing during ``make run`` and ``make test``.
    """
    return os.environ.get(UNATTENDED_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


QUICK = is_quick()
"""Quick mode at import time (notebooks read this)."""


def pick(full, quick):
    """``quick`` in quick mode, else ``full``: ``n_steps = tutorial.pick(300, 3)``."""
    return quick if is_quick() else full


def figure_path(name: str) -> Path:
    """``build/figures/<name>.png`` (the folder is created)."""
    folder = build_dir() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (name if name.endswith(".png") else f"{name}.png")


def save_figure(fig, name: str, dpi: int = 120) -> Path:
    """Save a matplotlib figure as a PNG at :func:`figure_path`, atomically; return the path."""
    from slavc_lite.atomic_files import atomic_write

    def write(fh) -> None:
        fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")

    return atomic_write(figure_path(name), write)


def device(preference: str = "auto"):
    """The torch device to use: CUDA, then Apple's MPS, then the CPU (or ``preference``)."""
    from slavc_lite.localize import resolve_device

    return resolve_device(preference)


def seed_everything(seed: int = 0) -> None:
    """Seed Python, numpy and torch (all devices)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - notebooks may use the legacy global generator
    torch.manual_seed(seed)


def colab_url(notebook: str) -> str:
    """The "Open in Colab" address of ``notebooks/<notebook>``."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{notebook}"


def toy_world(quick: bool | None = None, seed: int = 0) -> Path:
    """The toy world's folder in :func:`data_dir`, generated on first use.

    Full size: 2,000 training and 500 test pairs (``data/toy``, the same world ``make run``
    trains on); quick mode: 64 + 48 (``data/toy-quick``). Generation is deterministic and
    atomic; an existing identical world is reused.
    """
    from slavc_lite.data.toy import write_toy_world

    quick = is_quick() if quick is None else quick
    sizes = TOY_QUICK if quick else TOY_FULL
    out = data_dir() / ("toy-quick" if quick else "toy")
    write_toy_world(out, seed=seed, progress=not quick, verbose=False, **sizes)
    return out


TOY_VIDEOS_FULL = {"n_per_kind": 48, "n_val_per_kind": 24}
TOY_VIDEOS_QUICK = {"n_per_kind": 1, "n_val_per_kind": 1}
VIDEO_EVAL_NAME = "eval-video"


def toy_videos(quick: bool | None = None, seed: int = 0) -> Path:
    """The toy video world's folder in :func:`data_dir` (``toy-videos``; ``toy-videos-quick``),
    generated on first use: 48 test and 24 validation clips of every kind (1 + 1 in quick mode)."""
    from slavc_lite.data.toy.clip_writer import write_toy_videos

    quick = is_quick() if quick is None else quick
    out = data_dir() / ("toy-videos-quick" if quick else "toy-videos")
    write_toy_videos(out, seed=seed, **(TOY_VIDEOS_QUICK if quick else TOY_VIDEOS_FULL))
    return out


def video_eval_dir() -> Path:
    """Where ``make run`` writes the toy video evaluation (``build/eval-video``)."""
    return build_dir() / VIDEO_EVAL_NAME


@dataclass(frozen=True)
class WeightsChoice:
    """Which SLAVC weights a chapter uses: ``kind`` is ``"official"``, ``"trained"`` or ``"toy"``."""

    kind: str
    path: Path
    description: str


def _official_candidates() -> list[Path]:
    paths = []
    if os.environ.get(OFFICIAL_CHECKPOINT_ENV):
        paths.append(Path(os.environ[OFFICIAL_CHECKPOINT_ENV]).expanduser())
    weights = official_weights_dir()
    paths += [weights / f"{OFFICIAL_CHECKPOINT_NAME}{suffix}" for suffix in (".pth", ".zip", ".tar", "")]
    return paths


def toy_run_dir(quick: bool | None = None) -> Path:
    """``runs/cpu-toy`` (``runs/cpu-toy-quick`` in quick mode)."""
    quick = is_quick() if quick is None else quick
    return runs_dir() / (TOY_QUICK_RUN_NAME if quick else TOY_RUN_NAME)


def toy_run_config(quick: bool | None = None):
    """The ``cpu-toy`` preset on :func:`toy_world`'s folder (shrunk in quick mode)."""
    from slavc_lite.training import preset

    quick = is_quick() if quick is None else quick
    sizes = TOY_QUICK if quick else TOY_FULL
    toy_root = data_dir() / ("toy-quick" if quick else "toy")
    overrides = {"data.toy_root": str(toy_root), "data.toy_train": sizes["n_train"],
                 "data.toy_val": sizes["n_val"], "data.toy_test": sizes["n_test"]}
    if quick:
        overrides.update(QUICK_TRAIN_OVERRIDES)
    return preset("cpu-toy").with_overrides(overrides)


def _check_toy_run_is_current(run: Path, quick: bool) -> None:
    """Refuse a finished toy run that today's recipe would not train: another configuration (the
    preset changed since), or weights that no longer fit the model (an image trunk of an earlier
    version). It is the user's: it is named, not moved or deleted."""
    from slavc_lite.checkpoints import load_model
    from slavc_lite.errors import CheckpointError
    from slavc_lite.training import TrainConfig
    from slavc_lite.training.layout import RunLayout

    layout = RunLayout(run)
    changes = TrainConfig.from_json(layout.config).run_differences(toy_run_config(quick))
    reason = f"its configuration differs in {', '.join(changes)}" if changes else None
    if reason is None:
        try:
            load_model(layout.weights(), map_location="cpu")
        except CheckpointError as exc:
            reason = f"its weights do not fit today's model ({exc})"
    if reason is not None:
        raise RuntimeError(f"{run} holds a toy run of an earlier recipe: {reason}. Move it away or delete "
                           "it, and run again to train the current recipe.")


def ensure_toy_run(quick: bool | None = None, progress: bool | None = None) -> Path:
    """The toy-world run folder, trained first if it is not finished (resumed if interrupted).

    Full mode: the ``cpu-toy`` recipe, several minutes on 2 CPU cores (what ``make run`` does);
    quick mode: a few steps. Returns :func:`toy_run_dir`.
    """
    from slavc_lite.training import train
    from slavc_lite.training.layout import RunLayout

    quick = is_quick() if quick is None else quick
    run = toy_run_dir(quick)
    layout = RunLayout(run)
    if layout.is_finished():
        _check_toy_run_is_current(run, quick)
        return run
    progress = (not quick) if progress is None else progress
    if layout.latest.is_file():
        print(f"Resuming the toy-world training in {run} ...")
        train(None, run, resume=True, progress=progress)
    else:
        print(f"Training the toy-world model into {run} "
              + ("(quick mode: a few steps) ..." if quick else "(several minutes on 2 CPU cores) ..."))
        train(toy_run_config(quick), run, progress=progress)
    return run


def best_weights() -> WeightsChoice | None:
    """The best SLAVC weights at hand, or ``None``.

    Order: (1) the official release: ``SLAVC_LITE_CHECKPOINT``, or
    ``data/weights/slavc_vggsound144k(.pth|.zip|.tar|/)``; (2) the newest finished training run
    under :func:`runs_dir` other than the toy ones; (3) the toy-world run ``runs/cpu-toy`` trained
    by ``make run`` (in quick mode ``runs/cpu-toy-quick`` first). Nothing is downloaded here
    (notebook 00 has the download cell).
    """
    from slavc_lite.training.layout import RunLayout, is_run_folder

    for path in _official_candidates():
        if path.exists():
            return WeightsChoice("official", path, f"official SLAVC release (VGGSound-144k): {path.name}")
    runs = runs_dir()
    toy_names = (TOY_RUN_NAME, TOY_QUICK_RUN_NAME)
    own = sorted((p for p in runs.iterdir() if p.is_dir() and p.name not in toy_names and is_run_folder(p)),
                 key=lambda p: RunLayout(p).weights().stat().st_mtime, reverse=True)
    if own:
        return WeightsChoice("trained", own[0], f"your training run {own[0].name}")
    order = (TOY_QUICK_RUN_NAME, TOY_RUN_NAME) if is_quick() else (TOY_RUN_NAME,)
    for name in order:
        if is_run_folder(runs / name):
            what = "quick-mode toy run (a few steps, not a trained model)" if name == TOY_QUICK_RUN_NAME \
                else "toy-world model trained by `make run`"
            return WeightsChoice("toy", runs / name, f"{what} (runs/{name})")
    return None


def _inline_figures() -> None:
    """In a notebook, show matplotlib figures (also pyplot-free ``Figure`` objects) as PNG."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        select_figure_formats(shell, {"png"})


def on_colab() -> bool:
    """Whether this runs in a Colab kernel (which imports ``google.colab`` itself at start)."""
    return "google.colab" in sys.modules


def unmet_requirements(extras: tuple[str, ...] = ("video",)) -> list[str]:
    """slavc-lite's dependencies (and those of ``extras``) that are missing or too old here.

    Read from the installed package's metadata, so it is empty where slavc-lite is not installed
    as a distribution. On Colab, where the package is installed without its dependencies
    (:data:`COLAB_INSTALL`), this is the check that Colab's own packages are recent enough.
    Each entry reads ``"numpy>=2.0 (found 1.26.4)"`` or ``"av>=11 (missing)"``.
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        specs = metadata.requires("slavc-lite") or []
    except metadata.PackageNotFoundError:
        return []
    unmet = []
    for spec in specs:
        requirement = Requirement(spec)
        marker = requirement.marker
        if marker is not None and not any(marker.evaluate({"extra": e}) for e in ("", *extras)):
            continue
        try:
            found = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            unmet.append(f"{requirement.name}{requirement.specifier} (missing)")
            continue
        if not requirement.specifier.contains(found, prereleases=True):
            unmet.append(f"{requirement.name}{requirement.specifier} (found {found})")
    return unmet


def setup(seed: int = 0, verbose: bool = True) -> None:
    """What every chapter's first cell does: seed everything and print where we run.

    It also names any dependency that is missing or too old (:func:`unmet_requirements`),
    which matters on Colab, where the package is installed without its dependencies.
    """
    import torch

    seed_everything(seed)
    _inline_figures()
    if verbose:
        mode = "quick mode (SLAVC_LITE_QUICK=1)" if is_quick() else "full mode"
        where = "Colab, " if on_colab() else ""
        print(f"slavc_lite ready: {where}torch {torch.__version__}, device {device()}, {mode}, "
              f"data in {data_dir()}")
        unmet = unmet_requirements()
        if unmet:
            print("Warning: slavc_lite needs " + "; ".join(unmet) + ". Some cells may fail.")
