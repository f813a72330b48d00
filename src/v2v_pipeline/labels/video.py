"""Label whole videos: run a backend per video, clean the keypoints, build the tables, render.

Backends per video (``label.backend`` with per-video overrides in ``label.videos``):

* ``mediapipe`` - MediaPipe Pose + person segmentation on the stored frames (offline default);
* ``openpose_json`` - a folder of OpenPose ``*_keypoints.json`` files of the *original* video
  frames; several people per frame are tracked (:func:`~.tracking.track_person`) and the
  keypoints are mapped into the stored frame geometry;
* ``label_maps`` - a folder of ready label maps (pix2pixHD / EDN ``train_label`` style),
  one per original frame, used as they are (no keypoints);
* ``densepose`` - DensePose IUV label images through detectron2 (optional dependency).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from v2v_pipeline.labels.render import face_box, render_pose
from v2v_pipeline.labels.smoothing import clean_sequence
from v2v_pipeline.labels.tracking import track_person
from v2v_pipeline.boxes import person_box as person_box_from_keypoints
from v2v_pipeline.params import LabelParams, VideoLabelSource
from v2v_pipeline.progress import progress
from v2v_pipeline.schema import BOX_COLUMNS
from v2v_pipeline.storage import Archive, ArchiveWriter, encode_png, frame_key
from v2v_pipeline.video.io import content_box, fit_to_size, fit_transform

log = logging.getLogger(__name__)



@dataclass
class VideoLabels:
    """Everything the label pipeline knows about one video (``T`` stored frames)."""

    video: str
    backend: str
    size: tuple[int, int]  # stored frame (width, height)
    keypoints: np.ndarray | None  # (T, 25, 3) cleaned; None for label-map backends
    detected: np.ndarray  # (T,) bool: the backend found a person in this frame
    status: np.ndarray  # (T,) "found" | "interpolated" | "missing"
    face: np.ndarray | None = None  # (T, 70, 3)
    hands: np.ndarray | None = None  # (T, 2, 21, 3)
    masks: list[bytes] | None = None  # PNG-encoded person masks
    label_files: list | None = None  # precomputed label maps (paths), label_maps backend
    iuv: list[bytes] | None = None  # PNG-encoded DensePose IUV images

    @property
    def usable(self) -> np.ndarray:
        return self.status != "missing"


def source_for(p: LabelParams, video: str) -> VideoLabelSource:
    return p.videos.get(video) or VideoLabelSource(backend=p.backend)


def detect_video(p: LabelParams, video: str, frames: Sequence[np.ndarray], index: pd.DataFrame,
                 meta: pd.Series, fit: str = "pad") -> VideoLabels:
    """Run the configured backend on one video; ``index`` holds its rows of ``frame_index``,
    ``meta`` its row of ``video_metadata``, ``fit`` the ingest geometry (to map original-frame inputs)."""
    src = source_for(p, video)
    h, w = frames[0].shape[:2]
    size = (w, h)
    fps = float(index.fps.iloc[0])
    face = hands = masks = files = iuv = None
    if src.backend == "mediapipe":
        from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend

        m = p.mediapipe
        with MediaPipeBackend(model_complexity=m.model_complexity, enable_segmentation=m.segmentation,
                              min_visibility=m.min_visibility, min_detection_confidence=m.min_detection_confidence,
                              identity_guard=m.identity_guard, max_jump=m.max_jump, hands=m.hands) as backend:
            seq = backend.process(progress(frames, desc=f"pose {video}", unit="frame", leave=False),
                                  keep_masks=m.segmentation, crop=_picture_box(meta, size, fit))
        raw, detected, hands = seq.keypoints, seq.found, seq.hands
        if seq.masks is not None:
            masks = [encode_png(mk) for mk in seq.masks]
    elif src.backend == "openpose_json":
        raw, detected, face, hands = _openpose(p, src, index, meta, size, fit)
    elif src.backend == "label_maps":
        from v2v_pipeline.labels.precomputed import match_label_files

        all_files = match_label_files(src.path, int(meta.frame_count), src.mapping, src.name_format)
        files = [all_files[i] for i in index.source_frame.to_numpy()]
        raw, detected = None, np.ones(len(frames), bool)
    elif src.backend == "densepose":
        from v2v_pipeline.labels.densepose_backend import DensePoseBackend

        d = p.densepose
        backend = DensePoseBackend(d.config_file, d.weights, d.device, d.min_score)
        images = [backend(f) for f in progress(frames, desc=f"densepose {video}", unit="frame", leave=False)]
        detected = np.array([img[..., 0].any() for img in images])
        iuv, raw = [encode_png(img) for img in images], None
    else:  # pragma: no cover - the parameter schema only allows the names above
        raise ValueError(f"unknown label backend {src.backend!r}")
    if raw is None:
        status = np.where(detected, "found", "missing")
        return VideoLabels(video, src.backend, size, None, detected, status, label_files=files, iuv=iuv)
    s = p.smoothing
    extra = dict(s.params)
    if s.method == "one_euro":
        extra.setdefault("fps", fps)
    kp, status = clean_sequence(raw, detected, s.max_gap, s.method, **extra)
    return VideoLabels(video, src.backend, size, kp.astype(np.float32), detected, np.asarray(status), face, hands,
                       masks)


def _picture_box(meta: pd.Series, size: tuple[int, int], fit: str) -> tuple[int, int, int, int] | None:
    """The part of the stored frames that holds the video's picture (None: the whole frame)."""
    try:
        src = (int(meta.width), int(meta.height))
    except (AttributeError, TypeError, ValueError):  # no usable size in the metadata
        return None
    box = content_box(src, size, fit)
    return None if box == (0, 0, *size) else box


def _openpose(p: LabelParams, src: VideoLabelSource, index: pd.DataFrame, meta: pd.Series, size: tuple[int, int],
              fit: str):
    """Keypoints from OpenPose JSON files of the original frames, tracked and mapped to the stored geometry."""
    from v2v_pipeline.labels.precomputed import body_candidates, read_openpose_folder

    people = read_openpose_folder(src.path, int(meta.frame_count))
    people = [people[i] for i in index.source_frame.to_numpy()]
    t = p.tracking
    track = track_person(body_candidates(people), init=t.init, max_jump=t.max_jump, reacquire_after=t.reacquire_after,
                         image_size=(int(meta.width), int(meta.height)))
    sx, sy, dx, dy = fit_transform((int(meta.width), int(meta.height)), size, fit)

    def to_frame(kp: np.ndarray) -> np.ndarray:
        out = kp.astype(np.float32).copy()
        vis = out[..., 2] > 0
        out[..., 0] = np.where(vis, out[..., 0] * sx + dx, 0)
        out[..., 1] = np.where(vis, out[..., 1] * sy + dy, 0)
        return out

    body = to_frame(track.keypoints)
    face = hands = None
    chosen = [ppl[i] if i >= 0 else None for ppl, i in zip(people, track.index)]
    if any(c is not None and c.face is not None for c in chosen):
        face = np.stack([to_frame(c.face) if c is not None and c.face is not None else np.zeros((70, 3), np.float32)
                         for c in chosen])
    if any(c is not None and c.hands is not None for c in chosen):
        hands = np.stack([to_frame(c.hands) if c is not None and c.hands is not None
                          else np.zeros((2, 21, 3), np.float32) for c in chosen])
    return body, track.found, face, hands


def frames_table(labels: VideoLabels, frame_numbers: np.ndarray, margin: float) -> pd.DataFrame:
    """Per frame: found (a usable pose), detected, interpolated, face and person boxes (NaN if none)."""
    n = len(frame_numbers)
    boxes = np.full((n, 8), np.nan)
    w, h = labels.size
    for t in range(n):
        if labels.keypoints is not None and labels.usable[t]:
            kp = labels.keypoints[t]
            fb = face_box(kp, labels.size)
            if fb is not None:
                boxes[t, :4] = fb
            height = _height(kp)
            pb = person_box_from_keypoints(kp, margin * height, labels.size)
            if pb is not None:
                boxes[t, 4:] = pb
    table = pd.DataFrame({
        "video": labels.video, "frame": np.asarray(frame_numbers, np.int64), "backend": labels.backend,
        "found": labels.usable, "detected": labels.detected, "interpolated": labels.status == "interpolated",
    })
    for i, col in enumerate(BOX_COLUMNS):
        table[col] = boxes[:, i]
    return table


def _height(kp: np.ndarray) -> float:
    vis = kp[:, 2] > 0
    return float(np.ptp(kp[vis, 1])) if vis.sum() >= 2 else 0.0


def keypoints_table(labels: VideoLabels, frame_numbers: np.ndarray) -> pd.DataFrame:
    """Tidy rows ``video, frame, person, joint, x, y, confidence`` of the usable frames (BODY_25,
    then face points as joints 25..94 and hands as 95..136 when present)."""
    if labels.keypoints is None:
        return pd.DataFrame(columns=["video", "frame", "person", "joint", "x", "y", "confidence"])
    parts = [labels.keypoints]
    if labels.face is not None:
        parts.append(labels.face)
    if labels.hands is not None:
        parts.append(labels.hands.reshape(len(labels.hands), 42, 3))
    kp = np.concatenate(parts, axis=1)
    n, j = kp.shape[:2]
    keep = np.repeat(labels.usable, j)
    flat = kp.reshape(-1, 3)
    return pd.DataFrame({
        "video": labels.video,
        "frame": np.repeat(np.asarray(frame_numbers, np.int64), j)[keep],
        "person": np.int64(0),
        "joint": np.tile(np.arange(j, dtype=np.int64), n)[keep],
        "x": flat[keep, 0], "y": flat[keep, 1], "confidence": flat[keep, 2],
    })


def keypoints_from_table(table: pd.DataFrame, video: str, frame_numbers: np.ndarray) -> np.ndarray:
    """``(T, J, 3)`` keypoints of ``video`` (zeros for frames absent from the table)."""
    rows = table[table.video == video]
    j = int(rows.joint.max()) + 1 if len(rows) else 25
    out = np.zeros((len(frame_numbers), max(j, 25), 3), np.float32)
    pos = {int(f): i for i, f in enumerate(frame_numbers)}
    t = rows.frame.map(pos).to_numpy()
    ok = ~pd.isna(t)
    out[t[ok].astype(int), rows.joint.to_numpy()[ok]] = rows[["x", "y", "confidence"]].to_numpy(np.float32)[ok]
    return out


def split_parts(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """BODY_25, face-70 and hands (2, 21) from the joint layout of :func:`keypoints_table`."""
    body = kp[:, :25]
    face = kp[:, 25:95] if kp.shape[1] >= 95 else None
    hands = kp[:, 95:137].reshape(len(kp), 2, 21, 3) if kp.shape[1] >= 137 else None
    return body, face, hands


class LabelMapsContent:
    """Renders (or copies) the label map of every frame of every video into the archive, streaming."""

    def __init__(self, p: LabelParams, videos: list[VideoLabels], frame_numbers: dict[str, np.ndarray],
                 fit: str = "pad"):
        self.p, self.videos, self.frame_numbers, self.fit = p, videos, frame_numbers, fit

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for v in self.videos:
            numbers = self.frame_numbers[v.video]
            for t in progress(range(len(numbers)), desc=f"render {v.video}", unit="frame", leave=False):
                yield frame_key(v.video, int(numbers[t])), self.render_one(v, t)

    def render_one(self, v: VideoLabels, t: int) -> np.ndarray:
        r = self.p.render
        if v.label_files is not None:
            from v2v_pipeline.labels.precomputed import read_label_map

            label = read_label_map(v.label_files[t])
            if label.ndim == 2:  # an index map: nearest-neighbour resizing, class 0 in the borders
                index = fit_to_size(label, v.size, self.fit, pad_value=0, interpolation=cv2.INTER_NEAREST)
                return np.repeat(index[..., None], 3, axis=2)
            return fit_to_size(label, v.size, self.fit, pad_value=self.p.render.background[0])
        if v.iuv is not None:
            from v2v_pipeline.labels.densepose_backend import iuv_to_label
            from v2v_pipeline.storage import decode_png

            return iuv_to_label(decode_png(v.iuv[t]), mode="iuv")
        return render_label(v.keypoints[t] if v.usable[t] else np.zeros((25, 3), np.float32),
                            v.size, r, None if v.face is None else v.face[t], None if v.hands is None else v.hands[t])

    def write_to(self, writer: ArchiveWriter) -> None:
        for key, image in self.items():
            add_label(writer, key, image)


def add_label(writer: ArchiveWriter, key: str, label: np.ndarray) -> None:
    """RGB label maps as PNG; maps with extra channels (limb masks) as ``.npy``."""
    if label.ndim == 3 and label.shape[2] > 4:
        writer.add_array(key, label)
    else:
        writer.add_image(key, label)


def render_label(body: np.ndarray, size: tuple[int, int], r, face=None, hands=None) -> np.ndarray:
    """One label map with the configured style (shared by the label and normalize pipelines):
    ``(H, W, 3)`` RGB, or ``(H, W, 3 + limbs)`` with ``render.limb_channels``."""
    from v2v_pipeline.labels.render import EDN_CANVAS, render_limb_masks

    rgb = render_pose(body, size, face if r.face else None, hands if r.hands else None, style=r.style,
                      background=tuple(r.background), canvas_size=EDN_CANVAS if r.edn_canvas else None,
                      supersample=r.supersample)
    if not r.limb_channels:
        return rgb
    masks = render_limb_masks(body, size, style=r.style, dtype=np.uint8)
    return np.concatenate([rgb, np.moveaxis(masks, 0, -1)], axis=-1)


class MasksContent:
    def __init__(self, videos: list[VideoLabels], frame_numbers: dict[str, np.ndarray]):
        self.videos, self.frame_numbers = videos, frame_numbers

    def write_to(self, writer: ArchiveWriter) -> None:
        for v in self.videos:
            if v.masks is None:
                continue
            for f, png in zip(self.frame_numbers[v.video], v.masks):
                writer.add_bytes(frame_key(v.video, int(f)) + ".png", png)


def contact_sheet_for(frames: Archive, labels: LabelMapsContent, video: str, n: int) -> np.ndarray:
    from v2v_pipeline.labels.render import contact_sheet

    v = next(x for x in labels.videos if x.video == video)
    numbers = labels.frame_numbers[video]
    picks = np.unique(np.linspace(0, len(numbers) - 1, min(n, len(numbers))).round().astype(int))
    imgs = [frames.read(frame_key(video, int(numbers[t]))) for t in picks]
    maps = [labels.render_one(v, int(t))[..., :3] for t in picks]
    return contact_sheet(imgs, maps, n=len(picks), width=min(1024, 2 * v.size[0]))
