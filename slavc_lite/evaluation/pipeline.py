"""``evaluate``: a checkpoint (or a model) on a test set, end to end, as one call.

The Python face of ``slavc-lite evaluate`` (and of the evaluation notebooks): load the
networks under the weights policy, build the test set, score SLAVC, OGL, VSL and the
baselines (:func:`score_test_set`), then the hard-case table (toy world) and the
negative-audio analysis, and return an :class:`EvaluationResult` that holds the tables and
can write ``metrics.json`` / ``metrics.md``.

Weights: the SLAVC checkpoint may be a file (ours or the official format, a zip/tar holding
one, a folder holding one) or a training run folder (:class:`slavc_lite.training.layout.RunLayout`:
its ``best.pth``, else ``latest.pth``). The OGL network (the visual encoder's architecture,
never fine-tuned) gets, by default, the weights that belong with the checkpoint
(:func:`slavc_lite.training.layout.ogl_weights_for`: a toy run's own ``pretrain/object_net.pth``,
else ImageNet, which offline and not cached raises
:class:`~slavc_lite.errors.WeightsUnavailableError`; never random weights in silence).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from slavc_lite.atomic_files import atomic_write_text
from slavc_lite.errors import WeightsUnavailableError
from slavc_lite.evaluation import report as rep
from slavc_lite.evaluation.baselines import BASELINES, CENTER_SIGMA, RANDOM_SEED, baseline_maps
from slavc_lite.evaluation.findings import OBJECTS_FILE, CoverageRecorder, findings, read_objects
from slavc_lite.evaluation.hard_cases import hard_case_tables, single_scene_groups
from slavc_lite.evaluation.inference import TestSetScores, score_test_set
from slavc_lite.evaluation.negative_audio import (
    NEGATIVE_KINDS,
    NEGATIVE_SEED,
    NegativeAudioResult,
    negative_audio_table,
    score_negative_audio,
)
from slavc_lite.evaluation.paper_negative_audio import (
    PAPER_ALPHAS,
    PaperNegativeAudio,
    score_paper_negative_audio,
)
from slavc_lite.evaluation.testsets import TOY_TEST_SETS, load_test_set, sample_info
from slavc_lite.weights import ImageWeights, describe_weights

__all__ = ["EVALUATION_ALPHA", "HEADLINE_METRICS", "EvaluationResult", "evaluate", "evaluate_run",
           "load_networks"]

EVALUATION_ALPHA = 0.9
"""VSL weight for evaluation: the official extended-benchmark script's (the IPOL demo uses 0.4)."""
#: The numbers of :func:`evaluate_run`'s headline, per map.
HEADLINE_METRICS = ("cIoU", "AUC", "AP", "max-F1")
SAMPLES_FILE = "samples.csv"
FIGURES_DIR = "figures"
NEGATIVE_FIGURE = "negative_audio.png"
PAPER_FIGURE = "negative_audio_paper.png"


def load_networks(
    checkpoint: str | os.PathLike,
    ogl_weights: ImageWeights = "auto",
    object_net: nn.Module | None = None,
) -> tuple[nn.Module, nn.Module, dict[str, str]]:
    """``(model, object_net, descriptions)`` for a checkpoint file or a run folder.

    ``ogl_weights``: ``"auto"`` (:func:`ogl_weights_for` the checkpoint), ``"imagenet"`` or a
    state-dict file. Random OGL weights are never chosen here. A given ``object_net`` is used
    as it is (no weights are loaded for it).
    """
    from slavc_lite.checkpoints import load_model
    from slavc_lite.encoders import build_image_encoder
    from slavc_lite.training.layout import RunLayout, is_run_folder, ogl_weights_for

    path = Path(checkpoint)
    weights_file = RunLayout(path).weights() if path.is_dir() and is_run_folder(path) else path
    model, slavc_description = load_model(weights_file)
    if object_net is not None:
        return model, object_net, {"slavc": slavc_description, "ogl": "object network given in Python"}
    if ogl_weights is None:
        raise ValueError("the OGL network needs weights ('auto', 'imagenet' or a file); random OGL "
                         "weights make the OGL and VSL rows meaningless")
    if isinstance(ogl_weights, str) and ogl_weights == "auto":
        ogl_weights = ogl_weights_for(path)
    try:
        object_net = build_image_encoder(model.backbone, ogl_weights)
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(
            f"{exc}\nThe OGL network of {path.name} needs these weights; or give its weights with "
            "--ogl-weights FILE (Python: ogl_weights=FILE), e.g. a toy run's pretrain/object_net.pth."
        ) from exc
    return model, object_net, {"slavc": slavc_description,
                               "ogl": f"{model.backbone}, {describe_weights(ogl_weights)}"}


@dataclass
class EvaluationResult:
    """Everything an evaluation computed.

    Attributes:
        scores: per-sample scores of every map (:class:`TestSetScores`).
        tables: ``{map: official table}`` (every size subset).
        hard_cases: ``{map: hard-case table}`` (toy test sets), else None.
        negative_audio: the negative-audio scores (our extra views), else None.
        paper_negative_audio: the same negatives measured as Juanola, Haro and Fuentes
            (2024) measure them (:mod:`slavc_lite.evaluation.paper_negative_audio`), else None.
        config: what was evaluated, how (JSON-ready).
        figures: paths of the figures written.
    """

    scores: TestSetScores
    tables: dict[str, dict]
    hard_cases: dict[str, dict] | None
    negative_audio: NegativeAudioResult | None
    config: dict[str, Any]
    figures: list[Path] = field(default_factory=list)
    findings: dict[str, Any] | None = None
    paper_negative_audio: PaperNegativeAudio | None = None

    def table(self, map_name: str = "slavc") -> dict:
        """The official table of one map."""
        return self.tables[map_name]

    @property
    def main_table(self) -> dict[str, dict[str, float]]:
        """``{map: numbers of the "all" subset}``: maps and baselines as rows."""
        return rep.main_table(self.tables)

    def negative_audio_tables(self) -> dict[str, dict]:
        if self.negative_audio is None:
            return {}
        return {m: negative_audio_table(self.negative_audio, m) for m in self.negative_audio.maps}

    def report(self) -> dict[str, Any]:
        """The content of ``metrics.json`` (see :mod:`slavc_lite.evaluation.report`)."""
        out: dict[str, Any] = dict(self.main_table)
        out["tables"] = self.tables
        if self.hard_cases is not None:
            out["hard_cases"] = self.hard_cases
        if self.findings is not None:
            out["findings"] = self.findings
        if self.paper_negative_audio is not None:
            paper = self.paper_negative_audio
            out["negative_audio_paper"] = {
                "source": "Juanola, Haro, Fuentes, ICASSP 2025 (arXiv:2410.01020); code "
                          "xavijuanola/vssl_eval",
                "units": "fractions (the paper prints them times 100)",
                "kinds": paper.kinds, "inputs": paper.inputs, "universal_thresholds": paper.universal,
                "universal_source": paper.universal_source, "maps": paper.tables()}
        if self.negative_audio is not None:
            out["negative_audio"] = {"measured": "our extra views, not the paper's metrics",
                                     "kinds": list(self.negative_audio.negatives),
                                     "noise_rms": self.negative_audio.noise_rms,
                                     "seed": self.negative_audio.seed,
                                     "maps": self.negative_audio_tables()}
        out["config"] = self.config
        return rep.json_safe(out)

    def markdown(self) -> str:
        return rep.markdown_report(self.report())

    def save(self, out: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``samples.csv`` (per-sample numbers), ``metrics.md`` and ``metrics.json``."""
        out = Path(out)
        rows = self.scores.per_sample()
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / SAMPLES_FILE, buffer.getvalue())
        return rep.write_report(self.report(), out)


def evaluate(
    checkpoint_or_model: str | os.PathLike | nn.Module,
    data: str | os.PathLike,
    testset: str,
    *,
    metadata: str | os.PathLike | None = None,
    alpha: float = EVALUATION_ALPHA,
    ogl_weights: ImageWeights = "auto",
    object_net: nn.Module | None = None,
    baselines: tuple[str, ...] | list[str] = BASELINES,
    negative_audio: bool = True,
    paper_alphas: tuple[float, ...] | list[float] = PAPER_ALPHAS,
    paper_inputs: str = "ours",
    hard_cases: bool | None = None,
    batch_size: int = 32,
    device: str | torch.device | None = None,
    limit: int | None = None,
    visualize: int = 0,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    num_workers: int = 0,
    seed: int = RANDOM_SEED,
) -> EvaluationResult:
    """Evaluate SLAVC, OGL, VSL and the baselines on a test set.

    Args:
        checkpoint_or_model: a checkpoint file, a run folder, or a SLAVC model.
        data: the dataset folder (``frames/``, ``audio/``); for ``toy``/``toy_plus_silent`` the toy
            world's root.
        testset: see :data:`slavc_lite.evaluation.testsets.TEST_SETS`.
        metadata: folder with the official metadata files (default: downloaded and cached; the
            toy world holds its own).
        alpha: VSL weight; default 0.9 as the official extended-benchmark script.
        ogl_weights: weights of the OGL network: ``"auto"`` (the checkpoint's own, see
            :func:`load_networks`; ImageNet for a model), ``"imagenet"`` or a file. Ignored when
            ``object_net`` is given.
        object_net: an OGL network to use as is.
        baselines: which of ``center``, ``random``, ``oracle``, ``grid_oracle`` to add as rows.
        negative_audio: also score the sounding images with silence, noise and off-screen audio:
            the paper's measurement (:func:`score_paper_negative_audio`, SLAVC alone and
            blended with OGL at each of ``paper_alphas``) and our extra views.
        paper_alphas: the alphas of the paper's tables with OGL (default 0.4 as the paper's
            code, 0.9 as SLAVC's test script).
        paper_inputs: ``"ours"`` (silence and noise through our front end, as our extras) or
            ``"reference"`` (as the paper's loader builds them, see
            :mod:`slavc_lite.evaluation.paper_negative_audio`).
        hard_cases: the per-kind table; default: for the toy test sets.
        batch_size, device, limit, num_workers, progress: see :func:`score_test_set`.
        visualize: save the figures of the first N samples to ``out/figures/``.
        out: write ``metrics.json``, ``metrics.md``, ``samples.csv`` (and figures) there.
        seed: seed of the random baseline and of the negative audio.
    """
    from slavc_lite import __version__
    from slavc_lite.encoders import build_image_encoder
    from slavc_lite.localize import resolve_device

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], not {alpha}")
    if visualize and out is None:
        raise ValueError("visualize needs an output folder (out=...)")
    # The test set first: a wrong path fails before any weights are loaded.
    dataset = load_test_set(data, testset, metadata=metadata)
    if isinstance(checkpoint_or_model, nn.Module):
        model = checkpoint_or_model
        checkpoint_name = f"{type(model).__name__} given in Python"
        descriptions = {"slavc": "model given in Python"}
        if object_net is None:
            weights = "imagenet" if isinstance(ogl_weights, str) and ogl_weights == "auto" else ogl_weights
            if weights is None:
                raise ValueError("give the OGL network's weights ('imagenet' or a file) or object_net")
            object_net = build_image_encoder(model.backbone, weights)
            descriptions["ogl"] = f"{model.backbone}, {describe_weights(weights)}"
    else:
        checkpoint_name = str(checkpoint_or_model)
        model, object_net, descriptions = load_networks(checkpoint_or_model, ogl_weights, object_net)
    descriptions.setdefault("ogl", "object network given in Python")
    device = resolve_device(device)
    model.to(device)
    object_net.to(device)

    figures: list[Path] = []
    callbacks = []
    if visualize:
        from slavc_lite.evaluation.visualize import FigureWriter

        writer = FigureWriter(Path(out) / FIGURES_DIR, dataset, visualize, alpha,
                              title=f"SLAVC: {descriptions['slavc']}")
        callbacks.append(writer)
    recorder = None
    toy = hard_cases or (hard_cases is None and testset in TOY_TEST_SETS)  # the per-kind tables and findings
    if toy and (Path(dataset.root) / OBJECTS_FILE).is_file():
        recorder = CoverageRecorder(read_objects(dataset.root))
        callbacks.append(recorder)

    def on_batch(batch: dict, maps: dict) -> None:
        for callback in callbacks:
            callback(batch, maps)

    scores = score_test_set(model, dataset, object_net=object_net, alpha=alpha, batch_size=batch_size,
                            device=device, limit=limit, progress=progress, num_workers=num_workers,
                            extra_maps=baseline_maps(tuple(baselines), seed=seed),
                            on_batch=on_batch if callbacks else None)
    if visualize:
        figures.extend(writer.written)

    info = None
    if negative_audio or toy:
        info = sample_info(dataset, testset, metadata)
    hard = None
    found = None
    if toy:
        if not info.kinds:
            raise ValueError(f"the hard-case table needs toy scene kinds; {testset} has none")
        groups = single_scene_groups(info.kinds, info.visible_classes, info.audio_classes)
        hard = hard_case_tables(scores, info.kinds, groups=groups)
        if recorder is not None:
            oracle = dict(zip(scores.ids, scores.cious["oracle"].tolist(), strict=True)) \
                if "oracle" in scores.cious else None
            found = findings(recorder, {i: info.kinds[i] for i in scores.ids}, groups, hard,
                             dict(zip(scores.ids, scores.areas.tolist(), strict=True)), oracle)
    negatives = None
    paper = None
    if negative_audio and scores.sounding.any():
        negatives = score_negative_audio(model, dataset, scores, info=info, object_net=object_net,
                                         alpha=alpha, kinds=NEGATIVE_KINDS, seed=NEGATIVE_SEED + seed,
                                         batch_size=batch_size, device=device, progress=progress)
        paper = score_paper_negative_audio(model, dataset, scores, info=info, object_net=object_net,
                                           alphas=tuple(paper_alphas), kinds=NEGATIVE_KINDS,
                                           inputs=paper_inputs, seed=NEGATIVE_SEED + seed,
                                           batch_size=batch_size, device=device, progress=progress)

    config = {
        "slavc_lite_version": __version__,
        "testset": testset,
        "data": str(data),
        "metadata": None if metadata is None else str(metadata),
        "checkpoint": checkpoint_name,
        "weights": descriptions,
        "backbone": getattr(model, "backbone", None),
        "alpha": float(alpha),
        "device": str(device),
        "batch_size": int(batch_size),
        "limit": limit,
        "n_samples": len(scores),
        "n_sounding": int(scores.sounding.sum()),
        "n_skipped": len(scores.skipped),
        "missing_ids": len(getattr(dataset, "missing_ids", [])),
        "missing_pairs": len(getattr(dataset, "missing_pairs", [])),
        "prediction": "relative: top 50% of each min-max normalised map (official)",
        "baselines": {"names": list(baselines), "center_sigma": CENTER_SIGMA, "random_seed": seed},
        "negative_audio": list(negatives.negatives) if negatives is not None else [],
        "negative_audio_paper_alphas": [float(a) for a in paper_alphas] if paper is not None else [],
        "negative_audio_paper_inputs": paper_inputs if paper is not None else None,
        "sample_info": info.source if info is not None else None,
    }
    result = EvaluationResult(scores, scores.tables(), hard, negatives, config, figures, found, paper)
    if out is not None:
        out = Path(out)
        if negatives is not None and negatives.negatives:
            from slavc_lite.evaluation.visualize import negative_audio_figure
            from slavc_lite.viz import save_figure

            fig = negative_audio_figure(negatives, title=f"{testset}: maximum map value by audio")
            result.figures.append(save_figure(fig, out / NEGATIVE_FIGURE))
        if paper is not None:
            from slavc_lite.evaluation.visualize import paper_maxima_figure
            from slavc_lite.viz import save_figure

            fig = paper_maxima_figure(paper, maps=list(paper.alphas),
                                      title=f"{testset}: maximum map value by audio, universal thresholds "
                                      f"| checkpoint {checkpoint_name}")
            result.figures.append(save_figure(fig, out / PAPER_FIGURE))
        result.save(out)
    return result


def evaluate_run(
    run: str | os.PathLike,
    toy_root: str | os.PathLike,
    out: str | os.PathLike,
    *,
    testset: str = "toy_plus_silent",
    alpha: float = EVALUATION_ALPHA,
    progress: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate a toy training run on its toy world's test set and write the report to ``out``.

    :func:`evaluate` with the run's own object network as OGL network; ``options`` go to it.
    Returns a small summary: ``out``, the report files, ``n_samples`` and ``headline``
    (``{map: {cIoU, AUC, AP, max-F1}}`` of the ``all`` subset, every map and baseline).
    """
    result = evaluate(run, toy_root, testset, alpha=alpha, out=out, progress=progress, **options)
    out = Path(out)
    headline = {name: {k: float(row[k]) for k in HEADLINE_METRICS} for name, row in result.main_table.items()}
    return {"out": str(out), "metrics_json": str(out / rep.JSON_FILE),
            "metrics_md": str(out / rep.MARKDOWN_FILE), "testset": testset, "alpha": float(alpha),
            "n_samples": len(result.scores), "headline": headline}
