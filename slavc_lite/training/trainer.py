"""The training loop of SLAVC: :func:`train`.

One step is the official ``train.py``'s: the model's forward first moves the momentum encoders
(``theta_m <- m theta_m + (1 - m) theta``), then computes the loss of review Eq. 1-4 (online
image vs momentum audio and momentum image vs online audio); Adam updates the online networks
(constant learning rate as published, or the official cosine option,
:mod:`slavc_lite.training.schedule`). Around it:

* **Data**: cached pairs (:mod:`slavc_lite.training.data`), the toy world generated when needed;
  object pretraining first for the toy world (:mod:`slavc_lite.training.pretrain`).
* **Devices**: CUDA with mixed precision (bfloat16, or float16 + grad scaler) and optional
  ``torch.compile``; CPU and MPS in float32 (:mod:`slavc_lite.training.precision`);
  ``channels_last`` on CUDA and CPU. Several processes with DDP under ``torchrun``
  (:mod:`slavc_lite.training.distributed`).
* **Files** (:class:`~slavc_lite.training.layout.RunLayout`): ``config.json`` at the start;
  ``latest.pth`` every ``run.checkpoint_every`` steps and at each epoch end, atomically, with
  everything an exact resume needs (:mod:`slavc_lite.training.state`); ``best.pth`` when the
  validation score is at least the best so far (no early stopping); ``metrics.jsonl``
  (:mod:`slavc_lite.training.metrics_log`); ``summary.json`` at the end.
* **Validation** before training and after each epoch on the held-out set
  (:mod:`slavc_lite.training.validation`).

``callback(event)`` receives every record that goes to ``metrics.jsonl`` (dicts with an
``"event"`` key: ``start``, ``pretrain``, ``step``, ``epoch``, ``validation``, ``checkpoint``,
``end``), on the main process, e.g. to draw live curves in a notebook.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from slavc_lite._version import __version__
from slavc_lite.checkpoints import load_checkpoint, official_state_dict, save_checkpoint
from slavc_lite.errors import CheckpointError, SlavcLiteError
from slavc_lite.losses import same_class_pairs
from slavc_lite.model import SLAVC
from slavc_lite.training import distributed as D
from slavc_lite.training.batchnorm import set_batch_norm_momentum
from slavc_lite.training.config import PRETRAINED_OBJECT_NET, TrainConfig
from slavc_lite.training.data import RunData, ShardedLoader, load_run_data, toy_world_root
from slavc_lite.training.files import write_json
from slavc_lite.training.layout import RunLayout
from slavc_lite.training.metrics_log import MetricsLog, describe_event
from slavc_lite.training.precision import Precision, autocast, make_grad_scaler, precision_for
from slavc_lite.training.rng import capture_rng_state, restore_rng_state, seed_everything
from slavc_lite.training.run_folder import prepare_run_folder
from slavc_lite.training.schedule import learning_rate, set_learning_rate
from slavc_lite.training.state import Progress
from slavc_lite.training.validation import is_improvement, official_best_metrics, score_from_table, validate

__all__ = ["Callback", "Trainer", "train"]

logger = logging.getLogger(__name__)

Callback = Callable[[dict[str, Any]], None]


def _resolve_device(name: str) -> torch.device:
    from slavc_lite.localize import resolve_device

    return resolve_device(name)


def _unwrap(model: nn.Module) -> nn.Module:
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


def _device_preference(config: TrainConfig | None, layout: RunLayout, device: str | None) -> str:
    if device is not None:
        return device
    if config is not None:
        return config.run.device
    if layout.config.is_file():
        try:
            return TrainConfig.from_json(layout.config).run.device
        except KeyError:
            pass  # prepare_run_folder reports the unreadable file
    return "auto"


class Trainer:
    """One training run in ``layout.root`` (use :func:`train`; this class holds its state).

    Attributes worth reading from a callback or a test: ``model`` (the bare SLAVC),
    ``optimizer``, ``progress`` (:class:`~slavc_lite.training.state.Progress`), ``data``.
    """

    def __init__(self, config: TrainConfig, layout: RunLayout, ctx: D.DistContext, device: torch.device,
                 resume: bool, show_progress: bool, callback: Callback | None) -> None:
        self.config = config
        self.layout = layout
        self.ctx = ctx
        self.device = device
        self.resume = resume
        self.show = show_progress and ctx.is_main
        self.callback = callback
        self.precision: Precision = precision_for(device, config.run.amp, config.run.amp_dtype)
        self.batch_size = D.per_process_batch(config.optim.batch_size, ctx.world_size)
        self.global_batch = self.batch_size * ctx.world_size
        self.progress = Progress()
        self.log: MetricsLog | None = None
        self.pretrain_info: dict | None = None
        self._resume_states: list[dict] | None = None
        self.heard_classes: dict[str, frozenset[str]] | None = None  # optim.same_class_negatives=false
        self._wall_start = time.perf_counter()

    # ------------------------------------------------------------------ events
    def emit(self, record: dict[str, Any]) -> None:
        """Write a record to the metrics log and pass it to the callback (main process only)."""
        if not self.ctx.is_main:
            return
        record = {**record, "time": round(time.time(), 3)}
        if self.log is not None:
            self.log.write(record)
        line = describe_event(record)
        if line is not None:
            self._note(line)
        if self.callback is not None:
            self.callback(record)

    def _note(self, text: str) -> None:
        logger.info(text)
        if self.show:
            from slavc_lite.progress import tqdm

            tqdm.write(text)

    # ------------------------------------------------------------------ set-up
    def _open_log(self) -> None:
        if not self.ctx.is_main:
            return
        tensorboard = self.layout.tensorboard if self.config.run.tensorboard else None
        self.log = MetricsLog(self.layout.metrics, tensorboard)

    def _pretrain(self) -> None:
        """Toy-world object pretraining (main process), unless its result is already in the run."""
        run = self.config.run
        if run.pretrain_epochs < 1:
            return
        if self.ctx.is_main and not self.layout.object_net.is_file():
            from slavc_lite.training.pretrain import pretrain_object_net

            self._note(f"object pretraining: {run.pretrain_epochs} x {run.pretrain_samples} toy objects")
            result = pretrain_object_net(self.config, self.layout.object_net, self.device, self.precision,
                                         progress=self.show, emit=self.emit,
                                         state_path=self.layout.pretrain_state)
            write_json(self.layout.pretrain_summary, result.to_dict())
        D.barrier(self.ctx)
        if self.layout.pretrain_summary.is_file():
            import json

            self.pretrain_info = json.loads(self.layout.pretrain_summary.read_text(encoding="utf-8"))

    def build_model(self) -> None:
        """The model (seeded), Adam, the grad scaler, and the DDP / compiled wrapper that steps."""
        m, run = self.config.model, self.config.run
        weights: Any = m.image_weights
        if weights == PRETRAINED_OBJECT_NET:
            weights = self.layout.object_net
        if self.resume:
            weights = None  # every weight comes from the checkpoint: no download, no extra file needed
        seed_everything(run.seed)
        model = SLAVC(backbone=m.backbone, image_weights=weights, dim=m.dim, tau=m.tau,
                      dropout_img=m.dropout_img, dropout_aud=m.dropout_aud, momentum_img=m.momentum_img,
                      momentum_aud=m.momentum_aud, loss=m.loss)
        set_batch_norm_momentum(model, m.bn_momentum)
        # channels_last: faster convolutions on CUDA and on CPUs (oneDNN; measured 2x for a
        # MobileNetV3-small step on 2 cores); MPS keeps the default layout.
        self.channels_last = run.channels_last and self.device.type in ("cuda", "cpu")
        model = model.to(self.device, memory_format=torch.channels_last if self.channels_last else None)
        self.model = model.train()
        scale = self.config.optim.image_trunk_lr_scale
        if scale == 0:
            model.imgnet.requires_grad_(False)  # frozen: no gradient, no optimizer state
        trunk = {id(p) for p in model.imgnet.parameters()}
        params = [p for p in model.parameters() if p.requires_grad]  # official: the online networks
        groups = [{"params": [p for p in params if id(p) not in trunk]}]
        if scale > 0:
            groups.append({"params": [p for p in params if id(p) in trunk],
                           "lr": self.config.optim.lr * scale, "lr_scale": scale})
        self.optimizer = torch.optim.Adam(groups, lr=self.config.optim.lr,
                                          weight_decay=self.config.optim.weight_decay)
        self.scaler = make_grad_scaler(self.precision)
        step_model: nn.Module = model
        if self.ctx.is_distributed:
            step_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[self.device] if self.device.type == "cuda" else None)
        if run.compile:
            step_model = torch.compile(step_model)
        self.step_model = step_model
        # Each process draws its own dropout masks from here on (one process: seed + 0).
        seed_everything(run.seed + self.ctx.rank)

    def _checkpoint_config(self) -> dict[str, Any]:
        return {"train": self.config.to_dict(), "seed": self.config.run.seed,
                "image_weights": None if self.config.model.image_weights is None
                else str(self.config.model.image_weights)}

    def _load_resume_state(self) -> None:
        checkpoint = load_checkpoint(self.layout.latest)
        name = str(self.layout.latest)
        for key in ("progress", "per_process", "optimizer"):
            if key not in checkpoint:
                raise CheckpointError(f"{name}: has no {key!r} entry: not a resumable slavc-lite checkpoint")
        try:
            self.model.load_state_dict(official_state_dict(checkpoint, name), strict=True)
            self.optimizer.load_state_dict(checkpoint["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{name}: does not fit this run's model or optimizer ({exc})") from exc
        if checkpoint.get("grad_scaler"):
            self.scaler.load_state_dict(checkpoint["grad_scaler"])
        self.progress = Progress.from_entry(checkpoint["progress"])
        states = checkpoint["per_process"]
        if len(states) == self.ctx.world_size:
            restore_rng_state(states[self.ctx.rank]["rng"])
            self._resume_states = states
        elif self.progress.position > 0:
            raise CheckpointError(f"{name}: saved in the middle of an epoch by {len(states)} processes; "
                                  f"resume it with the same number of processes (now {self.ctx.world_size})")
        else:
            seed_everything(self.config.run.seed + self.ctx.rank + 1_000_003 * self.progress.step)
            self._note(f"resuming with {self.ctx.world_size} processes instead of {len(states)}: the random "
                       "draws differ from an uninterrupted run from here on")
        if self.log is not None:
            dropped = self.log.truncate_after(self.progress.step)
            if dropped:
                logger.info("dropped %d metric records written after step %d", dropped, self.progress.step)

    # ------------------------------------------------------------------ checkpoints
    def _save(self, reason: str, best: bool = False) -> None:
        generator = self.loader.generator
        mine = {"rng": capture_rng_state(),
                "loader": generator.get_state() if generator is not None else None}
        per_process = D.all_gather_objects(mine, self.ctx)
        if not self.ctx.is_main:
            return
        p = self.progress
        p.train_seconds = self._train_seconds()
        entries = {"progress": p.to_entry(), "per_process": per_process,
                   "grad_scaler": self.scaler.state_dict()}
        metrics = official_best_metrics(p.best_table) if p.best_table else None
        config = self._checkpoint_config()
        save_checkpoint(self.layout.latest, self.model, self.optimizer, epoch=p.epoch, metrics=metrics,
                        config=config, **entries)
        files = [self.layout.latest.name]
        if best:
            save_checkpoint(self.layout.best, self.model, self.optimizer, epoch=p.epoch, metrics=metrics,
                            config=config, **entries)
            files.append(self.layout.best.name)
        self.emit({"event": "checkpoint", "step": p.step, "epoch": p.epoch, "position": p.position,
                   "files": files, "reason": reason})

    def _train_seconds(self) -> float:
        return self._seconds_before + (time.perf_counter() - self._segment_start)

    # ------------------------------------------------------------------ validation
    def _validate(self, label: int) -> dict | None:
        """Score the held-out set (main process); returns the table, or None without validation."""
        table = None
        if self.ctx.is_main and self.data.val is not None:
            pause = time.perf_counter()
            table = validate(_unwrap(self.model), self.data.val, batch_size=self.config.data.val_batch_size,
                             device=self.device, precision=self.precision, limit=self.config.data.val_limit,
                             progress=self.show)
            self._segment_start += time.perf_counter() - pause  # validation time is not training time
        D.barrier(self.ctx)
        if table is not None:
            score = score_from_table(table, self.config.run.best_metric)
            self.emit({"event": "validation", "epoch": label, "step": self.progress.step,
                       "metric": self.config.run.best_metric, "score": score, "table": table})
        return table

    def _record_validation(self, table: dict | None) -> bool:
        """Update the best score with ``table``; True when ``best.pth`` should be written."""
        if table is None:
            return False
        p = self.progress
        p.last_table = table
        score = score_from_table(table, self.config.run.best_metric)
        if not is_improvement(score, p.best_score if p.has_best else None):
            return False
        p.best_score, p.best_epoch, p.best_step, p.best_table = score, p.epoch, p.step, table
        return True

    # ------------------------------------------------------------------ the loop
    def train_step(self, batch: dict) -> torch.Tensor:
        """One optimizer step on ``batch`` (momentum update and loss in the forward); the loss."""
        images, specs = batch["image"], batch["spec"]
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
            specs = specs.contiguous(memory_format=torch.channels_last)
        exclude = self._same_class_pairs(batch["id"]) if self.heard_classes is not None else None
        with autocast(self.precision):
            loss = self.step_model(images, specs, exclude)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.config.optim.clip_norm > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach()

    def _train_scenes_file(self) -> Path:
        """The toy world's labels of the training split (``optim.same_class_negatives=false``)."""
        return toy_world_root(self.config) / "train" / "scenes.csv"

    def _read_heard_classes(self) -> None:
        """With ``optim.same_class_negatives`` off: what each training clip sounds like (toy labels)."""
        if self.config.optim.same_class_negatives:
            return
        from slavc_lite.evaluation.testsets import read_toy_scenes

        self.heard_classes = read_toy_scenes(self._train_scenes_file()).audio_classes

    def _same_class_pairs(self, ids: list[str]) -> torch.Tensor:
        missing = [i for i in ids if i not in self.heard_classes]
        if missing:
            raise SlavcLiteError(f"{self._train_scenes_file()}: no labels for the training pairs "
                                 f"{missing[:5]}: optim.same_class_negatives=false needs every pair's "
                                 "heard classes")
        return same_class_pairs([self.heard_classes[i] for i in ids]).to(self.device)

    def _mean_loss(self, total: torch.Tensor, count: int) -> float:
        value = torch.stack([total.float().to(self.device), torch.tensor(float(count), device=self.device)])
        if self.ctx.is_distributed:
            torch.distributed.all_reduce(value)
        return float(value[0] / value[1])

    def _check_replicas(self) -> None:
        checksum = D.parameter_checksum(self.model)
        sums = D.all_gather_objects(checksum.tolist(), self.ctx)
        if self.ctx.is_main:
            self.emit({"event": "replicas", "step": self.progress.step, "checksums": sums})
        if any(s != sums[0] for s in sums):
            raise SlavcLiteError(f"step {self.progress.step}: the processes' parameters differ "
                                 f"(checksums {sums})")

    def _target_reached(self) -> bool:
        o, p = self.config.optim, self.progress
        return p.epoch >= o.epochs or (o.max_steps is not None and p.step >= o.max_steps)

    def _train_epoch(self) -> str:
        """Train from the current position to the end of the epoch or ``max_steps``; returns
        ``"epoch"`` (the epoch is complete) or ``"max_steps"``."""
        cfg, p = self.config, self.progress
        n_batches = len(self.loader)
        state = None
        if p.position > 0 and self._resume_states is not None:
            state = self._resume_states[self.ctx.rank]["loader"]
        self._resume_states = None
        bar = None
        if self.show:
            from slavc_lite.progress import tqdm

            bar = tqdm(total=n_batches, initial=p.position, desc=f"epoch {p.epoch + 1}/{cfg.optim.epochs}",
                       unit="batch")
        loss_total, loss_count, epoch_total, epoch_count = torch.zeros((), device=self.device), 0, 0.0, 0
        interval_start, interval_samples = time.perf_counter(), 0
        outcome = "epoch"
        try:
            for batch in self.loader.iterate(p.epoch, p.position, state):
                set_learning_rate(self.optimizer, learning_rate(cfg.optim, p.epoch + p.position / n_batches))
                loss = self.train_step(batch)
                p.step += 1
                p.position = self.loader.position
                p.samples += self.global_batch
                loss_total = loss_total + loss.float()
                loss_count += 1
                interval_samples += self.global_batch
                if cfg.run.check_replicas_every and self.ctx.is_distributed \
                        and p.step % cfg.run.check_replicas_every == 0:
                    self._check_replicas()
                if p.step % cfg.run.log_every == 0 or p.position == n_batches:
                    mean = self._mean_loss(loss_total, loss_count)
                    seconds = time.perf_counter() - interval_start
                    epoch_total, epoch_count = epoch_total + mean * loss_count, epoch_count + loss_count
                    self.emit({"event": "step", "step": p.step, "epoch": p.epoch + p.position / n_batches,
                               "loss": mean, "lr": self.optimizer.param_groups[0]["lr"],
                               "samples_per_s": interval_samples / seconds if seconds > 0 else math.nan})
                    if bar is not None:
                        bar.set_postfix(loss=f"{mean:.4f}")
                    loss_total, loss_count = torch.zeros((), device=self.device), 0
                    interval_start, interval_samples = time.perf_counter(), 0
                if bar is not None:
                    bar.update()
                reached = cfg.optim.max_steps is not None and p.step >= cfg.optim.max_steps
                if reached:
                    outcome = "max_steps"
                    break
                every = cfg.run.checkpoint_every
                if every and p.step % every == 0 and p.position < n_batches:
                    self._save("every")
        finally:
            if bar is not None:
                bar.close()
        if loss_count:  # a stop between two log steps
            mean = self._mean_loss(loss_total, loss_count)
            epoch_total, epoch_count = epoch_total + mean * loss_count, epoch_count + loss_count
        self.last_loss = epoch_total / epoch_count if epoch_count else math.nan
        if p.position == n_batches:
            p.epoch += 1
            p.position = 0
            self.emit({"event": "epoch", "step": p.step, "epoch": p.epoch, "loss": self.last_loss,
                       "train_seconds": round(self._train_seconds(), 2)})
            return "epoch"
        return outcome

    def run(self) -> dict[str, Any]:
        """Data, pretraining, model, resume state, then epochs until done; returns the summary."""
        cfg = self.config
        self._open_log()
        if self.ctx.is_main and self.log is not None and not self.resume:
            self.log.clear()
        self.data: RunData = load_run_data(cfg, self.ctx, progress=self.show)
        self._read_heard_classes()
        self._pretrain()
        self.build_model()
        self.loader = ShardedLoader(self.data.train, self.batch_size, seed=cfg.run.seed, rank=self.ctx.rank,
                                    world_size=self.ctx.world_size, device=self.device)
        if self.resume:
            self._load_resume_state()
            if self.ctx.is_main:
                self.layout.summary.unlink(missing_ok=True)  # it described an earlier end
        p = self.progress  # (replaced by the resumed one above)
        resumed_from = p.step if self.resume else None
        self.emit({"event": "start", "step": p.step, "library_version": __version__,
                   "torch_version": torch.__version__, "python_version": platform.python_version(),
                   "seed": cfg.run.seed, "device": str(self.device), "precision": self.precision.name,
                   "world_size": self.ctx.world_size, "per_process_batch": self.batch_size,
                   "global_batch": self.global_batch, "n_train": len(self.data.train),
                   "n_val": len(self.data.val) if self.data.val is not None else 0,
                   "val_set": self.data.val_name, "steps_per_epoch": len(self.loader),
                   "resumed_from_step": resumed_from, "preset": cfg.preset})
        self._note(f"training {cfg.preset}: {len(self.data.train)} pairs, {len(self.loader)} steps per epoch "
                   f"of {self.global_batch} ({self.ctx.world_size} process(es)), {self.device}, "
                   f"{self.precision.name}"
                   + (f", resumed at step {p.step}" if self.resume else ""))
        self._seconds_before, self._segment_start = p.train_seconds, time.perf_counter()
        self.last_loss = math.nan
        if not self.resume and cfg.run.validate_at_start:
            self._validate(0)
        stopped_by = "epochs"
        while not self._target_reached():
            outcome = self._train_epoch()
            if outcome == "epoch":
                best = self._record_validation(self._validate(p.epoch))
                self._save("epoch", best=best)
            else:
                stopped_by = "max_steps"
                best = self._record_validation(self._validate(p.epoch))
                self._save("max_steps", best=best)
                break
        if cfg.optim.max_steps is not None and p.step >= cfg.optim.max_steps and p.epoch < cfg.optim.epochs:
            stopped_by = "max_steps"
        summary = self._summary(stopped_by)
        if self.ctx.is_main:
            write_json(self.layout.summary, summary)
        self.emit({"event": "end", "step": p.step, "summary": summary})
        if self.log is not None:
            self.log.close()
        return summary

    def _summary(self, stopped_by: str) -> dict[str, Any]:
        cfg, p = self.config, self.progress
        seconds = self._train_seconds()
        has_best = self.layout.best.is_file()
        return {
            "preset": cfg.preset, "config": cfg.to_dict(), "seed": cfg.run.seed,
            "library_version": __version__,
            "torch_version": torch.__version__, "device": str(self.device), "precision": self.precision.name,
            "world_size": self.ctx.world_size, "per_process_batch": self.batch_size,
            "global_batch": self.global_batch, "steps": p.step, "epochs_completed": p.epoch,
            "position_in_epoch": p.position, "stopped_by": stopped_by, "samples_seen": p.samples,
            "train_seconds": round(seconds, 2), "samples_per_s": p.samples / seconds if seconds > 0 else None,
            "last_epoch_loss": self.last_loss, "validation": p.last_table or None,
            "best": {"metric": cfg.run.best_metric, "score": p.best_score, "epoch": p.best_epoch,
                     "step": p.best_step, "table": p.best_table or None} if p.has_best else None,
            "pretrain": self.pretrain_info,
            "files": {"latest": self.layout.latest.name, "best": self.layout.best.name if has_best else None,
                      "object_net": os.path.relpath(self.layout.object_net, self.layout.root)
                      if self.layout.object_net.is_file() else None},
            "val_set": self.data.val_name, "n_train": len(self.data.train),
            "wall_seconds_this_process": round(time.perf_counter() - self._wall_start, 2),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }


def train(config: TrainConfig | None, out_dir: str | os.PathLike, *, resume: bool = False,
          progress: bool = True, callback: Callback | None = None,
          device: str | None = None) -> dict[str, Any]:
    """Train SLAVC with ``config`` into the run folder ``out_dir``; returns the run summary.

    Args:
        config: the configuration (e.g. ``preset("cpu-toy")``); ``None`` with ``resume`` uses the
            saved one.
        out_dir: the run folder (anywhere, e.g. a mounted Google Drive). A new run needs a new or
            empty folder; see :mod:`slavc_lite.training.run_folder` for what is refused.
        resume: continue the run saved in ``out_dir/latest.pth`` exactly where it stopped.
        progress: show progress bars (``tqdm.auto``: notebook widgets in Jupyter).
        callback: called with every metrics record (see the module docstring), main process only.
        device: overrides ``run.device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``...).

    Under ``torchrun`` every process calls this; they train together with DDP.
    """
    layout = RunLayout(Path(out_dir).expanduser())
    if device is not None and config is not None:
        config = config.with_overrides({"run.device": device})
    base_device = _resolve_device(_device_preference(config, layout, device))
    joined_here = not torch.distributed.is_initialized()
    ctx, run_device = D.init_distributed(base_device)
    try:
        problem = None
        if ctx.is_main:
            try:
                config = prepare_run_folder(layout, config, resume)
                if device is not None and config.run.device != device:
                    config = config.with_overrides({"run.device": device})
            except (SlavcLiteError, ValueError) as exc:
                problem = exc
        shared = D.broadcast_object(None if problem else config.to_dict(), ctx)
        if problem is not None:
            raise problem
        if shared is None:
            raise SlavcLiteError(f"{layout.root}: the main process could not start the run (see its error)")
        config = TrainConfig.from_dict(shared)
        return Trainer(config, layout, ctx, run_device, resume, progress, callback).run()
    finally:
        if joined_here:
            D.shutdown_distributed(ctx)
