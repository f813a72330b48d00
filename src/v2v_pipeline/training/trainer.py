"""The training loop, shared by every model family.

The loop runs the budget (:mod:`.budget`), the stage plan (:mod:`.stages`) and the LR schedule,
samples batches deterministically from the step number (a resumed run sees the same batches
as an uninterrupted one), calls the family's recipe (:mod:`v2v_pipeline.recipes`) for the generator and
discriminator losses, updates both under autocast with a NaN/inf guard that skips the step
on every DDP rank, keeps the EMA, validates with the same inference code as ``transfer``
(:mod:`.validation`), writes checkpoints atomically and resumes from them, and logs.
Process-wide settings (threads, seeds) are the entry point's job (:mod:`v2v_pipeline.runtime`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from v2v_pipeline import runtime
from v2v_pipeline.boxes import clip_box
from v2v_pipeline.config import to_dict
from v2v_pipeline.inference import FORMAT
from v2v_pipeline.models.factory import count_parameters
from v2v_pipeline.models.losses import GANLoss
from v2v_pipeline.models.perceptual import select_perceptual_loss
from v2v_pipeline.params import TrainParams
from v2v_pipeline.progress import Ticker, format_duration, on_terminal, progress
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training import validation
from v2v_pipeline.training.budget import Budget
from v2v_pipeline.training.checkpoint import CheckpointManager, rng_state, set_rng_state
from v2v_pipeline.training.data import FrameTensors, SequenceDataset
from v2v_pipeline.training.networks import StageNetworks, background_module, set_requires_grad, unwrap
from v2v_pipeline.recipes import LossTerms, face, family_recipe
from v2v_pipeline.recipes.base import discriminator_losses
from v2v_pipeline.training.sampling import SampleSchedule, StepBatches, stack_items, step_batches, to_device
from v2v_pipeline.training.stages import by_name, plan, stage_at
from v2v_pipeline.training.validation import resized_uint8, sample_grid

log = logging.getLogger(__name__)

__all__ = ["SampleSchedule", "StepBatches", "StepResult", "TrainResult", "Trainer", "TrainingDivergedError",
           "background_module", "resized_uint8", "sample_grid", "stack_items", "unwrap"]


class TrainingDivergedError(RuntimeError):
    """Too many consecutive steps produced non-finite losses."""


@dataclass
class StepResult:
    losses: dict[str, float]


@dataclass
class TrainResult:
    model_file: dict[str, Any]
    history: pd.DataFrame
    samples: np.ndarray
    summary: dict[str, float] = field(default_factory=dict)


def median_plate(train: FrameTensors, size: tuple[int, int], max_frames: int = 200,
                 person_margin: float = 0.15) -> torch.Tensor:
    """The scene without the person: per-pixel median of (up to ``max_frames`` evenly spaced) training
    frames at ``size``, in [-1, 1], each frame's person box (grown by ``person_margin`` of its size on
    every side) left out of the median.

    A plain median keeps the person wherever they stand in most of the frames; the generator's
    composite then shows that figure as a ghost wherever its mask is 0, e.g. beside the person in
    every test frame where they stand elsewhere (issue 14). Pixels inside the box in every sampled
    frame keep the plain median; when they are under half of the frame they are inpainted from
    their surroundings instead (OpenCV Telea), so a target who never leaves one spot does not
    leave a figure in the plate. Frames without a person box count whole.
    """
    pick = np.unique(np.linspace(0, len(train.frames) - 1, min(max_frames, len(train.frames))).astype(int))
    images = train.images[pick].float()
    n, _, h, w = images.shape
    free = torch.ones(n, 1, h, w, dtype=torch.bool)
    for i, box in enumerate(train.person_boxes[pick].tolist()):
        if not all(math.isfinite(v) for v in box) or box[2] <= box[0] or box[3] <= box[1]:
            continue
        mx, my = (box[2] - box[0]) * person_margin, (box[3] - box[1]) * person_margin
        x0, y0, x1, y1 = clip_box((math.floor(box[0] - mx), math.floor(box[1] - my), math.ceil(box[2] + mx),
                                   math.ceil(box[3] + my)), (w, h))
        free[i, :, y0:y1, x0:x1] = False
    never = ~free.any(dim=0)[0]  # (H, W): the person covers it in every sampled frame
    if bool(never.all()):
        plate = images.median(dim=0).values
    else:
        plate = images.masked_fill(~free, float("nan")).nanmedian(dim=0).values
        if bool(never.any()):  # the plain median only where no frame is free (else nanmedian is NaN there)
            plate = torch.where(never, images.median(dim=0).values, plate)
    share = float(never.float().mean())
    if 0 < share < 0.5:
        import cv2  # noqa: PLC0415 - only here

        rgb = plate.permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()
        hole = never.numpy().astype(np.uint8) * 255
        plate = torch.from_numpy(cv2.inpaint(np.ascontiguousarray(rgb), hole, 5, cv2.INPAINT_TELEA)).permute(2, 0, 1)
        plate = plate.float()
    log.info("background plate: median of %d training frames without the person's box; %.1f %% of the pixels "
             "are inside it in every frame (%s)", n, 100 * share,
             "none" if share == 0 else "inpainted" if share < 0.5 else "plain median there")
    plate = plate[None] / 127.5 - 1.0
    if plate.shape[-2:] != (size[1], size[0]):
        plate = F.interpolate(plate, size=(size[1], size[0]), mode="bilinear", align_corners=False, antialias=True)
    return plate


def face_side(train: FrameTensors, scale: float, size: tuple[int, int]) -> int:
    """The face crop's side in training pixels: the 90th percentile of the face boxes (0 without faces)."""
    boxes = train.face_boxes.numpy()
    ok = np.isfinite(boxes).all(axis=1)
    if not ok.any():
        return 0
    sides = np.maximum(boxes[ok, 2] - boxes[ok, 0], boxes[ok, 3] - boxes[ok, 1]) * scale
    return int(np.clip(np.percentile(sides, 90), 8, min(size)))


class Trainer:
    def __init__(self, params: TrainParams, train: FrameTensors, train_sequences: pd.DataFrame,
                 val: FrameTensors | None, run_dir: str | Path,
                 dataset_sha256: str = "", on_log: Callable[[dict, int], None] | None = None,
                 on_image: Callable[[np.ndarray, int], None] | None = None,
                 dist_info: dist_utils.DistInfo | None = None, clock: Callable[[], float] = time.perf_counter,
                 run_id: str = "", outputs: str = ""):
        p = self.p = params
        self.run_id, self.outputs = run_id, outputs  # the MLflow run (stored in checkpoints), where results go
        self.resumed_from: str | None = None  # the run id a resumed checkpoint was written by
        self._resume_checked = False
        self.dist = dist_info or dist_utils.DistInfo()
        device = self.dist.device if self.dist.enabled else runtime.pick_device(p.device)
        self.runtime = runtime.Runtime(device, *runtime.choose_precision(device, p.precision), torch.get_num_threads(),
                                       *runtime.choose_compile(device, p.compile))
        if p.compile and not self.runtime.compile:
            log.warning("train.compile: torch.compile %s", self.runtime.compile_reason)
        self.device, self.precision = device, self.runtime.precision
        self.dataset_sha256 = dataset_sha256
        self.on_log = on_log or (lambda metrics, step: None)
        self.on_image = on_image or (lambda image, step: None)
        self.train_data, self.val = SequenceDataset(train, train_sequences, p.sequence_length), val
        self.label_ch = int(train.labels.shape[1])
        h, w = train.images.shape[-2:]
        self.full_size = (int(round(w * p.scale)), int(round(h * p.scale)))
        self.net = p.network_config(self.label_ch).with_training_size(*self.full_size)
        self._check_size()
        self.schedule = SampleSchedule(len(self.train_data), p.batch_size, p.seed, self.dist.rank, self.dist.world_size)
        self.ckpt = CheckpointManager(run_dir, p.keep_checkpoints, writable=self.dist.is_main)
        self.perceptual = select_perceptual_loss("off" if p.loss.vgg <= 0 else p.perceptual, p.vgg_weights,
                                                 p.perceptual_weights, p.perceptual_source)
        vgg = self.perceptual.loss
        self.terms = LossTerms(GANLoss(p.gan_mode), p.loss, vgg.to(device) if vgg is not None else None)
        self.vgg_active = vgg is not None
        self.scaler = self.runtime.grad_scaler()
        self.budget, self.plan = Budget(p.max_steps, p.max_minutes, clock), plan(p)
        plate = median_plate(train, self.full_size) if getattr(self.net, "background", False) else None
        self.networks = StageNetworks(p, self.net, device, self.dist, plate, compile=self.runtime.compile)
        self.config = self.networks.config
        self.face_side = face_side(train, p.scale, self.full_size)
        self.recipe = family_recipe(p.model, self.terms, p)
        self.face_recipe = face.Recipe(self.terms, p, self.face_side)
        self.step, self.elapsed, self.history = 0, 0.0, []
        self.nan_streak = self.skipped_steps = 0
        self.face_trained, self._last_validation = False, -1
        self._last_checkpoint_elapsed = 0.0
        self._setup(stage_at(self.plan, 0.0))

    @property
    def nets(self):
        """The family's networks (:class:`~v2v_pipeline.models.factory.Models`)."""
        return self.networks.nets

    @property
    def stage(self) -> str:
        return self.networks.stage.name

    def _check_size(self) -> None:
        factor, w, h = self.net.size_factor, *self.full_size
        if w % factor or h % factor:
            local = factor > 2 ** self.net.n_downsampling
            raise ValueError(
                f"training size {w}x{h} (dataset size x train.scale {self.p.scale}) must be divisible by {factor} "
                f"(2^n_downsampling{' x 2 for the local enhancer' if local else ''}); change "
                "train.scale, dataset.size or network.n_downsampling")

    def _setup(self, stage) -> None:
        self.networks.setup(stage, self.face_recipe if stage.name == "face" else self.recipe, self.step)

    def autocast(self):
        return self.runtime.autocast()

    # ------------------------------------------------------------------ one optimisation step
    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One generator and one discriminator update; both losses are computed before either
        optimiser steps, and a non-finite loss on any rank skips the step on every rank.

        With ``train.compile`` the first step of a stage also compiles (forward at the call, backward at the
        first backward): when it fails and the same step then works eagerly, the compile was at fault, and
        training goes on eagerly with a warning (no optimiser has stepped before the generator's backward).
        """
        compiled = self.networks.compiled
        if compiled is None or compiled.status.startswith("eager") or self.networks.compile_status == "compiled":
            return self._train_step(batch)
        try:
            result = self._train_step(batch)
        except Exception as e:  # noqa: BLE001 - told apart by the eager retry below
            if compiled.status.startswith("eager"):
                raise  # the forward already fell back: this error is not the compile's
            undo = compiled.use_eager()
            n = self.networks
            n.opt_G.zero_grad(set_to_none=True)
            n.opt_D.zero_grad(set_to_none=True)
            try:
                result = self._train_step(batch)
            except Exception:
                undo()  # eager fails too: the model's error, not the compile's
                raise
            compiled.fall_back(e)
            return result
        if result.losses and "nonfinite" not in result.losses:  # a backward ran (and so compiled)
            self.networks.confirm_compiled()
        return result

    def _train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        n = self.networks
        recipe = self.face_recipe if self.stage == "face" else self.recipe
        with self.autocast():
            found = recipe.generator_losses(n.G_run, unwrap(n.D), n, batch, self.step)
        if not dist_utils.all_ranks(found is not None, self.dist):  # e.g. no face box in some rank's batch
            return StepResult({})
        losses, d_items = found
        loss_G = sum(losses.values())
        set_requires_grad([n.D_step], True)
        with self.autocast():  # one call scores [fake; real] for every discriminator, on detached fakes
            d_terms = discriminator_losses(n.D_step, d_items, self.terms.gan)
        loss_D = sum(d_terms.values())
        finite = bool(torch.isfinite(loss_G)) and bool(torch.isfinite(loss_D))
        if not dist_utils.all_ranks(finite, self.dist):
            set_requires_grad([n.D_step], False)
            n.opt_G.zero_grad(set_to_none=True)
            n.opt_D.zero_grad(set_to_none=True)
            return StepResult({"nonfinite": 1.0})
        for net, opt, loss, grads in ((n.D_step, n.opt_G, loss_G, False), (n.D_step, n.opt_D, loss_D, True)):
            set_requires_grad([net], grads)  # G's discriminator calls ran without parameter gradients
            opt.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
        self.scaler.update()
        set_requires_grad([n.D_step], False)
        if self.stage == "face":
            self.face_trained = True
        elif n.ema is not None:
            n.ema.update(unwrap(n.G), self.step)
        out = {k: float(v.detach()) for k, v in losses.items()}
        out.update({f"{k}_loss": float(v.detach()) for k, v in d_terms.items()})
        out["G_total"] = float(loss_G.detach())
        return StepResult(out)

    # ------------------------------------------------------------------ export and validation
    def model_file(self) -> dict[str, Any]:
        """The generator file (see :mod:`v2v_pipeline.inference`), EMA weights when enabled."""
        config, g, half = self.networks.exported()
        size = (self.full_size[0] // 2, self.full_size[1] // 2) if half else self.full_size
        face_g = unwrap(self.nets.face_generator) if self.face_trained else None  # never an untrained face GAN
        return {
            "format": FORMAT, "model_config": config,
            "generator": {k: v.detach().cpu().clone() for k, v in g.state_dict().items()},
            "face_generator": None if face_g is None else {k: v.detach().cpu().clone()
                                                           for k, v in face_g.state_dict().items()},
            "face_crop": self.p.face.crop, "face_side": self.face_side, "size": list(size),
            "label_channels": self.label_ch, "step": self.step, "dataset_sha256": self.dataset_sha256,
            "train_params": to_dict(self.p),
            "history": [dict(row) for row in self.history],  # losses and validation per logged step (report)
        }

    def validation_frames(self) -> np.ndarray:
        return validation.validation_frames(self.val, self.p.val_frames)

    def validate(self) -> tuple[dict[str, float], np.ndarray | None]:
        pos = self.validation_frames()
        if len(pos) < 2:
            return {}, None
        return validation.validate(self.model_file(), self.val, pos, self.device, self.precision)

    def baseline(self) -> dict[str, float]:
        pos = self.validation_frames()
        return validation.baseline(self.train_data.t.images, self.val, pos, self.full_size) if len(pos) else {}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "elapsed": self.elapsed, "stage": self.stage, "history": self.history,
                **self.networks.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng_state(),
                "skipped_steps": self.skipped_steps, "config": self.config, "face_trained": self.face_trained,
                "run_id": self.run_id}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("config") != self.config:
            raise ValueError("checkpoint was written by a different network configuration; "
                             "use another train.checkpoint_dir or set train.resume: false")
        self.networks.load_weights(state)
        self.step, self.elapsed, self.history = int(state["step"]), float(state["elapsed"]), list(state["history"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.face_trained = bool(state.get("face_trained", False))
        self.resumed_from = str(state.get("run_id") or "") or None
        self._last_checkpoint_elapsed = self.elapsed
        self._setup(by_name(self.plan, state["stage"]))
        self.networks.load_optimizers(state)
        self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])

    def save_checkpoint(self) -> None:
        if self.dist.is_main:
            log.info("step %d: checkpoint %s", self.step, self.ckpt.save(self.state_dict()))
        self._last_checkpoint_elapsed = self.elapsed
        dist_utils.barrier(self.dist)

    def checkpoint_due(self) -> bool:
        """Every ``checkpoint_every`` steps, or after ``checkpoint_minutes`` of training since the last one
        (elapsed is the max over DDP ranks, so every rank decides alike)."""
        if self.step % self.p.checkpoint_every == 0:
            return True
        minutes = self.p.checkpoint_minutes
        return bool(minutes) and self.elapsed - self._last_checkpoint_elapsed >= 60.0 * minutes

    def resume(self) -> str | None:
        """Load the newest checkpoint of this run key (once; ``train.resume``); returns the MLflow run id that
        wrote it (``None`` when starting afresh). Logs where it looked when there is none."""
        if self._resume_checked:
            return self.resumed_from
        self._resume_checked = True
        if not self.p.resume:
            log.info("train.resume is false: starting at step 0 (checkpoints go to %s)", self.ckpt.directory)
        elif (state := self.ckpt.load_latest()) is None:
            log.info("no checkpoint found in %s, starting at step 0", self.ckpt.directory)
        else:
            self.load_state_dict(state)
            log.info("resumed at step %d (%.1f min trained, stage %s%s)", self.step, self.elapsed / 60, self.stage,
                     f", continuing MLflow run {self.resumed_from}" if self.resumed_from else "")
        return self.resumed_from

    def describe_plan(self) -> str:
        """The start line's second half: budget, checkpoint interval, where outputs go."""
        p = self.p
        every = f"every {p.checkpoint_every} steps" + (f" or {p.checkpoint_minutes:g} min of training"
                                                        if p.checkpoint_minutes else "")
        stop = f"stops at {p.max_steps} steps" + (f" or after {p.max_minutes:g} min of training, whichever comes "
                                                   "first" if p.max_minutes else "")
        return (f"training {stop}; checkpoints {every} in {self.ckpt.directory} (a kill loses at most that much; "
                f"re-running the same command resumes); validation every {p.val_every} steps"
                + (f"; outputs: {self.outputs}" if self.outputs else ""))

    def _progress_line(self, images: float, window_s: float) -> str:
        b, total = self.budget, self.budget.projected_steps(self.step, self.elapsed)
        binds = (f" (max_minutes {self.p.max_minutes:g} binds before max_steps {self.p.max_steps})"
                 if total < self.p.max_steps else "")
        last = {k: v for k, v in (self.history[-1] if self.history else {}).items() if k in ("G_total", "D_loss")}
        losses = "".join(f", {k} {v:.3g}" for k, v in last.items())
        return (f"train {self.p.model}: step {self.step}/{total}{binds}, {images / max(window_s, 1e-9):.3g} images/s, "
                f"{self.elapsed / 60:.1f} min trained, ETA {format_duration(b.remaining_s(self.step, self.elapsed))} "
                f"of training{losses}")

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        p, b = self.p, self.budget
        self.resume()
        log.info("training %s on %s: generator %.2f M parameters, %d training sequences, budget %s; "
                 "perceptual loss %s", p.model, self.runtime.describe(),
                 count_parameters(unwrap(self.nets.generator)) / 1e6, len(self.train_data), b.describe(),
                 f"{self.perceptual.network} ({self.perceptual.reason})")
        log.info("%s", self.describe_plan())
        base = self.baseline() if self.dist.is_main else {}
        if base:
            self.on_log(base, 0)
        samples = None
        # a tqdm bar on a terminal (total = the projected stop); elsewhere one log line every 30 s (V2V_PROGRESS_EVERY)
        bar = progress(total=b.projected_steps(self.step, self.elapsed), initial=self.step, desc=f"train {p.model}",
                       unit="step", every_s=math.inf)
        ticker = Ticker(clock=b.clock) if self.dist.is_main and not on_terminal() and bar.disable is False else None
        window = [0, b.clock()]  # images since the last log, and when that was
        tick = [0.0, b.clock()]  # the same since the last progress line
        workers = runtime.data_workers(p.num_workers, torch.get_num_threads())
        batches = step_batches(self.train_data, self.schedule, self.step, p.max_steps, workers, self.device)
        while not b.exhausted(self.step, self.elapsed):  # elapsed is the max over ranks: all stop together
            t0 = b.clock()
            frac = b.progress(self.step, self.elapsed)
            if (stage := stage_at(self.plan, frac)) != self.networks.stage:
                self._setup(stage)
            self.networks.set_lr(stage.lr_factor(frac, p.decay_fraction))
            for m in (self.networks.G_run, self.networks.D_step):
                m.train()
            size = (self.full_size[0] // 2, self.full_size[1] // 2) if stage.half_size else self.full_size
            result = self.train_step(to_device(next(batches), self.device, size))
            self._guard(result)
            self.step += 1
            self.elapsed = dist_utils.max_over_ranks(self.elapsed + b.clock() - t0, self.dist)
            images = p.batch_size * self.dist.world_size * self.recipe.images_per_sample(
                p.sequence_length, unwrap(self.networks.G))
            window[0] += images
            tick[0] += images
            if (total := b.projected_steps(self.step, self.elapsed)) != bar.total:
                bar.total = total  # the ETA follows max_minutes when it binds
            bar.update(1)
            if self.step % p.log_every == 0 or self.step == p.max_steps:
                self._log_losses(result, window, bar)
            if ticker is not None and ticker.due():
                now = b.clock()
                log.info("%s", self._progress_line(tick[0], now - tick[1]))
                tick[:] = [0.0, now]
            if self.dist.is_main and (self.step % p.val_every == 0 or self.step == p.max_steps):
                samples = self._validate_and_log(samples)
            if self.checkpoint_due():
                self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        if self.dist.is_main and self._last_validation != self.step:  # stopped by the time budget
            samples = self._validate_and_log(samples)
        history = pd.DataFrame(self.history)
        summary = {k: v for k, v in (history.ffill().iloc[-1].to_dict() if len(history) else {}).items()
                   if isinstance(v, float) and math.isfinite(v)}
        summary.update(base)
        samples = samples if samples is not None else np.zeros((8, 8, 3), np.uint8)
        return TrainResult(self.model_file(), history, samples, summary)

    def _guard(self, result: StepResult) -> None:
        """Count skipped (non-finite) steps; too many in a row stop training with the fix."""
        if "nonfinite" not in result.losses:
            self.nan_streak = 0
            return
        self.nan_streak += 1
        self.skipped_steps += 1
        log.warning("step %d: non-finite loss, step skipped (%d in a row)", self.step, self.nan_streak)
        if self.nan_streak >= self.p.nan_patience:
            raise TrainingDivergedError(
                f"{self.nan_streak} consecutive steps had NaN/inf losses (last at step {self.step}); lower train.lr, "
                f"use precision fp32, or check the dataset; the last good checkpoint is in {self.ckpt.directory}")

    def _log_losses(self, result: StepResult, window: list, bar) -> None:
        now = self.budget.clock()
        row = dict(dist_utils.all_reduce_mean(result.losses, self.dist))
        opt_G = self.networks.opt_G
        row.update({"lr": opt_G.param_groups[0]["lr"] if opt_G.param_groups else 0.0,
                    "images_per_s": window[0] / max(now - window[1], 1e-9),
                    "elapsed_min": self.elapsed / 60, "skipped_steps": self.skipped_steps})
        window[:] = [0, now]
        bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in ("G_total", "D_loss", "images_per_s")})
        self._record(row)

    def _validate_and_log(self, samples: np.ndarray | None) -> np.ndarray | None:
        """Validation metrics and the label | generated | real grid, both sent to the loggers."""
        metrics, grid = self.validate()
        self._last_validation = self.step
        if metrics:
            log.info("step %d: %s", self.step, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            self._record(metrics)
        if grid is not None:
            self.on_image(grid, self.step)
            return grid
        return samples

    def _record(self, metrics: dict[str, float]) -> None:
        if self.history and self.history[-1]["step"] == self.step:
            self.history[-1].update(metrics)
        else:
            self.history.append({"step": self.step, **metrics})
        self.on_log(metrics, self.step)
