"""GAN training for pix2pixHD, Everybody Dance Now (temporal + face) and vid2vid.

One :class:`Trainer` runs every model family: it builds the networks from the config,
samples batches deterministically from the step number (so a resumed run sees the
same batches as an uninterrupted one), runs the family's generator and discriminator
updates under autocast, guards against NaN/inf, validates with the same inference code
that ``transfer`` uses, writes checkpoints atomically and resumes from them, and logs
to MLflow. The budget is steps and/or wall-clock minutes; the learning rate follows
pix2pixHD's constant-then-linear schedule over the budget's progress, and the stages
(coarse-to-fine global stage, EDN face stage) are fractions of it.
"""

from __future__ import annotations

import copy
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
from torch import nn

from v2v_pipeline.config import to_dict
from v2v_pipeline.flow.warp import warp
from v2v_pipeline.inference import FORMAT, FrameGenerator, autocast_for, pick_device, resolve_precision
from v2v_pipeline.metrics import warping_error
from v2v_pipeline.models.background import BackgroundComposite
from v2v_pipeline.models.edn import crop_boxes, edn_discriminator_input, square_boxes
from v2v_pipeline.models.factory import Models, build_models, count_parameters, resolve_config
from v2v_pipeline.models.losses import GANLoss, feature_matching_loss, flow_loss, masked_l1, warp_loss
from v2v_pipeline.models.vgg import load_vgg_loss_or_none
from v2v_pipeline.models.vid2vid import gather_windows, temporal_windows
from v2v_pipeline.params import TrainParams
from v2v_pipeline.progress import progress
from v2v_pipeline.report.evaluation import box_from_row, image_scores, mean_frame
from v2v_pipeline.schema import PERSON_BOX, resize_flow, resize_image, resize_valid
from v2v_pipeline.training import distributed as dist_utils
from v2v_pipeline.training.checkpoint import CheckpointManager, rng_state, set_rng_state
from v2v_pipeline.training.data import FrameTensors, SequenceDataset, resize_item
from v2v_pipeline.training.schedule import constant_then_linear

log = logging.getLogger(__name__)


class TrainingDivergedError(RuntimeError):
    """Too many consecutive steps produced non-finite losses."""


# ----------------------------------------------------------------------------- helpers
class SampleSchedule:
    """Which samples step ``s`` uses: a fresh seeded permutation per epoch, sliced per rank.

    Depends only on (seed, step, rank), never on state, so resuming at step ``s`` replays
    exactly the batches an uninterrupted run would have seen.
    """

    def __init__(self, n: int, batch: int, seed: int, rank: int = 0, world: int = 1):
        if n < 1:
            raise ValueError("no training samples")
        self.n, self.batch, self.seed, self.rank, self.world = n, batch, seed, rank, world
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            g = torch.Generator().manual_seed(self.seed * 100003 + epoch)
            self._cache = {epoch: torch.randperm(self.n, generator=g)}
            if epoch + 1 not in self._cache:
                g2 = torch.Generator().manual_seed(self.seed * 100003 + epoch + 1)
                self._cache[epoch + 1] = torch.randperm(self.n, generator=g2)
        return self._cache[epoch]

    def indices(self, step: int) -> list[int]:
        first = (step * self.world + self.rank) * self.batch
        out = []
        for g in range(first, first + self.batch):
            out.append(int(self._perm(g // self.n)[g % self.n]))
        return out


class StepBatches(torch.utils.data.Sampler):
    """Batch sampler for a DataLoader: the sample indices of steps ``start .. end - 1`` (see SampleSchedule)."""

    def __init__(self, schedule: SampleSchedule, start: int, end: int):
        self.schedule, self.start, self.end = schedule, start, end

    def __iter__(self):
        return (self.schedule.indices(step) for step in range(self.start, self.end))

    def __len__(self) -> int:
        return max(0, self.end - self.start)


def stack_items(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def background_module(generator: nn.Module) -> BackgroundComposite:
    g = unwrap(generator)
    g = g if isinstance(g, BackgroundComposite) else getattr(g, "generator", None)
    if not isinstance(g, BackgroundComposite):
        raise TypeError("network.background is on but the generator has no background plate")
    return g


def set_requires_grad(modules, flag: bool) -> None:
    for m in modules:
        if m is not None:
            for p in m.parameters():
                p.requires_grad_(flag)


def unwrap(m: nn.Module) -> nn.Module:
    return m.module if isinstance(m, nn.parallel.DistributedDataParallel) else m


def compose_flows(flows: torch.Tensor) -> torch.Tensor:
    """Flow from the last to the first frame of a run, given per-step backward flows ``(B, k, 2, H, W)``
    (``flows[:, j]`` maps frame ``j+1`` to ``j``): ``f = b_k + warp(f_{<k}, b_k)``."""
    total = flows[:, -1]
    for j in range(flows.shape[1] - 2, -1, -1):
        total = total + warp(flows[:, j], total)
    return total


class GeneratorRunner(nn.Module):
    """Everything the generator does in one training step, as one module call.

    DDP synchronises gradients per forward call of the module it wraps, so the EDN
    pair and the vid2vid sequence (several generator calls) run inside one ``forward``.
    """

    def __init__(self, generator: nn.Module, family: str):
        super().__init__()
        self.generator, self.family = generator, family

    def forward(self, labels: torch.Tensor, reals: torch.Tensor, cold: bool = False):
        g = self.generator
        if self.family == "pix2pixhd":
            return g(labels[:, 0])[:, None]
        if self.family == "edn":
            outs, prev, prev_label = [], None, None
            for t in range(labels.shape[1]):
                out = g(labels[:, t], prev, prev_label)  # EDN lets the gradient flow through the first frame
                outs.append(out)
                prev, prev_label = out, labels[:, t]
            return torch.stack(outs, 1)
        # vid2vid starts from real frames as history; a cold start begins from nothing, as
        # generation does at inference (first frame hallucinated, then its own outputs).
        # vid2vid backpropagates through one frame: the fed-back outputs are detached.
        start = 0 if cold else g.n_frames_G - 1
        outs = g.generate_sequence(labels, None if cold else reals[:, :start], detach_prev=True)
        images = [o.image for o in outs]
        flows = [o.flow for o in outs if o.flow is not None]
        return start, torch.stack(images, 1), torch.stack(flows, 1)


class FaceRunner(nn.Module):
    def __init__(self, face_generator: nn.Module):
        super().__init__()
        self.face_generator = face_generator

    def forward(self, face_label: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return self.face_generator(face_label, face)


class DiscriminatorStep(nn.Module):
    """All discriminators of a family, scored in one call on ``[fake; real]`` batches (one DDP sync)."""

    def __init__(self, discriminators: dict[str, nn.Module]):
        super().__init__()
        self.nets = nn.ModuleDict(discriminators)

    def forward(self, inputs: list[tuple[str, torch.Tensor]]) -> list:
        return [self.nets[name](x) for name, x in inputs]


@dataclass
class StepResult:
    losses: dict[str, float]


@dataclass
class TrainResult:
    model_file: dict[str, Any]
    history: pd.DataFrame
    samples: np.ndarray
    summary: dict[str, float] = field(default_factory=dict)


# ----------------------------------------------------------------------------- trainer
class Trainer:
    def __init__(self, params: TrainParams, train: FrameTensors, train_sequences: pd.DataFrame,
                 val: FrameTensors | None, run_dir: str | Path,
                 dataset_sha256: str = "", on_log: Callable[[dict, int], None] | None = None,
                 on_image: Callable[[np.ndarray, int], None] | None = None,
                 dist_info: dist_utils.DistInfo | None = None):
        self.p = params
        self.dist = dist_info or dist_utils.DistInfo()
        self.device = self.dist.device if self.dist.enabled else pick_device(params.device)
        self.dataset_sha256 = dataset_sha256
        self.on_log = on_log or (lambda metrics, step: None)
        self.on_image = on_image or (lambda image, step: None)
        if params.threads:
            torch.set_num_threads(params.threads)
        torch.manual_seed(params.seed + self.dist.rank)
        np.random.seed(params.seed + self.dist.rank)

        self.train_data = SequenceDataset(train, train_sequences, params.sequence_length)
        self.val = val
        self.label_ch = int(train.labels.shape[1])
        h, w = train.images.shape[-2:]
        self.full_size = (int(round(w * params.scale)), int(round(h * params.scale)))
        self._check_size()
        self.schedule = SampleSchedule(len(self.train_data), params.batch_size, params.seed,
                                       self.dist.rank, self.dist.world_size)
        network = dict(params.network)
        if network.get("background"):
            network.update(background_width=self.full_size[0], background_height=self.full_size[1])
        self.config = resolve_config({"model": params.model, **network, "label_ch": self.label_ch})
        self.ckpt = CheckpointManager(run_dir, params.keep_checkpoints, writable=self.dist.is_main)

        self.gan = GANLoss(params.gan_mode)
        self.vgg = load_vgg_loss_or_none(params.vgg_weights if params.loss.vgg > 0 else None, log)
        if self.vgg is not None:
            self.vgg.to(self.device)
        self.vgg_active = self.vgg is not None
        self.precision = resolve_precision(self.device, params.precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")

        self.nets: Models = build_models(self.config)
        if self.config.get("background"):
            background_module(self.nets.generator).set_plate(self._plate(train))
        self.global_generator: nn.Module | None = None  # coarse-to-fine: G1 trained alone at half size
        if params.coarse_to_fine.enabled:
            self.global_generator = build_models({**self.config, "local_enhancer": False}).generator
        self.ema: nn.Module | None = None
        self.step = 0
        self.elapsed = 0.0
        self.stage = ""
        self.history: list[dict[str, float]] = []
        self.nan_streak = 0
        self.skipped_steps = 0
        self.face_trained = False
        self._last_validation = -1
        self.face_side = self._face_side(train)
        self._setup_stage(self._stage_for(0.0))

    # ------------------------------------------------------------------ setup
    def _check_size(self) -> None:
        n_down = self.p.network.get("n_downsampling", 3 if self.p.model == "vid2vid" else 4)
        factor = 2 ** (n_down + (1 if self.p.network.get("local_enhancer") else 0))
        w, h = self.full_size
        if w % factor or h % factor:
            raise ValueError(
                f"training size {w}x{h} (dataset size x train.scale {self.p.scale}) must be divisible by {factor} "
                f"(2^n_downsampling{' x 2 for the local enhancer' if factor > 2 ** n_down else ''}); change "
                "train.scale, dataset.size or network.n_downsampling")

    def autocast(self):
        return autocast_for(self.device, self.precision)

    def _plate(self, train: FrameTensors, max_frames: int = 200) -> torch.Tensor:
        """Per-pixel median of (up to ``max_frames`` evenly spaced) training frames, in [-1, 1]."""
        pick = np.unique(np.linspace(0, len(train.frames) - 1, min(max_frames, len(train.frames))).astype(int))
        plate = train.images[pick].float().median(dim=0).values[None] / 127.5 - 1.0
        w, h = self.full_size
        if plate.shape[-2:] != (h, w):
            plate = F.interpolate(plate, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        return plate

    def _face_side(self, train: FrameTensors) -> int:
        boxes = train.face_boxes.numpy()
        ok = np.isfinite(boxes).all(axis=1)
        if not ok.any():
            return 0
        sides = np.maximum(boxes[ok, 2] - boxes[ok, 0], boxes[ok, 3] - boxes[ok, 1]) * self.p.scale
        h, w = self.full_size[1], self.full_size[0]
        return int(np.clip(np.percentile(sides, 90), 8, min(h, w)))

    def _stage_for(self, progress_fraction: float) -> str:
        c2f, face = self.p.coarse_to_fine, self.p.face
        if c2f.enabled and progress_fraction < c2f.global_fraction:
            return "global"
        if c2f.enabled and progress_fraction < c2f.global_fraction + c2f.fix_global_fraction:
            return "local_fixed"
        if face.enabled and progress_fraction >= 1.0 - face.fraction:
            return "face"
        return "full"

    def _setup_stage(self, stage: str) -> None:
        """(Re)build which networks train, their DDP wrappers and optimizers when the stage changes."""
        previous, self.stage = self.stage, stage
        if previous == "global" and stage != "global":
            g1 = unwrap(self.global_generator)
            self._generator_module().load_global_state_dict((g1.generator if hasattr(g1, "generator") else g1).state_dict())
        for m in self.nets.named().values():
            m.to(self.device)
        if self.global_generator is not None:
            self.global_generator.to(self.device)
        set_requires_grad([self.nets.generator], stage != "face")  # the body is frozen while faces train
        if stage == "face":
            self.G, self.D = self.nets.face_generator, self.nets.face_discriminator
            run, discs = FaceRunner(self.G), {"D": self.D}
        else:
            self.G = self.global_generator if stage == "global" else self.nets.generator
            self.D, self.Dt = self.nets.discriminator, self.nets.temporal_discriminator
            run = GeneratorRunner(self.G, self.p.model)
            discs = {"D": self.D}
            if self.Dt is not None:  # only the temporal scales that the sample length reaches
                discs.update({f"Dt{s}": self.Dt.scales[s] for s in self.temporal_scales()})
        if stage in ("local_fixed", "full") and self.p.coarse_to_fine.enabled:
            self._generator_module().freeze_global(stage == "local_fixed")
        self.G_run, self.D_step = run, DiscriminatorStep(discs)
        if self.p.channels_last:
            for m in (self.G_run, self.D_step):
                m.to(memory_format=torch.channels_last)
        self.opt_G = self._adam(self.G_run.parameters(), self.p.lr)
        self.opt_D = self._adam(self.D_step.parameters(), self.p.lr_D or self.p.lr)
        if self.dist.enabled:
            ddp = nn.parallel.DistributedDataParallel
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_run = ddp(self.G_run, device_ids=ids, broadcast_buffers=False)
            self.D_step = ddp(self.D_step, device_ids=ids, broadcast_buffers=False)
        if self.p.compile:
            self.G_run = torch.compile(self.G_run)
        set_requires_grad([self.D_step], False)
        if self.p.ema_decay > 0 and stage != "face" and (self.ema is None or previous == "global"):
            self.ema = copy.deepcopy(unwrap(self.G)).eval()
            set_requires_grad([self.ema], False)
        self.train_modules = [self.G_run, self.D_step]
        if previous:
            log.info("training stage: %s -> %s at step %d", previous, stage, self.step)

    def temporal_scales(self) -> list[int]:
        dt = self.nets.temporal_discriminator
        return [s for s in range(len(dt.scales)) if temporal_windows(self.p.sequence_length, dt.n_frames_D, s)]

    def _generator_module(self) -> nn.Module:
        g = unwrap(self.nets.generator)
        return g.generator if hasattr(g, "generator") else g

    def _adam(self, params, lr: float) -> torch.optim.Adam:
        kwargs: dict[str, Any] = {"lr": lr, "betas": (self.p.beta1, self.p.beta2)}
        if self.device.type == "cuda":
            kwargs["fused"] = True
        else:
            kwargs["foreach"] = True
        # all parameters: frozen ones (niter_fix_global) have no grad and Adam skips them
        return torch.optim.Adam(list(params), **kwargs)

    # ------------------------------------------------------------------ progress & schedule
    def progress_fraction(self) -> float:
        frac = self.step / self.p.max_steps
        if self.p.max_minutes:
            frac = max(frac, self.elapsed / (60.0 * self.p.max_minutes))
        return min(frac, 1.0)

    def _stage_lr_factor(self, frac: float) -> float:
        """The schedule runs over each stage's own share of the budget (pix2pixHD decays per stage run)."""
        c2f, face = self.p.coarse_to_fine, self.p.face
        lo, hi = 0.0, 1.0
        if self.stage == "global":
            hi = c2f.global_fraction
        elif self.stage in ("local_fixed", "full") and c2f.enabled:
            lo = c2f.global_fraction
        if self.stage == "face":
            lo = 1.0 - face.fraction
        elif face.enabled:
            hi = min(hi, 1.0 - face.fraction)
        local = (frac - lo) / max(hi - lo, 1e-9)
        return constant_then_linear(1000, self.p.decay_fraction)(int(round(min(max(local, 0.0), 1.0) * 1000)))

    def _set_lr(self, factor: float) -> None:
        for opt, base in ((self.opt_G, self.p.lr), (self.opt_D, self.p.lr_D or self.p.lr)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    # ------------------------------------------------------------------ batches
    def _loader(self):
        """Batches for every remaining step, in step order (workers read frames from disk when the
        dataset is too large to keep in memory)."""
        lazy = not isinstance(self.train_data.t.images, torch.Tensor)
        workers = self.p.num_workers if lazy else 0
        return iter(torch.utils.data.DataLoader(
            self.train_data, batch_sampler=StepBatches(self.schedule, self.step, self.p.max_steps),
            num_workers=workers, collate_fn=stack_items, pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if workers else None, persistent_workers=False))

    def _batch(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Move a batch to the device at the current stage's resolution."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        w, h = self.full_size
        size = (w // 2, h // 2) if self.stage == "global" else (w, h)
        if batch["image"].shape[-2:] != (size[1], size[0]):
            b, t = batch["label"].shape[:2]
            flat = {k: (v.flatten(0, 1) if v.dim() > 2 else v.reshape(b * t, -1)) for k, v in batch.items() if k != "frame"}
            flat = resize_item(flat, size)
            batch = {k: v.reshape(b, t, *v.shape[1:]) for k, v in flat.items()} | {"frame": batch["frame"]}
        return batch

    # ------------------------------------------------------------------ losses shared by families
    def _reconstruction(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        if self.vgg_active and self.p.loss.vgg > 0:
            out["G_vgg"] = self.vgg(fake.float(), real.float()) * self.p.loss.vgg
        if self.p.loss.l1 > 0:
            out["G_l1"] = F.l1_loss(fake.float(), real.float()) * self.p.loss.l1
        return out

    def _adversarial(self, D: nn.Module, fake_in: torch.Tensor, real_in: torch.Tensor, prefix: str,
                     gan_weight: float, share: float = 1.0) -> dict[str, torch.Tensor]:
        """Generator-side GAN (x ``gan_weight``) and feature matching (x ``loss.feat``), both x ``share``
        (the part of the batch's terms this discriminator call stands for, e.g. 1/pairs)."""
        with torch.no_grad():
            real_feats = [[f.detach() for f in scale] for scale in D(real_in)]
        fake_feats = D(fake_in)
        losses = {f"{prefix}_gan": self.gan(fake_feats, True, for_discriminator=False) * gan_weight * share}
        if self.p.loss.feat > 0:
            losses[f"{prefix}_feat"] = feature_matching_loss(fake_feats, real_feats, weight=self.p.loss.feat) * share
        return losses

    # ------------------------------------------------------------------ family steps
    def _generator_losses(self, b) -> tuple[dict[str, torch.Tensor], list[tuple[str, torch.Tensor, torch.Tensor]]]:
        """Generator losses and the (fake, real) discriminator inputs of one batch, per model family."""
        family = self.p.model
        labels, reals = b["label"], b["image"]
        D = unwrap(self.D)
        losses: dict[str, torch.Tensor] = {}
        d_items: list[tuple[str, torch.Tensor, torch.Tensor]] = []

        def adversarial(name: str, net: nn.Module, fake_in, real_in, prefix: str, weight: float, share=1.0) -> None:
            for k, v in self._adversarial(net, fake_in, real_in, prefix, weight, share).items():
                losses[k] = losses.get(k, 0) + v
            d_items.append((name, fake_in, real_in))

        if family == "pix2pixhd":
            fake = self.G_run(labels, reals)[:, 0]
            label, real = labels[:, 0], reals[:, 0]
            adversarial("D", D, torch.cat([label, fake], 1), torch.cat([label, real], 1), "G", self.p.loss.gan)
            losses.update(self._reconstruction(fake, real))
            return losses, d_items
        if family == "edn":
            fakes = self.G_run(labels, reals)
            n_pairs = labels.shape[1] - 1
            for t in range(1, labels.shape[1]):
                fake_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], fakes[:, t - 1], fakes[:, t])
                real_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], reals[:, t - 1], reals[:, t])
                adversarial("D", D, fake_in, real_in, "G", self.p.loss.gan, 1.0 / n_pairs)
            losses.update(self._reconstruction(fakes.flatten(0, 1), reals.flatten(0, 1)))
            return losses, d_items
        # vid2vid: frames from `start` on are generated (before it: real history); flows exist from `f0` on
        every = self.p.cold_start_every
        start, fake, pred_flow = self.G_run(labels, reals, cold=bool(every) and self.step % every == 0)
        flows, valid = b["flow"], b["valid"]
        T = labels.shape[1]
        f0 = T - pred_flow.shape[1]
        gl, gr, ff = labels[:, start:].flatten(0, 1), reals[:, start:].flatten(0, 1), fake.flatten(0, 1)
        adversarial("D", D, torch.cat([gl, ff], 1), torch.cat([gl, gr], 1), "G", self.p.loss.gan)
        losses.update(self._reconstruction(ff, gr))
        # flow: predicted vs reference (t -> t-1), and the predicted flow must warp the real previous frame onto t
        pred, ref, conf = pred_flow.flatten(0, 1), flows[:, f0:].flatten(0, 1), valid[:, f0:].flatten(0, 1)
        prev_real = reals[:, f0 - 1 : T - 1].flatten(0, 1)
        losses["G_flow"] = (flow_loss(pred, ref, conf) + masked_l1(warp(prev_real, pred), reals[:, f0:].flatten(0, 1),
                                                                    conf)) * self.p.loss.flow
        # temporal consistency: frame t against frame t-1 warped by the reference flow
        seq_fake = torch.cat([reals[:, :start], fake], 1)
        losses["G_warp"] = warp_loss(seq_fake[:, f0:].flatten(0, 1), seq_fake[:, f0 - 1 : T - 1].flatten(0, 1), ref,
                                     conf) * self.p.loss.warp
        # temporal discriminators on frame windows (and the flows between them) at each temporal scale
        dt = unwrap(self.Dt)
        for s in self.temporal_scales():
            windows = temporal_windows(T, dt.n_frames_D, s)
            wf = torch.cat([torch.stack([compose_flows(flows[:, a + 1 : c + 1]) for a, c in zip(w[:-1], w[1:])], 1)
                            for w in windows], 0)
            fake_in = dt.stack_input(gather_windows(seq_fake, windows), wf)
            real_in = dt.stack_input(gather_windows(reals, windows), wf)
            adversarial(f"Dt{s}", dt.scales[s], fake_in, real_in, f"Gt{s}", self.p.loss.temporal_gan)
        return losses, d_items

    def _face_losses(self, b):
        """EDN face GAN: refine the face crop of the frozen body generator's output (the exported weights)."""
        boxes = b["face_box"][:, -1]
        keep = torch.isfinite(boxes).all(dim=1)
        if not keep.any() or self.face_side < 8:
            return None
        labels, reals = b["label"][keep], b["image"][keep]
        g = self.ema if self.ema is not None else unwrap(self.nets.generator)
        with torch.no_grad():
            if self.p.model == "edn" and labels.shape[1] > 1:
                body = g(labels[:, -1], g(labels[:, -2], None), labels[:, -2])
            elif self.p.model == "edn":
                body = g(labels[:, -1], None)
            else:
                body = g(labels[:, -1])
        bx = boxes[keep]
        h, w = labels.shape[-2:]
        sq = square_boxes(((bx[:, :2] + bx[:, 2:]) / 2).cpu(), min(self.face_side, h, w), h, w)
        crop = self.p.face.crop
        face_label = crop_boxes(labels[:, -1], sq, crop)
        face_fake = crop_boxes(body.float(), sq, crop)
        face_real = crop_boxes(reals[:, -1], sq, crop)
        refined = self.G_run(face_label, face_fake)
        fake_in, real_in = torch.cat([face_label, refined], 1), torch.cat([face_label, face_real], 1)
        losses = self._adversarial(unwrap(self.D), fake_in, real_in, "F", self.p.loss.gan)
        rec = F.l1_loss(refined.float(), face_real.float()) * 10.0  # pixel L1 keeps the refined face in place
        if self.vgg_active:
            rec = rec + self.vgg(refined.float(), face_real.float()) * self.p.loss.vgg
        losses["F_rec"] = rec * self.p.loss.face
        return losses, [("D", fake_in, real_in)]

    # ------------------------------------------------------------------ one optimisation step
    def train_step(self, batch: dict[str, torch.Tensor]) -> StepResult:
        """One generator and one discriminator update; both losses are computed before either
        optimiser steps, and a non-finite loss on any rank skips the step on every rank."""
        with self.autocast():
            found = self._face_losses(batch) if self.stage == "face" else self._generator_losses(batch)
        if not dist_utils.all_ranks(found is not None, self.dist):  # e.g. no face box in some rank's batch
            return StepResult({})
        losses, d_items = found
        loss_G = sum(losses.values())
        # discriminator losses on detached fakes: one call scores [fake; real] for every discriminator
        set_requires_grad([self.D_step], True)
        with self.autocast():
            outputs = self.D_step([(name, torch.cat([f.detach(), r], 0)) for name, f, r in d_items])
            d_terms: dict[str, torch.Tensor] = {}
            for (name, f, _), preds in zip(d_items, outputs):
                n = f.shape[0]
                fake_p = [[x[:n] for x in scale] for scale in preds]
                real_p = [[x[n:] for x in scale] for scale in preds]
                key = "D" if name == "D" else "Dt"
                d_terms[key] = d_terms.get(key, 0) + 0.5 * (self.gan(fake_p, False) + self.gan(real_p, True))
        loss_D = sum(d_terms.values())
        finite = bool(torch.isfinite(loss_G)) and bool(torch.isfinite(loss_D))
        if not dist_utils.all_ranks(finite, self.dist):
            set_requires_grad([self.D_step], False)
            self.opt_G.zero_grad(set_to_none=True)
            self.opt_D.zero_grad(set_to_none=True)
            return StepResult({"nonfinite": 1.0})
        # generator update (its discriminator calls ran on the unwrapped networks without parameter gradients)
        set_requires_grad([self.D_step], False)
        self.opt_G.zero_grad(set_to_none=True)
        self.scaler.scale(loss_G).backward()
        self.scaler.step(self.opt_G)
        # discriminator update
        set_requires_grad([self.D_step], True)
        self.opt_D.zero_grad(set_to_none=True)
        self.scaler.scale(loss_D).backward()
        self.scaler.step(self.opt_D)
        self.scaler.update()
        set_requires_grad([self.D_step], False)
        if self.stage == "face":
            self.face_trained = True
        elif self.ema is not None:
            self._update_ema()
        out = {k: float(v.detach()) for k, v in losses.items()}
        out.update({f"{k}_loss": float(v.detach()) for k, v in d_terms.items()})
        out["G_total"] = float(loss_G.detach())
        return StepResult(out)

    @torch.no_grad()
    def _update_ema(self) -> None:
        # warm-up (as TensorFlow's ExponentialMovingAverage with num_updates): early on the average
        # follows the weights closely instead of staying near the random initialisation
        d = min(self.p.ema_decay, (1 + self.step) / (10 + self.step))
        for e, p in zip(self.ema.parameters(), unwrap(self.G).parameters()):
            e.lerp_(p.detach(), 1 - d)
        for e, b in zip(self.ema.buffers(), unwrap(self.G).buffers()):
            e.copy_(b)

    # ------------------------------------------------------------------ export, validation, samples
    def model_file(self) -> dict[str, Any]:
        """The generator file (see :mod:`v2v_pipeline.inference`), EMA weights when enabled."""
        stage_global = self.stage == "global"
        config = {**self.config, "local_enhancer": False} if stage_global else self.config
        g = self.ema if self.ema is not None else unwrap(self.global_generator if stage_global else self.nets.generator)
        size = (self.full_size[0] // 2, self.full_size[1] // 2) if stage_global else self.full_size
        face = unwrap(self.nets.face_generator) if self.face_trained else None  # never an untrained face GAN
        return {
            "format": FORMAT,
            "model_config": config,
            "generator": {k: v.detach().cpu().clone() for k, v in g.state_dict().items()},
            "face_generator": None if face is None else {k: v.detach().cpu().clone() for k, v in face.state_dict().items()},
            "face_crop": self.p.face.crop,
            "face_side": self.face_side,
            "size": list(size),
            "label_channels": self.label_ch,
            "step": self.step,
            "dataset_sha256": self.dataset_sha256,
            "train_params": to_dict(self.p),
            "history": [dict(row) for row in self.history],  # losses and validation per logged step (report)
        }

    def validation_frames(self) -> np.ndarray:
        """Positions of the first contiguous run of validation frames (up to ``val_frames``)."""
        if self.val is None or len(self.val.frames) == 0:
            return np.zeros(0, int)
        frames = self.val.frames
        breaks = np.flatnonzero(np.diff(frames) != 1)
        end = breaks[0] + 1 if len(breaks) else len(frames)
        return np.arange(min(end, self.p.val_frames))

    def _val_reference(self, size: tuple[int, int]) -> tuple[np.ndarray, list]:
        """Real validation frames at ``size`` and their person boxes (the evaluation's rules)."""
        pos = self.validation_frames()
        reals = resized_uint8(self.val.images[pos], size)
        scale = (size[0] / self.val.images.shape[-1], size[1] / self.val.images.shape[-2])
        boxes = [box_from_row(dict(zip(PERSON_BOX, row)), "person", scale) for row in self.val.person_boxes[pos].tolist()]
        return reals, boxes

    @torch.no_grad()
    def validate(self) -> tuple[dict[str, float], np.ndarray | None]:
        """SSIM/PSNR (frame and person box) and warping error of a generated validation clip, plus a sample grid."""
        pos = self.validation_frames()
        if len(pos) < 2:
            return {}, None
        gen = FrameGenerator(self.model_file(), device=str(self.device), precision=self.precision)
        w, h = gen.size
        labels = self.val.labels[pos].permute(0, 2, 3, 1).numpy()
        fakes = np.stack(list(gen.generate_clip(labels, self.val.face_boxes[pos].numpy())))
        reals, boxes = self._val_reference((w, h))
        scores = pd.DataFrame([image_scores(f, r, box) for f, r, box in zip(fakes, reals, boxes)])
        out = {f"val_{k}": float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
               for k, v in scores.items()}
        flows = [resize_flow(f, (w, h)) for f in self.val.flows[pos[1:]].float().permute(0, 2, 3, 1).numpy()]
        valid = [resize_valid(v[0], (w, h)) for v in self.val.valid[pos[1:]].numpy()]
        out["val_warp_error"] = float(warping_error(list(fakes), flows, valid).mean)
        return out, sample_grid(labels[:4], fakes[:4], reals[:4])

    def baseline(self) -> dict[str, float]:
        """The trivial baseline: the mean training frame (as in the evaluation) for every validation frame."""
        if len(self.validation_frames()) == 0:
            return {}
        images = self.train_data.t.images
        mean = mean_frame(lambda i: images[i].permute(1, 2, 0).numpy(), range(len(images)))
        mean = resize_image(mean, self.full_size)
        reals, boxes = self._val_reference(self.full_size)
        scores = pd.DataFrame([image_scores(mean, r, box) for r, box in zip(reals, boxes)])
        return {f"baseline_{k}": float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
                for k, v in scores.items()}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": self.step, "elapsed": self.elapsed, "stage": self.stage, "history": self.history,
            "nets": {k: unwrap(m).state_dict() for k, m in self.nets.named().items()},
            "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(), "scaler": self.scaler.state_dict(),
            "rng": rng_state(), "skipped_steps": self.skipped_steps, "config": self.config,
            "face_trained": self.face_trained,
        }
        if self.global_generator is not None:
            state["global_generator"] = unwrap(self.global_generator).state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("config") != self.config:
            raise ValueError("checkpoint was written by a different network configuration; "
                             "use another train.checkpoint_dir or set train.resume: false")
        for k, m in self.nets.named().items():
            unwrap(m).load_state_dict(state["nets"][k])
        if self.global_generator is not None and "global_generator" in state:
            unwrap(self.global_generator).load_state_dict(state["global_generator"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.history = list(state["history"])
        self.skipped_steps = int(state.get("skipped_steps", 0))
        self.face_trained = bool(state.get("face_trained", False))
        self.stage, self.ema = "", None  # rebuild optimizers and the EMA copy for the saved stage, then restore
        self._setup_stage(state["stage"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        set_rng_state(state["rng"])

    def save_checkpoint(self) -> None:
        if self.dist.is_main:
            path = self.ckpt.save(self.state_dict())
            log.debug("checkpoint %s", path)
        dist_utils.barrier(self.dist)

    # ------------------------------------------------------------------ the loop
    def fit(self) -> TrainResult:
        p = self.p
        if p.resume:
            state = self.ckpt.load_latest()
            if state is not None:
                self.load_state_dict(state)
                log.info("resumed at step %d (%.1f min trained, stage %s)", self.step, self.elapsed / 60, self.stage)
        n_g = count_parameters(unwrap(self.nets.generator))
        log.info("training %s on %s (%s): generator %.2f M parameters, %d training sequences, budget %d steps%s; "
                 "VGG loss %s", p.model, self.device, self.precision, n_g / 1e6, len(self.train_data), p.max_steps,
                 f" / {p.max_minutes} min" if p.max_minutes else "",
                 "on" if self.vgg_active else "off (no weights at train.vgg_weights)")
        base = self.baseline() if self.dist.is_main else {}
        if base:
            self.on_log(base, 0)
        samples = None
        bar = progress(total=p.max_steps, initial=self.step, desc=f"train {p.model}", unit="step")
        images_done, t_window = 0, time.perf_counter()
        batches = self._loader()
        while self.step < p.max_steps and not (p.max_minutes and self.elapsed >= 60 * p.max_minutes):
            t0 = time.perf_counter()
            frac = self.progress_fraction()
            stage = self._stage_for(frac)
            if stage != self.stage:
                self._setup_stage(stage)
            self._set_lr(self._stage_lr_factor(frac))
            for m in self.train_modules:
                m.train()
            result = self.train_step(self._batch(next(batches)))
            if "nonfinite" in result.losses:
                self.nan_streak += 1
                self.skipped_steps += 1
                log.warning("step %d: non-finite loss, step skipped (%d in a row)", self.step, self.nan_streak)
                if self.nan_streak >= p.nan_patience:
                    raise TrainingDivergedError(
                        f"{self.nan_streak} consecutive steps had NaN/inf losses (last at step {self.step}); "
                        "lower train.lr, use precision fp32, or check the dataset; the last good checkpoint is in "
                        f"{self.ckpt.directory}")
            else:
                self.nan_streak = 0
            self.step += 1
            self.elapsed = dist_utils.max_over_ranks(self.elapsed + time.perf_counter() - t0, self.dist)
            images_done += p.batch_size * self.dist.world_size * max(1, p.sequence_length - (
                unwrap(self.G).n_frames_G - 1 if p.model == "vid2vid" and self.stage != "face" else 0))
            bar.update(1)
            if self.step % p.log_every == 0 or self.step == p.max_steps:
                now = time.perf_counter()
                row = dict(dist_utils.all_reduce_mean(result.losses, self.dist))
                row.update({"lr": self.opt_G.param_groups[0]["lr"] if self.opt_G.param_groups else 0.0,
                            "images_per_s": images_done / max(now - t_window, 1e-9),
                            "elapsed_min": self.elapsed / 60, "skipped_steps": self.skipped_steps})
                images_done, t_window = 0, now
                bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k in ("G_total", "D_loss", "images_per_s")})
                self._record(row)
            if self.dist.is_main and (self.step % p.val_every == 0 or self.step == p.max_steps):
                samples = self._validate_and_log(samples)
            if self.step % p.checkpoint_every == 0:
                self.save_checkpoint()
            stop = self.p.max_minutes is not None and self.elapsed >= 60 * self.p.max_minutes
            if dist_utils.broadcast_flag(stop, self.dist):
                break
        bar.close()
        self.save_checkpoint()
        if self.dist.is_main and self._last_validation != self.step:  # stopped by the time budget
            samples = self._validate_and_log(samples)
        history = pd.DataFrame(self.history)
        summary = {k: v for k, v in (history.ffill().iloc[-1].to_dict() if len(history) else {}).items()
                   if isinstance(v, float) and math.isfinite(v)}
        summary.update(base)
        return TrainResult(self.model_file(), history, samples if samples is not None else np.zeros((8, 8, 3), np.uint8),
                           summary)

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
        row = {"step": self.step, **metrics}
        if self.history and self.history[-1]["step"] == self.step:
            self.history[-1].update(metrics)
        else:
            self.history.append(row)
        self.on_log(metrics, self.step)


def resized_uint8(images: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(N, 3, H, W)`` tensor -> uint8 ``(N, h, w, 3)`` at ``size=(w, h)`` (antialiased)."""
    x = images.float()
    if x.shape[-2:] != (size[1], size[0]):
        x = F.interpolate(x, size=(size[1], size[0]), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def sample_grid(labels: np.ndarray, fakes: np.ndarray, reals: np.ndarray) -> np.ndarray:
    """Rows of ``label | generated | real`` (uint8 RGB), labels resized to the output size."""
    import cv2

    rows = []
    for lab, fake, real in zip(labels, fakes, reals):
        lab = lab[..., :3] if lab.ndim == 3 else np.repeat(lab[..., None], 3, axis=2)
        if lab.shape[:2] != fake.shape[:2]:
            lab = cv2.resize(lab, (fake.shape[1], fake.shape[0]), interpolation=cv2.INTER_AREA)
        rows.append(np.concatenate([lab, fake, real], axis=1))
    return np.concatenate(rows, axis=0)

