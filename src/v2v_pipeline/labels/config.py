"""Configuration of whole-video labeling (the ``label`` parameter section is :class:`LabelConfig`).

The types are the library's own: :mod:`v2v_pipeline.params` embeds them as they are, and
:func:`v2v_pipeline.config.parse` builds them strictly from ``conf/*/parameters_label.yml``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Literal

from v2v_pipeline.labels.mediapipe_backend import MediaPipeConfig
from v2v_pipeline.labels.smoothing import SMOOTHERS


@dataclass
class VideoLabelSource:
    """Which backend labels one video (``label.videos.<name>``) and where its files are."""

    backend: Literal["mediapipe", "openpose_json", "label_maps", "densepose"]
    path: str | None = None  # folder of OpenPose JSON files or label-map images (original frames)
    mapping: str | None = None  # label_maps: CSV with index,source_frame (e.g. edn_subject4/frames.csv)
    name_format: str = "frame{:06d}.png"  # label_maps with a mapping: file name of a source frame
    # label_maps: where the keypoints (normalization, person and face boxes, pose metrics) come from while
    # the maps stay the training input: mediapipe = the keypoint detector on the video's own frames,
    # openpose_json = OpenPose JSON files of the original frames in keypoints_path, none = no keypoints
    # (then normalize, the person-box metrics and the face GAN have nothing to work with)
    keypoints: Literal["mediapipe", "openpose_json", "none"] = "mediapipe"
    keypoints_path: str | None = None  # keypoints: openpose_json: the folder of *_keypoints.json files

    def validate(self) -> None:
        if self.backend in ("openpose_json", "label_maps") and not self.path:
            raise ValueError(f"backend {self.backend} needs a path (the folder of files)")
        if self.backend == "label_maps" and self.keypoints == "openpose_json" and not self.keypoints_path:
            raise ValueError("label_maps with keypoints: openpose_json needs keypoints_path (the folder of "
                             "OpenPose *_keypoints.json files of the same original frames)")


@dataclass
class DensePoseConfig:
    config_file: str = "data/06_models/pretrained/densepose_rcnn_R_50_FPN_s1x.yaml"
    weights: str = "data/06_models/pretrained/densepose_rcnn_R_50_FPN_s1x.pkl"
    device: Literal["cpu", "cuda"] = "cpu"
    min_score: float = 0.8


@dataclass
class TrackingConfig:  # for multi-person OpenPose JSON
    init: str = "largest"  # largest | center | <index>: who is followed from the first frame
    max_jump: float = 0.5
    reacquire_after: int | None = 15


@dataclass
class SmoothingConfig:
    method: Literal["one_euro", "savgol", "median", "none"] = "one_euro"
    max_gap: int = 5  # gaps up to this many frames are interpolated; longer ones stay missing
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {min_cutoff: 1.0, beta: 0.05} for one_euro

    def validate(self) -> None:
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")
        if self.method == "none":
            return
        allowed = set(inspect.signature(SMOOTHERS[self.method]).parameters) - {"keypoints", "fps"}
        unknown = set(self.params) - allowed
        if unknown:
            raise ValueError(f"unknown {self.method} parameter(s) {sorted(unknown)}; valid: {sorted(allowed)}")


@dataclass
class RenderConfig:
    style: Literal["edn", "openpose"] = "edn"  # edn: the published EDN label-map look
    background: tuple[int, int, int] = (255, 255, 255)
    face: bool = True  # draw face points when the backend provides them
    hands: bool = True
    supersample: int = 2  # anti-aliasing
    edn_canvas: bool = False  # EDN's 1920x1080 stroke geometry (for 16:9 footage squashed to 2:1)
    limb_channels: bool = False  # add one mask channel per limb to the RGB map (stored as .npy)


@dataclass
class LabelConfig:
    """Everything :func:`v2v_pipeline.labels.video.label_videos` needs besides the data."""

    backend: Literal["mediapipe", "densepose"] = "mediapipe"
    videos: dict[str, VideoLabelSource] = field(default_factory=dict)  # per-video backend overrides
    mediapipe: MediaPipeConfig = field(default_factory=MediaPipeConfig)
    densepose: DensePoseConfig = field(default_factory=DensePoseConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    person_box_margin: float = 0.1  # person box = visible joints + this fraction of the body height
    contact_sheet_frames: int = 8
    # mediapipe: label each video in this many parallel chunks, one tracker (one core) each; around every seam both
    # trackers label seam_overlap frames more and the labels hand over where they agree (v2v_pipeline.labels.chunks).
    # 1 = sequential, the labels of earlier runs exactly; more is faster, not bit-identical to 1 (docs/labeling.md)
    workers: int = 1
    seam_overlap: int = 15

    def validate(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1 (got {self.workers}); 1 labels each video sequentially")
        if self.seam_overlap < 1:
            raise ValueError(f"seam_overlap must be >= 1 frame (got {self.seam_overlap}); 15 is the default")

    def source_for(self, video: str) -> VideoLabelSource:
        """The backend settings of ``video``: its ``videos`` entry, else the section's backend."""
        return self.videos.get(video) or VideoLabelSource(backend=self.backend)
