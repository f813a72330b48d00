"""Label whole videos: run a backend per video, clean the keypoints, build the tables, render.

The backend of each video (``label.backend``, with per-video overrides in ``label.videos``)
comes from the registry of :mod:`v2v_pipeline.labels.backends`; :func:`label_videos` is the
whole label pipeline (the Kedro node only parses the parameters and calls it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from v2v_pipeline.labels.backends import LabelMaps, PoseMaps, RawLabels, VideoInput, label_backend, render_label
from v2v_pipeline.labels.config import LabelConfig
from v2v_pipeline.config import where_to_fix
from v2v_pipeline.labels.render import face_box
from v2v_pipeline.labels.smoothing import clean_sequence
from v2v_pipeline.boxes import person_box as person_box_from_keypoints
from v2v_pipeline.progress import progress
from v2v_pipeline.schema import BOX_COLUMNS, target_video
from v2v_pipeline.storage import Archive, ArchiveWriter, frame_key
from v2v_pipeline.video.geometry import video_geometry

__all__ = ["BOX_COLUMNS", "LabelMapsContent", "LabelResult", "MasksContent", "VideoLabels", "add_label",
           "VideoLabelResult", "check_label_videos", "contact_sheet_for", "contact_sheet_from_archives",
           "frames_table", "label_one_video", "keypoints_from_table", "keypoints_table", "label_video",
           "label_videos", "render_label", "split_parts"]

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
    maps: LabelMaps = field(default_factory=PoseMaps)  # how each frame's label map is made

    @property
    def usable(self) -> np.ndarray:
        return self.status != "missing"


def label_video(cfg: LabelConfig, data: VideoInput) -> VideoLabels:
    """Run the video's backend, then fill short gaps and smooth its keypoints (``label.smoothing``)."""
    src = cfg.source_for(data.video)
    raw: RawLabels = label_backend(src.backend)(cfg, src, data)
    size = data.geometry.size
    if raw.keypoints is None:
        status = np.where(raw.detected, "found", "missing")
        return VideoLabels(data.video, src.backend, size, None, raw.detected, status, maps=raw.maps)
    s = cfg.smoothing
    extra = dict(s.params)
    if s.method == "one_euro":
        extra.setdefault("fps", float(data.index.fps.iloc[0]))
    kp, status = clean_sequence(raw.keypoints, raw.detected, s.max_gap, s.method, **extra)
    return VideoLabels(data.video, src.backend, size, kp.astype(np.float32), raw.detected, np.asarray(status),
                       raw.face, raw.hands, raw.masks, raw.maps)


@dataclass
class LabelResult:
    """The outputs of the label pipeline."""

    keypoints: pd.DataFrame
    frames: pd.DataFrame
    label_maps: LabelMapsContent
    masks: MasksContent
    metrics: dict[str, float]
    backends: dict[str, str]  # video -> backend name
    contact_sheet: np.ndarray


@dataclass
class VideoLabelResult:
    """The label pipeline's outputs for one video (:func:`label_one_video`)."""

    video: str
    backend: str
    keypoints: pd.DataFrame
    frames: pd.DataFrame
    label_maps: LabelMapsContent
    masks: MasksContent
    metrics: dict[str, float]
    labels: VideoLabels


def check_label_videos(cfg: LabelConfig, videos: list[str]) -> None:
    """``label.videos`` may only name ingested videos."""
    unknown = set(cfg.videos) - set(videos)
    if unknown:
        raise ValueError(f"label.videos names {sorted(unknown)}, which are not ingested videos "
                         f"({sorted(set(videos))}); fix label.videos in {where_to_fix('label.videos')}")


def label_one_video(cfg: LabelConfig, frames: Archive, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                    video: str) -> VideoLabelResult:
    """Label the video ``video`` (its rows of ``frame_index``, its frames, its geometry from ``video_metadata``)."""
    rows = frame_index[frame_index.video == video]
    meta = video_metadata.loc[video_metadata.video == video].iloc[0]
    data = VideoInput(video, frames.sequence(video), rows, int(meta.frame_count), video_geometry(video_metadata, video))
    labels = label_video(cfg, data)
    numbers = rows.frame.to_numpy()
    missing = int((labels.status == "missing").sum())
    interpolated = int((labels.status == "interpolated").sum())
    metrics = {f"label_{video}_frames_without_person": missing, f"label_{video}_frames_interpolated": interpolated}
    log.info("label '%s' (%s): person in %d of %d frames, %d short gaps interpolated, %d frames flagged "
             "without a person (excluded from training)", video, labels.backend, int(labels.detected.sum()),
             len(rows), interpolated, missing)
    return VideoLabelResult(video, labels.backend, keypoints_table(labels, numbers),
                            frames_table(labels, numbers, cfg.person_box_margin),
                            LabelMapsContent(cfg, [labels], {video: numbers}), MasksContent([labels], {video: numbers}),
                            metrics, labels)


def label_videos(cfg: LabelConfig, frames: Archive, frame_index: pd.DataFrame,
                 video_metadata: pd.DataFrame) -> LabelResult:
    """Label every ingested video (geometry from ``video_metadata``) and build the tables and label maps
    (the label pipeline runs :func:`label_one_video` per video and joins the results the same way)."""
    check_label_videos(cfg, list(frame_index.video.unique()))
    parts = [label_one_video(cfg, frames, frame_index, video_metadata, str(video))
             for video in frame_index.video.unique()]
    results = [r.labels for r in parts]
    numbers = {r.video: r.label_maps.frame_numbers[r.video] for r in parts}
    metrics = {k: v for r in parts for k, v in r.metrics.items()}
    content = LabelMapsContent(cfg, results, numbers)
    sheet = contact_sheet_for(frames, content, target_video(frame_index), cfg.contact_sheet_frames)
    return LabelResult(pd.concat([r.keypoints for r in parts], ignore_index=True),
                       pd.concat([r.frames for r in parts], ignore_index=True), content,
                       MasksContent(results, numbers), metrics, {r.video: r.backend for r in parts}, sheet)


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

    def __init__(self, p: LabelConfig, videos: list[VideoLabels], frame_numbers: dict[str, np.ndarray]):
        self.p, self.videos, self.frame_numbers = p, videos, frame_numbers

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        for v in self.videos:
            numbers = self.frame_numbers[v.video]
            for t in progress(range(len(numbers)), desc=f"render {v.video}", unit="frame", leave=False):
                yield frame_key(v.video, int(numbers[t])), self.render_one(v, t)

    def render_one(self, v: VideoLabels, t: int) -> np.ndarray:
        return v.maps.render(v, t, self.p.render)

    def write_to(self, writer: ArchiveWriter) -> None:
        for key, image in self.items():
            add_label(writer, key, image)


def add_label(writer: ArchiveWriter, key: str, label: np.ndarray) -> None:
    """RGB label maps as PNG; maps with extra channels (limb masks) as ``.npy``."""
    if label.ndim == 3 and label.shape[2] > 4:
        writer.add_array(key, label)
    else:
        writer.add_image(key, label)


class MasksContent:
    def __init__(self, videos: list[VideoLabels], frame_numbers: dict[str, np.ndarray]):
        self.videos, self.frame_numbers = videos, frame_numbers

    def write_to(self, writer: ArchiveWriter) -> None:
        for v in self.videos:
            if v.masks is None:
                continue
            for f, png in zip(self.frame_numbers[v.video], v.masks):
                writer.add_bytes(frame_key(v.video, int(f)) + ".png", png)


def contact_sheet_from_archives(frames: Archive, label_maps: Archive, video: str, frame_numbers: np.ndarray,
                                size: tuple[int, int], n: int) -> np.ndarray:
    """:func:`contact_sheet_for` from the stored label maps (lossless PNG / npy: the same picture)."""
    from v2v_pipeline.labels.render import contact_sheet

    picks = np.unique(np.linspace(0, len(frame_numbers) - 1, min(n, len(frame_numbers))).round().astype(int))
    imgs = [frames.read(frame_key(video, int(frame_numbers[t]))) for t in picks]
    maps = [label_maps.read(frame_key(video, int(frame_numbers[t])))[..., :3] for t in picks]
    return contact_sheet(imgs, maps, n=len(picks), width=min(1024, 2 * size[0]))


def contact_sheet_for(frames: Archive, labels: LabelMapsContent, video: str, n: int) -> np.ndarray:
    from v2v_pipeline.labels.render import contact_sheet

    v = next(x for x in labels.videos if x.video == video)
    numbers = labels.frame_numbers[video]
    picks = np.unique(np.linspace(0, len(numbers) - 1, min(n, len(numbers))).round().astype(int))
    imgs = [frames.read(frame_key(video, int(numbers[t]))) for t in picks]
    maps = [labels.render_one(v, int(t))[..., :3] for t in picks]
    return contact_sheet(imgs, maps, n=len(picks), width=min(1024, 2 * v.size[0]))
