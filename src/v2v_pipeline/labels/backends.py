"""Label backends: one function per backend name, in one registry.

A backend turns the stored frames of one video (:class:`VideoInput`) into :class:`RawLabels`:
per-frame detections, raw keypoints (or none), optional face / hands / person masks, and the
:class:`LabelMaps` that render its label map of each frame. :func:`~.video.label_video`
cleans the keypoints and builds the tables the same way for every backend.

* ``mediapipe`` - MediaPipe Pose + person segmentation on the stored frames (offline default);
* ``openpose_json`` - a folder of OpenPose ``*_keypoints.json`` files of the *original* video
  frames; several people per frame are tracked (:func:`~.tracking.track_person`) and the
  keypoints are mapped into the stored frame geometry;
* ``label_maps`` - a folder of ready label maps (pix2pixHD / EDN ``train_label`` style),
  one per original frame, the training input as they are; the keypoints (normalization, person
  and face boxes, pose metrics) and masks come from MediaPipe on the video's own frames or from
  OpenPose JSON (``keypoints``; ``none`` = maps only);
* ``densepose`` - DensePose IUV label images through detectron2 (optional dependency).

Add a backend with ``@register_label_backend("name")`` (and its name in
:class:`~.config.VideoLabelSource`'s ``backend`` choices, which the parameter check uses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import cv2
import numpy as np
import pandas as pd

from v2v_pipeline.labels.config import LabelConfig, RenderConfig, VideoLabelSource
from v2v_pipeline.labels.render import EDN_CANVAS, render_limb_masks, render_pose
from v2v_pipeline.labels.tracking import track_person
from v2v_pipeline.progress import progress
from v2v_pipeline.storage import decode_png, encode_png
from v2v_pipeline.video.geometry import VideoGeometry
from v2v_pipeline.video.io import fit_to_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInput:
    """What a backend sees of one video."""

    video: str
    frames: Sequence[np.ndarray]  # the stored frames, RGB uint8 at ``geometry.size``
    index: pd.DataFrame  # the video's rows of ``frame_index`` (``source_frame``: frame of the original video)
    frame_count: int  # frames of the original video
    geometry: VideoGeometry


def render_label(body: np.ndarray, size: tuple[int, int], r: RenderConfig, face=None, hands=None) -> np.ndarray:
    """One label map with the configured style (shared by the label and normalize pipelines):
    ``(H, W, 3)`` RGB, or ``(H, W, 3 + limbs)`` with ``render.limb_channels``."""
    rgb = render_pose(body, size, face if r.face else None, hands if r.hands else None, style=r.style,
                      background=tuple(r.background), canvas_size=EDN_CANVAS if r.edn_canvas else None,
                      supersample=r.supersample)
    if not r.limb_channels:
        return rgb
    masks = render_limb_masks(body, size, style=r.style, dtype=np.uint8)
    return np.concatenate([rgb, np.moveaxis(masks, 0, -1)], axis=-1)


class LabelMaps(Protocol):
    """How the label map of frame ``t`` of a labelled video is made."""

    def render(self, labels, t: int, r: RenderConfig) -> np.ndarray: ...


@dataclass(frozen=True)
class PoseMaps:
    """Label maps drawn from the (cleaned) keypoints."""

    def render(self, labels, t: int, r: RenderConfig) -> np.ndarray:
        body = labels.keypoints[t] if labels.usable[t] else np.zeros((25, 3), np.float32)
        return render_label(body, labels.size, r, None if labels.face is None else labels.face[t],
                            None if labels.hands is None else labels.hands[t])


@dataclass(frozen=True)
class FileMaps:
    """Ready label-map files of the original frames, fitted like the frames were."""

    files: list
    fit: str

    def render(self, labels, t: int, r: RenderConfig) -> np.ndarray:
        from v2v_pipeline.labels.precomputed import read_label_map

        label = read_label_map(self.files[t])
        if label.ndim == 2:  # an index map: nearest-neighbour resizing, class 0 in the borders
            index = fit_to_size(label, labels.size, self.fit, pad_value=0, interpolation=cv2.INTER_NEAREST)
            return np.repeat(index[..., None], 3, axis=2)
        return fit_to_size(label, labels.size, self.fit, pad_value=r.background[0])


@dataclass(frozen=True)
class IuvMaps:
    """DensePose IUV images (PNG-encoded), shown as label maps."""

    images: list[bytes]

    def render(self, labels, t: int, r: RenderConfig) -> np.ndarray:
        from v2v_pipeline.labels.densepose_backend import iuv_to_label

        return iuv_to_label(decode_png(self.images[t]), mode="iuv")


@dataclass
class RawLabels:
    """A backend's output for one video of ``T`` frames."""

    detected: np.ndarray  # (T,) bool: a person was found
    keypoints: np.ndarray | None = None  # (T, 25, 3) raw BODY_25; None: the backend gives label maps only
    face: np.ndarray | None = None  # (T, 70, 3)
    hands: np.ndarray | None = None  # (T, 2, 21, 3)
    masks: list[bytes] | None = None  # PNG-encoded person masks
    maps: LabelMaps = field(default_factory=PoseMaps)


LabelBackend = Callable[[LabelConfig, VideoLabelSource, VideoInput], RawLabels]
LABEL_BACKENDS: dict[str, LabelBackend] = {}


def register_label_backend(name: str) -> Callable[[LabelBackend], LabelBackend]:
    def add(fn: LabelBackend) -> LabelBackend:
        LABEL_BACKENDS[name] = fn
        return fn

    return add


def label_backend(name: str) -> LabelBackend:
    if name not in LABEL_BACKENDS:
        raise ValueError(f"unknown label backend {name!r}; choose one of {sorted(LABEL_BACKENDS)}")
    return LABEL_BACKENDS[name]


def _grow(bar, frames: int) -> None:
    """A carried-on seam labels ``frames`` more than planned: the progress bar's total follows."""
    bar.total = (bar.total or 0) + frames
    bar.refresh()


@register_label_backend("mediapipe")
def mediapipe_labels(cfg: LabelConfig, src: VideoLabelSource, data: VideoInput) -> RawLabels:
    from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend

    from v2v_pipeline.labels.chunks import label_in_chunks, plan_chunks

    m = cfg.mediapipe
    chunks = plan_chunks(len(data.frames), cfg.workers, cfg.seam_overlap)
    from v2v_pipeline.runtime import available_cpus

    if len(chunks) > (cpus := available_cpus()):
        log.warning("label.workers %d: this process may use %d CPUs, so %d trackers share them and label no faster "
                    "than %d would; set label.workers to at most %d", cfg.workers, cpus, len(chunks), cpus, cpus)
    with progress(total=sum(c.end - c.warm for c in chunks), desc=f"pose {data.video}", unit="frame",
                  leave=False) as bar:
        seq, report = label_in_chunks(data.frames, lambda: MediaPipeBackend(m), cfg.workers, cfg.seam_overlap,
                                      on_frame=bar.update, on_more=lambda k: _grow(bar, k),
                                      keep_masks=m.enable_segmentation,
                                      crop=data.geometry.picture_box)
    if report.workers > 1:
        log.info("label %s: %d chunks on %d threads, hand-overs at frames %s%s", data.video, len(report.chunks),
                 report.workers, sorted(report.handovers.values()) or "-",
                 f"; the tracker before carried on at {report.carried_on}" if report.carried_on else "")
    masks = None if seq.masks is None else [encode_png(mk) for mk in seq.masks]
    return RawLabels(seq.found, seq.keypoints, seq.face, seq.hands, masks)


@register_label_backend("openpose_json")
def openpose_labels(cfg: LabelConfig, src: VideoLabelSource, data: VideoInput) -> RawLabels:
    """Keypoints from OpenPose JSON files of the original frames, tracked and mapped to the stored geometry."""
    from v2v_pipeline.labels.precomputed import body_candidates, read_openpose_folder

    people = read_openpose_folder(src.path, data.frame_count)
    people = [people[i] for i in data.index.source_frame.to_numpy()]
    t = cfg.tracking
    track = track_person(body_candidates(people), init=t.init, max_jump=t.max_jump, reacquire_after=t.reacquire_after,
                         image_size=data.geometry.source_size)
    sx, sy, dx, dy = data.geometry.transform()

    def to_frame(kp: np.ndarray) -> np.ndarray:
        out = kp.astype(np.float32).copy()
        vis = out[..., 2] > 0
        out[..., 0] = np.where(vis, out[..., 0] * sx + dx, 0)
        out[..., 1] = np.where(vis, out[..., 1] * sy + dy, 0)
        return out

    face = hands = None
    chosen = [ppl[i] if i >= 0 else None for ppl, i in zip(people, track.index)]
    if any(c is not None and c.face is not None for c in chosen):
        face = np.stack([to_frame(c.face) if c is not None and c.face is not None else np.zeros((70, 3), np.float32)
                         for c in chosen])
    if any(c is not None and c.hands is not None for c in chosen):
        hands = np.stack([to_frame(c.hands) if c is not None and c.hands is not None
                          else np.zeros((2, 21, 3), np.float32) for c in chosen])
    return RawLabels(track.found, to_frame(track.keypoints), face, hands)


@register_label_backend("label_maps")
def label_map_files(cfg: LabelConfig, src: VideoLabelSource, data: VideoInput) -> RawLabels:
    from v2v_pipeline.labels.precomputed import match_label_files

    all_files = match_label_files(src.path, data.frame_count, src.mapping, src.name_format)
    files = [all_files[i] for i in data.index.source_frame.to_numpy()]
    maps = FileMaps(files, data.geometry.fit)
    if src.keypoints == "none":
        return RawLabels(np.ones(len(data.frames), bool), maps=maps)
    # the maps stay the training input; keypoints (normalization, person / face boxes, pose metrics) and
    # person masks come from the keypoint detector on the video's own frames, or from OpenPose JSON files
    if src.keypoints == "openpose_json":
        raw = openpose_labels(cfg, replace(src, backend="openpose_json", path=src.keypoints_path), data)
    else:
        raw = mediapipe_labels(cfg, src, data)
    return replace(raw, maps=maps)


@register_label_backend("densepose")
def densepose_labels(cfg: LabelConfig, src: VideoLabelSource, data: VideoInput) -> RawLabels:
    from v2v_pipeline.labels.densepose_backend import DensePoseBackend

    d = cfg.densepose
    backend = DensePoseBackend(d.config_file, d.weights, d.device, d.min_score)
    images = [backend(f) for f in progress(data.frames, desc=f"densepose {data.video}", unit="frame", leave=False)]
    detected = np.array([img[..., 0].any() for img in images])
    return RawLabels(detected, maps=IuvMaps([encode_png(img) for img in images]))
