"""Normalize every source video's poses to the target person and re-render their label maps."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from v2v_pipeline.labels.video import (
    BOX_COLUMNS,
    VideoLabels,
    add_label,
    frames_table,
    keypoints_from_table,
    keypoints_table,
    render_label,
    split_parts,
)
from v2v_pipeline.labels.config import LabelConfig
from v2v_pipeline.pose.normalize import PoseNormConfig, measure_frames, normalize_poses, plot_ankle_distributions
from v2v_pipeline.progress import progress
from v2v_pipeline.storage import Archive, ArchiveWriter, frame_key
from v2v_pipeline.video.geometry import video_geometry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NormalizeConfig(PoseNormConfig):
    """The ``normalize`` section: EDN's :class:`PoseNormConfig` plus an off switch."""

    enabled: bool = True  # false: source label maps are used as they are (no scale/translation fix)


@dataclass
class NormalizedVideo:
    video: str
    frames: np.ndarray  # frame numbers
    size: tuple[int, int]
    body: np.ndarray | None  # (T, 25, 3) normalized; None: label maps are passed through
    face: np.ndarray | None = None
    hands: np.ndarray | None = None
    usable: np.ndarray | None = None


@dataclass
class NormalizeResult:
    videos: list[NormalizedVideo]
    fitted: dict
    keypoints: pd.DataFrame
    frames: pd.DataFrame
    plot: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)


def figure_to_image(fig) -> np.ndarray:
    from v2v_pipeline.figures import figure_png
    from v2v_pipeline.storage import decode_png

    return decode_png(figure_png(fig, dpi=80, close=True))[..., :3]


def in_range_fraction(normalized: np.ndarray, target: np.ndarray, tolerance: float = 0.05) -> float:
    """Fraction of normalized source frames whose ankle y lies within the target's ankle range (± tolerance x
    the target's median body height)."""
    n, t = measure_frames(normalized), measure_frames(target)
    ny = n.ankle[n.usable, 1]
    ty = t.ankle[t.usable, 1]
    if len(ny) == 0 or len(ty) == 0:
        return float("nan")
    tol = tolerance * float(np.nanmedian(t.height[t.usable]))
    return float(np.mean((ny >= ty.min() - tol) & (ny <= ty.max() + tol)))


def normalize_videos(p: NormalizeConfig, lp: LabelConfig, keypoints: pd.DataFrame, label_frames: pd.DataFrame,
                     frame_index: pd.DataFrame, video_metadata: pd.DataFrame) -> NormalizeResult:
    """Normalize every source video's keypoints to the target (EDN); the sizes come from ``video_metadata``.
    (The normalize pipeline runs :func:`normalize_source` per source and joins them with :func:`combine_results`.)"""
    sources = frame_index[frame_index.role == "source"].video.unique()
    parts = [normalize_source(p, lp, str(v), keypoints, label_frames, frame_index, video_metadata,
                              keypoints, frame_index, video_metadata) for v in sources]
    return combine_results(parts, keypoints.iloc[:0], label_frames.iloc[:0])


def normalize_source(p: NormalizeConfig, lp: LabelConfig, video: str, keypoints: pd.DataFrame,
                     label_frames: pd.DataFrame, frame_index: pd.DataFrame, video_metadata: pd.DataFrame,
                     target_keypoints: pd.DataFrame, target_index: pd.DataFrame,
                     target_metadata: pd.DataFrame) -> NormalizeResult:
    """Normalize the source video ``video`` to the target: the source's tables (keypoints, label_frames,
    frame_index, video_metadata; other videos' rows are ignored) and the target's (keypoints,
    frame_index with its ``role == "target"`` rows, video_metadata)."""
    target_rows = target_index[target_index.role == "target"]
    target = str(target_rows.video.iloc[0])
    tgt_kp = keypoints_from_table(target_keypoints, target, target_rows.frame.to_numpy())[:, :25]
    target_box = video_geometry(target_metadata, target).content_box  # the picture, without letterbox borders
    rows = frame_index[frame_index.video == video]
    numbers = rows.frame.to_numpy()
    lf = label_frames[label_frames.video == video].set_index("frame").loc[numbers]
    has_kp = (keypoints.video == video).any()
    size = video_geometry(video_metadata, video).size
    if not has_kp or not p.enabled:
        why = "disabled (normalize.enabled: false)" if has_kp else "its labels have no keypoints"
        log.info("normalize '%s': label maps used as they are (%s)", video, why)
        return _result([NormalizedVideo(video, numbers, size, None)], {video: {"normalized": False, "reason": why}},
                       keypoints.iloc[:0].copy(), lf.reset_index(), None, {})
    src = keypoints_from_table(keypoints, video, numbers)
    body, face, hands = split_parts(src)
    extra = [x for x in (face, hands.reshape(len(hands), 42, 3) if hands is not None else None) if x is not None]
    res = normalize_poses(body, tgt_kp, p, extra, target_box=target_box)
    nface = res.extra[0] if face is not None else None
    nhands = res.extra[-1].reshape(len(body), 2, 21, 3) if hands is not None else None
    usable = lf["found"].to_numpy(bool)
    nv = NormalizedVideo(video, numbers, size, res.keypoints.astype(np.float32), nface, nhands, usable)
    params = res.params.to_dict()
    frac = in_range_fraction(res.keypoints, tgt_kp)
    fitted = {"normalized": True, **{k: round(float(v), 4) for k, v in params.items()},
              "ankles_in_target_range": round(frac, 4)}
    metrics = {f"normalize_{video}_scale_close": params["scale_close"],
               f"normalize_{video}_scale_far": params["scale_far"],
               f"normalize_{video}_ankles_in_target_range": frac}
    log.info("normalize '%s': scale %.3f (close) .. %.3f (far); %.0f%% of normalized ankles in the target's range",
             video, params["scale_close"], params["scale_far"], 100 * frac)
    status = np.where(usable, "found", "missing")
    labels = VideoLabels(video, "normalized", size, nv.body, usable, status, nface, nhands)
    table = frames_table(labels, numbers, lp.person_box_margin)
    table["interpolated"] = lf["interpolated"].to_numpy()
    fig = plot_ankle_distributions(body, tgt_kp, res.keypoints, res.params)
    fig.suptitle(f"{video} -> {target}")
    return _result([nv], {video: fitted}, keypoints_table(labels, numbers), table, figure_to_image(fig), metrics)


def _result(videos, fitted, kp_table, frames, plot, metrics) -> NormalizeResult:
    """One source's result; ``plot`` None when nothing was normalized (the blank placeholder is stored)."""
    return combine_results([NormalizeResult(videos, fitted, kp_table, frames, plot, metrics)], kp_table.iloc[:0],
                           frames.iloc[:0], keep_empty=True)


BLANK_PLOT = np.full((32, 32, 3), 255, np.uint8)  # the normalization plot when no source was normalized


def combine_results(parts: list[NormalizeResult], empty_keypoints: pd.DataFrame, empty_frames: pd.DataFrame,
                    keep_empty: bool = False) -> NormalizeResult:
    """Join per-source results in order, as one loop over the sources builds them: keypoints of the
    normalized sources only, frame tables of all, the plots of the normalized ones stacked
    (``keep_empty``: keep a part's keypoints even when it normalized nothing, for a one-source result)."""
    videos = [v for r in parts for v in r.videos]
    fitted = {k: v for r in parts for k, v in r.fitted.items()}
    normalized = [r for r in parts if keep_empty or any(f.get("normalized") for f in r.fitted.values())]
    kp_tables = [r.keypoints for r in normalized]
    plots = [r.plot for r in parts if r.plot is not None and any(f.get("normalized") for f in r.fitted.values())]
    frame_tables = [r.frames for r in parts]
    plot = _stack(plots) if plots else BLANK_PLOT.copy()
    kp_table = pd.concat(kp_tables, ignore_index=True) if kp_tables else empty_keypoints.copy()
    frames = pd.concat(frame_tables, ignore_index=True) if frame_tables else empty_frames.copy()
    frames = frames[["video", "frame", "found"] + [c for c in frames.columns if c not in ("video", "frame", "found")]]
    for col in BOX_COLUMNS:
        frames[col] = frames[col].astype(np.float64)
    metrics = {k: v for r in parts for k, v in r.metrics.items()}
    return NormalizeResult(videos, fitted, kp_table, frames.reset_index(drop=True), plot, metrics)


def combine_saved(parts: list[tuple[dict, pd.DataFrame, pd.DataFrame, np.ndarray]], empty_keypoints: pd.DataFrame,
                  empty_frames: pd.DataFrame) -> NormalizeResult:
    """:func:`combine_results` of stored per-source outputs ``(normalization, normalized_keypoints,
    normalized_label_frames, normalization_plot)``, where normalization is ``{"fitted", "metrics"}``."""
    results = [NormalizeResult([], dict(n["fitted"]), kp, frames, plot, dict(n["metrics"]))
               for n, kp, frames, plot in parts]
    return combine_results(results, empty_keypoints, empty_frames)


def _stack(images: list[np.ndarray]) -> np.ndarray:
    w = max(i.shape[1] for i in images)
    padded = [np.pad(i, ((0, 0), (0, w - i.shape[1]), (0, 0)), constant_values=255) for i in images]
    return np.concatenate(padded, axis=0)


class NormalizedLabelsContent:
    """Renders normalized label maps (or copies the originals where nothing was normalized), streaming."""

    def __init__(self, result: NormalizeResult, lp: LabelConfig, label_maps: Archive):
        self.result, self.lp, self.label_maps = result, lp, label_maps

    def write_to(self, writer: ArchiveWriter) -> None:
        for v in self.result.videos:
            for t in progress(range(len(v.frames)), desc=f"normalized labels {v.video}", unit="frame", leave=False):
                key = frame_key(v.video, int(v.frames[t]))
                if v.body is None:
                    add_label(writer, key, self.label_maps.read(key))
                    continue
                body = v.body[t] if v.usable[t] else np.zeros((25, 3), np.float32)
                add_label(writer, key, render_label(body, v.size, self.lp.render,
                                                    None if v.face is None else v.face[t],
                                                    None if v.hands is None else v.hands[t]))
