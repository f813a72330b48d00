"""Parameter schemas, one dataclass per pipeline (``conf/base/parameters_<pipeline>.yml``).

Defaults here are the library's defaults (used for keys a YAML file leaves out); the
``conf/base`` YAML files spell out every key with the project's configuration. :func:`validate_all` is run by a hook before any node, so a typo fails in
the first second of a run, not after an hour of labeling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from v2v_pipeline.config import ConfigError, parse


# --------------------------------------------------------------------------- ingest
@dataclass
class VideoSpec:
    name: str
    path: str  # a video file, a folder of images, or "demo:target" / "demo:source" (built-in sample)
    fps: float | None = None  # override ingest.fps for this video
    folder_fps: float | None = None  # frame rate of an image folder (required for folders)
    start: float = 0.0  # seconds
    end: float | None = None  # seconds; null = to the end

    def validate(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"video name {self.name!r} must be non-empty and contain no '/'")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if (self.fps is not None and self.fps <= 0) or (self.folder_fps is not None and self.folder_fps <= 0):
            raise ValueError("fps and folder_fps must be positive (or null)")


@dataclass
class SplitParams:
    val: float = 0.05  # fraction of target frames, taken after the train part (time-ordered)
    test: float = 0.10  # fraction taken at the end of the video
    gap: int = 4  # frames dropped between splits, so neighbouring frames never straddle two splits

    def validate(self) -> None:
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 0.9):
            raise ValueError("split fractions must be in [0, 1) with val + test < 0.9")
        if self.gap < 0:
            raise ValueError("split.gap must be >= 0")


@dataclass
class IngestParams:
    target: VideoSpec
    sources: list[VideoSpec] = field(default_factory=list)
    fps: float | None = None  # resample every video to this rate (by timestamp); null = native rate
    size: tuple[int, int] = (256, 128)  # width, height of stored frames (EDN: 1024 x 512)
    fit: Literal["pad", "crop", "stretch"] = "pad"
    pad_value: int = 0
    max_frames: int | None = None  # cap per video (quick experiments); null = all
    max_bad_frames: int = 0  # refuse a video with more damaged frames (decode errors, missing packets, timestamp holes)
    split: SplitParams = field(default_factory=SplitParams)
    demo_seed: int = 0  # seed of the built-in synthetic sample (demo:target, demo:source)

    def validate(self) -> None:
        w, h = self.size
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise ValueError(f"size {list(self.size)} must be even and at least 16 x 16")
        names = [self.target.name] + [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"video names must be unique, got {names}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError("fps must be positive or null")

    @property
    def videos(self) -> list[tuple[str, VideoSpec]]:
        return [("target", self.target)] + [("source", s) for s in self.sources]


# --------------------------------------------------------------------------- label
@dataclass
class VideoLabelSource:
    backend: Literal["mediapipe", "openpose_json", "label_maps", "densepose"]
    path: str | None = None  # folder of OpenPose JSON files or label-map images (original frames)
    mapping: str | None = None  # label_maps: CSV with index,source_frame (e.g. edn_subject4/frames.csv)
    name_format: str = "frame{:06d}.png"  # label_maps with a mapping: file name of a source frame

    def validate(self) -> None:
        if self.backend in ("openpose_json", "label_maps") and not self.path:
            raise ValueError(f"backend {self.backend} needs a path (the folder of files)")


@dataclass
class MediaPipeParams:
    model_complexity: int = 1
    segmentation: bool = True  # person masks
    min_visibility: float = 0.5  # joints below this MediaPipe visibility are missing
    min_detection_confidence: float = 0.5
    identity_guard: bool = True  # ROI re-detection when the tracked person jumps (multi-person footage)
    max_jump: float = 0.25  # largest torso move per frame / person size (lower for high frame rates)
    hands: bool = False  # MediaPipe Hands around the wrists (needs >= 1024 px wide frames)


@dataclass
class DensePoseParams:
    config_file: str = "data/06_models/pretrained/densepose_rcnn_R_50_FPN_s1x.yaml"
    weights: str = "data/06_models/pretrained/densepose_rcnn_R_50_FPN_s1x.pkl"
    device: Literal["cpu", "cuda"] = "cpu"
    min_score: float = 0.8


@dataclass
class TrackingParams:  # for multi-person OpenPose JSON
    init: str = "largest"  # largest | center | <index>: who is followed from the first frame
    max_jump: float = 0.5
    reacquire_after: int | None = 15


@dataclass
class SmoothingParams:
    method: Literal["one_euro", "savgol", "median", "none"] = "one_euro"
    max_gap: int = 5  # gaps up to this many frames are interpolated; longer ones stay missing
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {min_cutoff: 1.0, beta: 0.05} for one_euro

    def validate(self) -> None:
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")
        if self.method == "none":
            return
        import inspect

        from v2v_pipeline.labels.smoothing import SMOOTHERS

        allowed = set(inspect.signature(SMOOTHERS[self.method]).parameters) - {"keypoints", "fps"}
        unknown = set(self.params) - allowed
        if unknown:
            raise ValueError(f"unknown {self.method} parameter(s) {sorted(unknown)}; valid: {sorted(allowed)}")


@dataclass
class RenderParams:
    style: Literal["edn", "openpose"] = "edn"  # edn: the published EDN label-map look
    background: tuple[int, int, int] = (255, 255, 255)
    face: bool = True  # draw face points when the backend provides them
    hands: bool = True
    supersample: int = 2  # anti-aliasing
    edn_canvas: bool = False  # EDN's 1920x1080 stroke geometry (for 16:9 footage squashed to 2:1)
    limb_channels: bool = False  # add one mask channel per limb to the RGB map (stored as .npy)


@dataclass
class LabelParams:
    backend: Literal["mediapipe", "densepose"] = "mediapipe"
    videos: dict[str, VideoLabelSource] = field(default_factory=dict)  # per-video backend overrides
    mediapipe: MediaPipeParams = field(default_factory=MediaPipeParams)
    densepose: DensePoseParams = field(default_factory=DensePoseParams)
    tracking: TrackingParams = field(default_factory=TrackingParams)
    smoothing: SmoothingParams = field(default_factory=SmoothingParams)
    render: RenderParams = field(default_factory=RenderParams)
    person_box_margin: float = 0.1  # person box = visible joints + this fraction of the body height
    contact_sheet_frames: int = 8


# --------------------------------------------------------------------------- flow
@dataclass
class RaftParams:
    variant: Literal["large", "small"] = "large"
    weights: str = "data/06_models/pretrained/raft_large.pth"
    batch_size: int = 4
    num_flow_updates: int = 12
    device: Literal["auto", "cuda", "cpu"] = "auto"


@dataclass
class FlowParams:
    backend: Literal["dis", "raft"] = "dis"  # dis: classical, offline default; raft: needs weights
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    raft: RaftParams = field(default_factory=RaftParams)
    chunk: int = 16  # pairs per stored float16 chunk
    alpha: float = 0.01  # forward-backward consistency: |f + b|^2 < alpha (|f|^2 + |b|^2) + beta
    beta: float = 0.5
    preview_pairs: int = 4

    def validate(self) -> None:
        if self.chunk < 1:
            raise ValueError("chunk must be >= 1")


# --------------------------------------------------------------------------- normalize
@dataclass
class NormalizeParams:
    enabled: bool = True  # false: source label maps are used as they are (no scale/translation fix)
    median_frac: float = 0.5  # EDN far line: at most this fraction of (close - median) above the median
    line_tolerance: float = 0.03  # frames "near" a line: ankle within this fraction of the body height
    close_percentile: float | None = None  # null = the maximum ankle y (EDN); e.g. 98 for robustness
    p_range: tuple[float, float] = (-0.5, 1.5)  # clip of the position between the far and close lines
    x_mode: Literal["keep", "recenter"] = "keep"  # recenter: move the source's mean x to the target's
    median_window: int = 7  # temporal median on the normalized keypoints (EDN: 7)
    min_frames: int = 10  # frames with both ankles and the head needed to fit a video's lines
    min_confidence: float = 0.0
    foot_fallback: bool = True  # use heels/toes when an ankle is missing

    def validate(self) -> None:
        from v2v_pipeline.pose.video import config_from

        config_from(self)  # PoseNormConfig checks its own values


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
    vgg: float = 10.0  # VGG19 perceptual loss; active only when train.vgg_weights exists
    l1: float = 0.0  # pixel L1 to the real frame (not in pix2pixHD)
    gan: float = 1.0  # image / pair adversarial term
    temporal_gan: float = 1.0  # vid2vid temporal discriminator
    flow: float = 10.0  # vid2vid: predicted vs reference flow (masked by its validity)
    warp: float = 10.0  # vid2vid: warp consistency of consecutive generated frames
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


@dataclass
class TrainParams:
    model: Literal["pix2pixhd", "edn", "vid2vid"] = "edn"
    network: dict[str, Any] = field(default_factory=dict)  # sizes for v2v_pipeline.models.factory
    sequence_length: int = 2  # frames per sample: pix2pixhd 1, edn 2 (pairs), vid2vid >= n_frames_G + 1
    batch_size: int = 1
    scale: float = 1.0  # train at this fraction of the dataset's frame size
    max_steps: int = 1000
    max_minutes: float | None = None  # wall-clock budget; training stops at whichever limit comes first
    lr: float = 2e-4
    lr_D: float | None = None  # null = lr
    beta1: float = 0.5
    beta2: float = 0.999
    decay_fraction: float = 0.5  # constant LR, then linear decay to 0 over this last fraction of the budget
    gan_mode: Literal["lsgan", "hinge", "vanilla"] = "lsgan"
    loss: LossWeights = field(default_factory=LossWeights)
    vgg_weights: str | None = "data/06_models/pretrained/vgg19.pth"
    ema_decay: float = 0.0  # exponential moving average of the generator for validation/export; 0 = off
    coarse_to_fine: CoarseToFine = field(default_factory=CoarseToFine)
    face: FaceStage = field(default_factory=FaceStage)
    device: Literal["auto", "cuda", "cpu"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"  # auto: bf16 autocast (fp16 + scaler on old GPUs)
    channels_last: bool = False
    compile: bool = False  # torch.compile the generator's training step
    threads: int | None = None  # torch CPU threads; null = torch's default
    preload_max_gb: float = 4.0  # decode the dataset into memory when it fits; else read it from disk
    num_workers: int = 4  # DataLoader workers when reading from disk
    seed: int = 0
    checkpoint_dir: str = "data/06_models/checkpoints"
    checkpoint_every: int = 100  # steps
    keep_checkpoints: int = 3
    resume: bool = True  # continue from the newest checkpoint of the same run key (params + dataset)
    log_every: int = 10
    val_every: int = 100
    val_frames: int = 24
    nan_patience: int = 5  # stop after this many non-finite steps in a row
    cold_start_every: int = 4  # vid2vid: every N-th step starts without real history, as inference does (0 = never)
    registered_model_name: str | None = "v2v_generator"  # MLflow model registry name; null = do not register

    def validate(self) -> None:
        if self.sequence_length < 1 or self.batch_size < 1 or self.max_steps < 1:
            raise ValueError("sequence_length, batch_size and max_steps must be >= 1")
        if self.model == "edn" and self.sequence_length < 2:
            raise ValueError("model edn trains on pairs: sequence_length must be >= 2")
        if self.model == "vid2vid" and self.sequence_length < self.network.get("n_frames_G", 3) + 1:
            raise ValueError("model vid2vid needs sequence_length >= network.n_frames_G + 1 (history + generated)")
        if not 0 < self.scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("ema_decay must be in [0, 1)")
        if self.coarse_to_fine.enabled and not self.network.get("local_enhancer"):
            raise ValueError("coarse_to_fine.enabled needs network.local_enhancer: true")
        if self.face.enabled and not (self.model == "edn" and self.network.get("face_gan")):
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
        from v2v_pipeline.models.factory import resolve_config

        resolve_config({"model": self.model, **self.network})  # raises with the bad key's name


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
    if not spec.strip() or spec.strip() in ("runs:/", "runs:"):
        raise ValueError(f"model {spec!r} must be 'latest', a model file path or runs:/<mlflow run id>")


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
    model: str = "latest"  # latest (newest trained_model) | path to a model .pt file | runs:/<mlflow run id>
    source: TransferSource = field(default_factory=lambda: TransferSource(video="source"))
    max_frames: int | None = None  # cap for quick previews; null = every frame
    batch_size: int = 8  # pix2pixHD frames per forward pass (EDN / vid2vid generate frame by frame)
    device: Literal["auto", "cuda", "cpu"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    faces: bool = True  # refine faces with the model's face GAN when it has one (needs face boxes)
    panel_height: int | None = None  # height of each side-by-side panel; null = the model's frame height

    def validate(self) -> None:
        _check_model_spec(self.model)
        if self.batch_size < 1 or (self.max_frames is not None and self.max_frames < 1):
            raise ValueError("batch_size and max_frames must be >= 1")
        if self.panel_height is not None and self.panel_height < 16:
            raise ValueError("panel_height must be >= 16 or null")


@dataclass
class LpipsParams:
    enabled: bool = True
    net: Literal["alex", "vgg"] = "alex"
    backbone: str = "data/06_models/pretrained/alexnet.pth"  # torchvision ImageNet state dict
    lin: str = "data/06_models/pretrained/lpips_alex.pth"  # LPIPS v0.1 linear layers


@dataclass
class FidParams:
    enabled: bool = True
    inception: str = "data/06_models/pretrained/inception_v3.pth"  # torchvision or pytorch-fid weights


@dataclass
class PoseEvalParams:
    enabled: bool = True
    backend: Literal["mediapipe"] = "mediapipe"
    model_complexity: int = 1  # MediaPipe Pose 1 ships with the wheel; 0 / 2 are downloaded on first use
    min_confidence: float = 0.3  # joints below this in either pose do not count
    real_reference: bool = True  # also label the real frames: the labeler's own error floor


@dataclass
class EvaluateParams:
    model: str = "latest"  # latest | path to a model .pt file | runs:/<mlflow run id>
    split: Literal["test", "val", "train"] = "test"
    max_frames: int | None = None  # cap (first frames of the split) for quick checks; null = all
    batch_size: int = 8
    device: Literal["auto", "cuda", "cpu"] = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    faces: bool = True
    lpips: LpipsParams = field(default_factory=LpipsParams)
    fid: FidParams = field(default_factory=FidParams)
    pose: PoseEvalParams = field(default_factory=PoseEvalParams)
    baseline_frames: int = 200  # training frames (evenly spaced) averaged into the mean-frame baseline
    report_samples: int = 4  # test frames shown as label | generated | real | error in the report
    report_title: str = "v2v_pipeline evaluation"

    def validate(self) -> None:
        _check_model_spec(self.model)
        if self.batch_size < 1 or self.baseline_frames < 1 or self.report_samples < 0:
            raise ValueError("batch_size and baseline_frames must be >= 1, report_samples >= 0")
        if self.max_frames is not None and self.max_frames < 2:
            raise ValueError("max_frames must be >= 2 (temporal metrics need pairs) or null")


register("transfer", TransferParams)
register("evaluate", EvaluateParams)
