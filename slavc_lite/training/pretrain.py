"""Object pretraining on the toy world: the offline stand-in for ImageNet.

SLAVC's image encoder starts from an ImageNet classifier, and its OGL map (review Eq. 5) comes
from an ImageNet network that is never fine-tuned: object knowledge learnt with labels, on
another dataset. Offline, :class:`~slavc_lite.data.toy.ToyObjectDataset` plays ImageNet's part:
this module trains the visual trunk (``build_image_encoder(backbone)``) plus a linear classifier
on global-average-pooled features to tell the toy classes apart (all of them, the never-sounding
ones included) and, with ``run.pretrain_cells`` (on in the ``cpu-toy`` preset), a
1x1-convolution classifier of every cell of the 7 x 7 feature map (object class or background,
from the drawn object's mask, :func:`slavc_lite.data.toy.objects.cell_labels`); the loss is then
the sum of the two cross-entropies. Why the cells: SLAVC's maps compare the *direction* of each
cell's feature with the audio's (cosines of L2-normalised features), and ImageNet's networks
have features that change from object to background (the reason class activation maps work,
Zhou et al., CVPR 2016); global pooling alone does not ask for that. With a trunk whose cells
see the whole frame (MobileNetV3-small) it did not improve the SLAVC map; with the local CNN of
the recipe it does (the README's variants table measures the recipe without it). Then it saves
the trunk alone as
a plain state dict (torchvision's key names, no classifier) at ``RUN/pretrain/object_net.pth``,
so that ``build_image_encoder(backbone, weights=<that file>)`` and ``SLAVC(image_weights=<that
file>)`` load it as they load ImageNet weights.

Data: epoch ``e`` draws ``pretrain_samples`` fresh objects (indices ``[e * n, (e + 1) * n)`` of
the object set, so no image is seen twice and no augmentation is needed); accuracy is measured
on a held-out set drawn with another seed, after the BatchNorm running statistics have been
re-estimated on training images (see :func:`_recalibrate_batch_norm`); the pretraining continues
from its last finished epoch when interrupted. Recipe: Adam,
``run.pretrain_lr``, batch ``run.pretrain_batch_size``; mixed precision on CUDA as the main
training.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import update_bn
from torch.utils.data import DataLoader, Subset

from slavc_lite.atomic_files import atomic_torch_save
from slavc_lite.encoders import build_image_encoder
from slavc_lite.training.batchnorm import set_batch_norm_momentum
from slavc_lite.training.config import TrainConfig
from slavc_lite.training.precision import Precision, autocast, make_grad_scaler

__all__ = ["ObjectClassifier", "PretrainResult", "pretrain_object_net", "HELD_OUT_SAMPLES"]

#: Size of the held-out object set that measures the pretraining's accuracy (at most the
#: number of training objects per epoch).
HELD_OUT_SAMPLES = 500
#: Training images over which the BatchNorm statistics are re-estimated at the end.
BN_CALIBRATION_SAMPLES = 512
_HELD_OUT_SEED_OFFSET = 7919  # the held-out objects' seed: run seed + this (never the training seed)


class ObjectClassifier(nn.Module):
    """The visual trunk (``trunk``) + global average pooling + a linear layer over the classes,
    and ``cells``: a 1x1 convolution that classifies every cell of the feature map (the classes
    plus background, label ``n_classes``)."""

    def __init__(self, backbone: str, n_classes: int) -> None:
        super().__init__()
        self.trunk = build_image_encoder(backbone, None)
        self.head = nn.Linear(self.trunk.out_channels, n_classes)
        self.cells = nn.Conv2d(self.trunk.out_channels, n_classes + 1, kernel_size=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Image-level logits ``[B, n_classes]``."""
        return self.head(self.trunk(images).mean(dim=(2, 3)))

    def both(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Image-level logits and cell logits ``[B, n_classes + 1, h, w]`` from one trunk pass."""
        features = self.trunk(images)
        return self.head(features.mean(dim=(2, 3))), self.cells(features)


@dataclass
class PretrainResult:
    """What the pretraining did: the saved file, per-epoch loss and accuracies, time."""

    path: Path
    epochs: list[dict]
    held_out_accuracy: float
    seconds: float

    def to_dict(self) -> dict:
        return {"path": self.path.name, "epochs": self.epochs, "held_out_accuracy": self.held_out_accuracy,
                "seconds": round(self.seconds, 2)}


def _loader(dataset, batch_size: int, shuffle: bool, seed: int, workers: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=workers, persistent_workers=False)


@torch.no_grad()
def _accuracy(model: nn.Module, loader: DataLoader, device: torch.device, precision: Precision,
              layout: torch.memory_format) -> float:
    model.eval()
    correct = total = 0
    for images, labels, *_ in loader:
        with autocast(precision):
            logits = model(images.to(device).contiguous(memory_format=layout))
        correct += int((logits.argmax(1).cpu() == labels).sum())
        total += len(labels)
    model.train()
    return correct / max(total, 1)


def _recalibrate_batch_norm(model: nn.Module, objects, batch_size: int, device: torch.device) -> None:
    """Re-estimate the BatchNorm running statistics on ``BN_CALIBRATION_SAMPLES`` training images.

    torchvision's MobileNetV3 updates them with momentum 0.01, so after the few hundred steps of a
    CPU pretraining they still lean on their initial values and the network in eval mode (the OGL
    map, the SLAVC image encoder's start) would see wrong statistics. ``update_bn`` of
    ``torch.optim.swa_utils`` recomputes them as exact averages over the given images.
    """
    calibration = Subset(objects, range(min(BN_CALIBRATION_SAMPLES, len(objects))))
    loader = DataLoader(calibration, batch_size=batch_size, shuffle=False)
    update_bn(loader, model, device=device)


def pretrain_object_net(
    config: TrainConfig,
    out_path: str | Path,
    device: torch.device,
    precision: Precision,
    progress: bool = True,
    emit: Callable[[dict], None] | None = None,
    state_path: str | Path | None = None,
) -> PretrainResult:
    """Train the object classifier of the toy world and save its trunk to ``out_path`` (atomically).

    ``emit`` receives one ``{"event": "pretrain", "epoch", "loss", "train_accuracy",
    "held_out_accuracy", "train_seconds", "seconds"}`` record per epoch (``train_seconds``: the
    epoch's training steps, object generation included; ``seconds``: since the start).

    ``state_path``: where the classifier, Adam and the history are saved after every epoch
    (atomically), so that an interrupted pretraining continues from its last finished epoch;
    deleted once ``out_path`` is written. Each epoch's objects and order come from the seed and
    the epoch number, so the continued pretraining is the uninterrupted one.
    """
    from slavc_lite.data.toy import CLASS_NAMES, ToyObjectDataset

    run = config.run
    seed = run.seed
    torch.manual_seed(seed)
    channels_last = run.channels_last and device.type in ("cuda", "cpu")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = ObjectClassifier(config.model.backbone, len(CLASS_NAMES)).to(device, memory_format=layout).train()
    set_batch_norm_momentum(model, config.model.bn_momentum)
    optimizer = torch.optim.Adam(model.parameters(), lr=run.pretrain_lr)
    scaler = make_grad_scaler(precision)
    objects = ToyObjectDataset(run.pretrain_samples * run.pretrain_epochs, seed=seed,
                               cell_targets=run.pretrain_cells,
                               corner_aligned=config.model.backbone == "local_cnn")
    n_held_out = min(HELD_OUT_SAMPLES, run.pretrain_samples)
    held_out = _loader(ToyObjectDataset(n_held_out, seed=seed + _HELD_OUT_SEED_OFFSET),
                       max(run.pretrain_batch_size, 64), False, seed, config.data.workers)
    start = time.perf_counter()
    history: list[dict] = []
    first_epoch = 0
    state_path = Path(state_path) if state_path is not None else None
    if state_path is not None and state_path.is_file():
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state["grad_scaler"]:
            scaler.load_state_dict(state["grad_scaler"])
        history, first_epoch = list(state["history"]), int(state["epoch"])
    earlier = history[-1]["seconds"] if history else 0.0  # time spent before an interruption
    for epoch in range(first_epoch, run.pretrain_epochs):
        first = epoch * run.pretrain_samples
        part = Subset(objects, range(first, first + run.pretrain_samples))
        loader = _loader(part, run.pretrain_batch_size, True, seed + epoch, config.data.workers)
        bar = None
        if progress:
            from slavc_lite.progress import tqdm

            bar = tqdm(total=len(loader), desc=f"object pretraining {epoch + 1}/{run.pretrain_epochs}",
                       unit="batch", leave=False)
        loss_sum, correct, seen = 0.0, 0, 0
        epoch_start = time.perf_counter()
        for images, labels, *cells in loader:
            images = images.to(device, non_blocking=True).contiguous(memory_format=layout)
            labels = labels.to(device, non_blocking=True)
            with autocast(precision):
                if cells:
                    logits, cell_logits = model.both(images)
                    loss = (F.cross_entropy(logits.float(), labels)
                            + F.cross_entropy(cell_logits.float(), cells[0].to(device, non_blocking=True)))
                else:
                    logits = model(images)
                    loss = F.cross_entropy(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += float(loss.detach()) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
            if bar is not None:
                bar.update()
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.2f}")
        if bar is not None:
            bar.close()
        train_seconds = time.perf_counter() - epoch_start
        _recalibrate_batch_norm(model, part, run.pretrain_batch_size, device)
        record = {"event": "pretrain", "epoch": epoch + 1, "loss": loss_sum / max(seen, 1),
                  "train_accuracy": correct / max(seen, 1),
                  "held_out_accuracy": _accuracy(model, held_out, device, precision, layout),
                  "train_seconds": round(train_seconds, 2),
                  "seconds": round(earlier + time.perf_counter() - start, 2)}
        history.append(record)
        if state_path is not None and epoch + 1 < run.pretrain_epochs:
            atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                               "grad_scaler": scaler.state_dict(), "epoch": epoch + 1, "history": history},
                              state_path)
        if emit is not None:
            emit(record)
    out_path = Path(out_path)
    trunk_state = {k: v.detach().cpu() for k, v in model.trunk.state_dict().items()}
    atomic_torch_save(trunk_state, out_path)
    if state_path is not None:
        state_path.unlink(missing_ok=True)
    return PretrainResult(out_path, history, history[-1]["held_out_accuracy"] if history else float("nan"),
                          earlier + time.perf_counter() - start)
