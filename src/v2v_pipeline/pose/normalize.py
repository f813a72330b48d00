"""Global pose normalization of Everybody Dance Now (Chan et al., ICCV 2019).

A source dancer's keypoints are mapped into the target video's frame so that the body has
the size and floor position the *target* person would have at the same place in the room.

Per frame (BODY_25, pixels, confidence 0 = missing):

* ankle point: mean of the visible ankles (11 RAnkle, 14 LAnkle); a foot without a visible
  ankle falls back to its heel, else the mean of its visible toes (``foot_fallback``);
* height: distance from the nose (0), or the midpoint of the ears (17, 18) when the nose is
  missing, to the ankle point.

Per video, over the frames where both ankles and the head are visible:

* ``close`` = the largest ankle y (lowest in the image; optionally a percentile);
* ``median`` = the median ankle y;
* ``far`` = the ankle y furthest above the median but at most ``median_frac`` (EDN: 1/2) of
  ``close - median`` above it: ``far = min{y : y >= median - median_frac * (close - median)}``;
* the height at a line is the **maximum** height among frames whose ankle y lies within
  ``line_tolerance`` x (the video's median height) of that line (default 3 %, i.e. about
  12 px for a 400 px tall person; being relative to the person it needs no image size).

``scale_close`` / ``scale_far`` are target over source heights at those lines. Each source frame
gets ``p = (ankle_y - src_far) / (src_close - src_far)`` (clipped to ``p_range``); its ankle
point moves to ``y = tgt_far + p * (tgt_close - tgt_far)`` and every keypoint is scaled about it
by ``scale_far + p * (scale_close - scale_far)``. Horizontally the ankle is re-centred on the
target's mean ankle x, with the offset from the source's mean x scaled like the body
(``x_mode="recenter"``, the default: source and target frames need not share a width), or keeps
its x (``"keep"``, EDN's choice for two videos of the same room). With ``inside_picture`` (default)
and the target's content box (the picture without letterbox borders, from the geometry ingest
recorded), each frame's body is then shifted, never scaled, just enough to lie inside that box.
Finally a centred temporal median (``median_window``, EDN: 7 frames) smooths the normalized
keypoints; a per-coordinate median of points inside a box stays inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from matplotlib.figure import Figure

from v2v_pipeline.labels.skeleton import BODY_25_INDEX as _J

NOSE, R_ANKLE, L_ANKLE, R_EAR, L_EAR = (_J[n] for n in ("Nose", "RAnkle", "LAnkle", "REar", "LEar"))
R_FOOT = tuple(_J[n] for n in ("RHeel", "RBigToe", "RSmallToe"))  # heel first: closest to the ankle
L_FOOT = tuple(_J[n] for n in ("LHeel", "LBigToe", "LSmallToe"))


@dataclass(frozen=True)
class PoseNormConfig:
    """Parameters of :func:`normalize_poses` (defaults follow EDN).

    Attributes:
        median_frac: the far line lies at most this fraction of ``close - median`` above the
            median (EDN 0.5; its code suggests 0.7 for videos with much back/forth motion).
        line_tolerance: frames whose ankle y is within this fraction of the video's median
            body height of a line count as "near" it for the maximum-height statistic.
        close_percentile: ``None`` takes the maximum ankle y as the close line (EDN); a value
            such as 99 makes it robust to a few mis-detected feet.
        p_range: clip of the interpolation position ``p`` (0 = far line, 1 = close line);
            within it the map is extrapolated linearly (exact for a flat floor and a pinhole
            camera), beyond it held, guarding against wild foot detections.
        x_mode: ``"recenter"`` on the target's mean ankle x (default), or ``"keep"`` the source ankle x.
        inside_picture: shift each frame's body into the target's content box when it is given.
        median_window: odd temporal median window on the output (1 = off).
        min_frames: fewer usable frames (both ankles and a head visible) per video is an error.
        min_confidence: a keypoint is visible when its confidence is above this.
        foot_fallback: place frames whose ankle is missing by that foot's heel/toes.
    """

    median_frac: float = 0.5
    line_tolerance: float = 0.03
    close_percentile: float | None = None
    p_range: tuple[float, float] = (-0.5, 1.5)
    x_mode: Literal["keep", "recenter"] = "recenter"
    inside_picture: bool = True
    median_window: int = 7
    min_frames: int = 10
    min_confidence: float = 0.0
    foot_fallback: bool = True

    def __post_init__(self) -> None:
        if self.x_mode not in ("keep", "recenter"):
            raise ValueError(f"x_mode must be 'keep' or 'recenter', got {self.x_mode!r}")
        if self.median_window < 1 or self.median_window % 2 == 0:
            raise ValueError(f"median_window must be a positive odd number, got {self.median_window}")
        if not 0 < self.median_frac <= 1:
            raise ValueError(f"median_frac must be in (0, 1], got {self.median_frac}")
        if self.close_percentile is not None and not 50 < self.close_percentile <= 100:
            raise ValueError(f"close_percentile must be in (50, 100] or None, got {self.close_percentile}")
        if self.p_range[0] >= self.p_range[1]:
            raise ValueError(f"p_range must be (low, high) with low < high, got {self.p_range}")


@dataclass(frozen=True)
class VideoLines:
    """Ankle-line statistics of one video (pixels of that video)."""

    close: float
    median: float
    far: float
    height_close: float
    height_far: float
    mean_x: float
    frames_used: int


@dataclass(frozen=True)
class PoseNormParams:
    """Fitted normalization (for logging: ``params.to_dict()``)."""

    source: VideoLines
    target: VideoLines
    scale_close: float
    scale_far: float

    def to_dict(self) -> dict[str, float]:
        out: dict[str, float] = {"scale_close": self.scale_close, "scale_far": self.scale_far}
        for prefix, lines in (("src", self.source), ("tgt", self.target)):
            out.update({f"{prefix}_{k}": float(v) for k, v in asdict(lines).items()})
        return out


@dataclass(frozen=True)
class FrameMeasures:
    """Per-frame measurements; NaN where not found."""

    ankle: np.ndarray  # (N, 2) mean foot point
    height: np.ndarray  # (N,) head-to-ankle distance
    usable: np.ndarray  # (N,) bool: both ankles and the head found


@dataclass(frozen=True)
class PoseNormResult:
    """Output of :func:`normalize_poses`."""

    keypoints: np.ndarray  # (N, J, 3) normalized (and median-filtered) source keypoints
    extra: list[np.ndarray]  # the same transform applied to face / hand keypoints
    params: PoseNormParams
    p: np.ndarray  # (N,) interpolation position per source frame (clipped)
    scale: np.ndarray  # (N,) scale per source frame


def _check_keypoints(kp: np.ndarray, name: str) -> np.ndarray:
    kp = np.asarray(kp, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1] < 25 or kp.shape[2] != 3:
        raise ValueError(f"{name} keypoints must be (N, 25, 3) BODY_25 x, y, conf; got {kp.shape}")
    return kp


def _mean_visible(kp: np.ndarray, joints: Sequence[int], thr: float) -> np.ndarray:
    """Mean (N, 2) of the visible joints among ``joints``; NaN when none is visible."""
    vis = kp[:, joints, 2] > thr
    count = vis.sum(axis=1)
    total = np.where(vis[..., None], kp[:, joints, :2], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count[:, None] > 0, total / count[:, None], np.nan)


def measure_frames(keypoints: np.ndarray, min_confidence: float = 0.0, foot_fallback: bool = True) -> FrameMeasures:
    """Ankle point, height and usability of each frame of a ``(N, 25, 3)`` sequence.

    ``usable`` frames have both ankles and a head (nose, or both ears) visible; only they
    enter the per-video statistics. With ``foot_fallback`` a foot whose ankle is missing is
    located by its heel, else its toes (about 2 % of the height lower), which only serves to
    place frames.
    """
    kp = _check_keypoints(keypoints, "input")
    feet, ankles_seen = [], []
    for ankle, foot in ((R_ANKLE, R_FOOT), (L_ANKLE, L_FOOT)):
        point = _mean_visible(kp, [ankle], min_confidence)
        ankles_seen.append(~np.isnan(point[:, 0]))
        if foot_fallback:  # the heel sits closest to the ankle, then the toes
            for joints in (foot[:1], foot[1:]):
                point = np.where(np.isnan(point), _mean_visible(kp, joints, min_confidence), point)
        feet.append(point)
    found = np.stack([~np.isnan(f[:, 0]) for f in feet])  # 2, N
    with np.errstate(invalid="ignore", divide="ignore"):
        ankle = np.nan_to_num(np.stack(feet)).sum(axis=0) / found.sum(axis=0)[:, None]
    nose = _mean_visible(kp, [NOSE], min_confidence)
    ears = kp[:, [R_EAR, L_EAR], 2] > min_confidence
    ear_mid = np.where(ears.all(axis=1)[:, None], kp[:, [R_EAR, L_EAR], :2].mean(axis=1), np.nan)
    head = np.where(np.isnan(nose), ear_mid, nose)
    height = np.linalg.norm(head - ankle, axis=1)
    usable = ankles_seen[0] & ankles_seen[1] & ~np.isnan(height)
    return FrameMeasures(ankle=ankle, height=height, usable=usable)


def far_line(ankle_y: np.ndarray, close: float, median: float, median_frac: float = 0.5) -> float:
    """The ankle y furthest above ``median`` but at most ``median_frac * (close - median)`` above it."""
    lowest_allowed = median - median_frac * (close - median)
    return float(ankle_y[ankle_y >= lowest_allowed].min())


def fit_video_lines(
    keypoints: np.ndarray, config: PoseNormConfig = PoseNormConfig(), name: str = "video"
) -> VideoLines:
    """Close/median/far ankle lines and the maximum heights near close and far of one video."""
    m = measure_frames(keypoints, config.min_confidence, config.foot_fallback)
    n = int(m.usable.sum())
    if n < config.min_frames:
        raise ValueError(
            f"{name}: only {n} of {len(m.usable)} frames have both ankles and a head (nose or "
            f"both ears) visible; pose normalization needs at least {config.min_frames}. Check the pose "
            "detections (is the whole body in the frame?) or lower min_frames."
        )
    y = m.ankle[m.usable, 1]
    h = m.height[m.usable]
    median = float(np.median(y))
    close = float(np.max(y) if config.close_percentile is None else np.percentile(y, config.close_percentile))
    far = far_line(y, close, median, config.median_frac)
    tol = config.line_tolerance * float(np.median(h))

    def max_height_near(line: float, which: str) -> float:
        near = np.abs(y - line) <= tol
        if not near.any():
            raise ValueError(
                f"{name}: no frame has its ankles within {tol:.1f} px of the {which} line "
                f"(y = {line:.1f}); raise line_tolerance"
            )
        return float(h[near].max())

    return VideoLines(
        close=close,
        median=median,
        far=far,
        height_close=max_height_near(close, "close"),
        height_far=max_height_near(far, "far"),
        mean_x=float(m.ankle[m.usable, 0].mean()),
        frames_used=n,
    )


def fit_pose_normalization(
    source: np.ndarray, target: np.ndarray, config: PoseNormConfig = PoseNormConfig()
) -> PoseNormParams:
    """Fit the EDN source -> target normalization from two ``(N, 25, 3)`` sequences."""
    src = fit_video_lines(source, config, "source")
    tgt = fit_video_lines(target, config, "target")
    return PoseNormParams(
        source=src,
        target=tgt,
        scale_close=tgt.height_close / src.height_close,
        scale_far=tgt.height_far / src.height_far,
    )


def frame_transforms(
    source: np.ndarray, params: PoseNormParams, config: PoseNormConfig = PoseNormConfig(),
    box: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame ``(p, scale, anchor, destination)``: keypoints map as
    ``destination + scale * (xy - anchor)``; anchor = source ankle point ``(N, 2)``.

    Frames without any foot take the anchor linearly interpolated from the nearest frames
    that have one (held at the ends). A source that never changes depth (``close == far``)
    is placed on the target's close line (``p = 1``). With ``box`` (x0, y0, x1, y1) and
    ``config.inside_picture`` the destination is shifted so every visible body joint lies in the box.
    """
    m = measure_frames(source, config.min_confidence, config.foot_fallback)
    found = ~np.isnan(m.ankle[:, 0])
    if not found.any():
        raise ValueError("source: no frame has a visible foot; nothing to normalize")
    t = np.arange(len(found))
    anchor = np.stack([np.interp(t, t[found], m.ankle[found, k]) for k in (0, 1)], axis=1)
    src, tgt = params.source, params.target
    span = src.close - src.far
    p = (anchor[:, 1] - src.far) / span if span > 1e-6 else np.ones(len(t))
    p = np.clip(p, *config.p_range)
    scale = params.scale_far + p * (params.scale_close - params.scale_far)
    dest_y = tgt.far + p * (tgt.close - tgt.far)
    if config.x_mode == "keep":
        dest_x = anchor[:, 0]
    else:
        dest_x = tgt.mean_x + scale * (anchor[:, 0] - src.mean_x)
    dest = np.stack([dest_x, dest_y], axis=1)
    if box is not None and config.inside_picture:
        dest = keep_inside(source, scale, anchor, dest, box, config.min_confidence)
    return p, scale, anchor, dest


def keep_inside(keypoints: np.ndarray, scale: np.ndarray, anchor: np.ndarray, destination: np.ndarray,
                box: tuple[float, float, float, float], thr: float = 0.0) -> np.ndarray:
    """Shift each frame's ``destination`` so its visible joints, mapped by ``destination + scale * (xy -
    anchor)``, lie in ``box`` = (x0, y0, x1, y1) (exclusive right/bottom edges: the last pixel is x1 - 1).
    A body larger than the box is centred on it."""
    kp = np.asarray(keypoints, dtype=np.float64)
    rel = scale[:, None, None] * (kp[..., :2] - anchor[:, None])  # N, J, 2 offsets from the destination
    vis = kp[..., 2] > thr
    any_vis = vis.any(axis=1)
    out = destination.copy()
    for axis, (lo, hi) in enumerate(((box[0], box[2] - 1), (box[1], box[3] - 1))):
        rmin = np.where(any_vis, np.where(vis, rel[..., axis], np.inf).min(axis=1), 0.0)
        rmax = np.where(any_vis, np.where(vis, rel[..., axis], -np.inf).max(axis=1), 0.0)
        low, high = lo - rmin, hi - rmax  # the allowed range of the destination
        out[:, axis] = np.where(low <= high, np.clip(out[:, axis], low, np.maximum(low, high)),
                                (lo + hi) / 2 - (rmin + rmax) / 2)
    return out


def transform_keypoints(
    keypoints: np.ndarray, scale: np.ndarray, anchor: np.ndarray, destination: np.ndarray, thr: float = 0.0
) -> np.ndarray:
    """Apply ``destination + scale * (xy - anchor)`` per frame to visible ``(N, J, 3)`` keypoints;
    missing ones (confidence <= ``thr``) are returned unchanged."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[2] != 3 or len(kp) != len(scale):
        raise ValueError(f"keypoints must be (N={len(scale)}, J, 3), got {kp.shape}")
    moved = destination[:, None] + scale[:, None, None] * (kp[..., :2] - anchor[:, None])
    out = kp.copy()
    vis = kp[..., 2] > thr
    out[..., :2] = np.where(vis[..., None], moved, kp[..., :2])
    return out


def temporal_median(keypoints: np.ndarray, window: int = 7, thr: float = 0.0) -> np.ndarray:
    """Centred temporal median of each visible joint over ``window`` frames.

    Missing entries (confidence <= ``thr``) are ignored inside the window and stay missing
    (unchanged) in the output. Near the sequence ends the window shrinks symmetrically
    (frame 0 is kept, frame 1 uses frames 0-2, ...), so linear motion is not biased.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"median window must be a positive odd number, got {window}")
    kp = np.asarray(keypoints, dtype=np.float64)
    out = kp.copy()
    n, half = len(kp), window // 2
    if half == 0 or n == 0:
        return out
    vis = kp[..., 2] > thr
    xy = np.where(vis[..., None], kp[..., :2], np.nan)
    padded = np.pad(xy, ((half, half), (0, 0), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0).copy()  # N, J, 2, W
    for t in [*range(min(half, n)), *range(max(n - half, half), n)]:  # shrink the end windows
        r = min(t, n - 1 - t)
        windows[t, ..., : half - r] = np.nan
        windows[t, ..., half + r + 1 :] = np.nan
    windows[~vis] = 0.0  # outputs there are discarded; avoids all-NaN warnings
    out[..., :2] = np.where(vis[..., None], np.nanmedian(windows, axis=-1), kp[..., :2])
    return out


def normalize_poses(
    source: np.ndarray,
    target: np.ndarray,
    config: PoseNormConfig = PoseNormConfig(),
    extra: Sequence[np.ndarray] = (),
    target_box: tuple[float, float, float, float] | None = None,
) -> PoseNormResult:
    """EDN global pose normalization of ``source`` into ``target``'s frame.

    Args:
        source, target: ``(N, 25, 3)`` and ``(M, 25, 3)`` BODY_25 keypoints in the pixels of
            their own videos (confidence 0 = missing).
        config: see :class:`PoseNormConfig`.
        extra: other ``(N, J, 3)`` source keypoints (face, hands) that follow the body's
            transform and median filter.
        target_box: the target's picture (x0, y0, x1, y1) in its stored frame (the content box of
            :class:`~v2v_pipeline.video.geometry.VideoGeometry`); the body is kept inside it.

    Returns:
        :class:`PoseNormResult` with normalized keypoints in target pixels, the transformed
        ``extra`` arrays, the fitted :class:`PoseNormParams` and per-frame ``p`` and scale.
    """
    source = _check_keypoints(source, "source")
    params = fit_pose_normalization(source, _check_keypoints(target, "target"), config)
    p, scale, anchor, dest = frame_transforms(source, params, config, target_box)
    thr = config.min_confidence

    def run(kp: np.ndarray) -> np.ndarray:
        return temporal_median(transform_keypoints(kp, scale, anchor, dest, thr), config.median_window, thr)

    return PoseNormResult(run(source), [run(np.asarray(e)) for e in extra], params, p, scale)


def plot_ankle_distributions(
    source: np.ndarray,
    target: np.ndarray,
    normalized: np.ndarray,
    params: PoseNormParams | None = None,
    min_confidence: float = 0.0,
) -> Figure:
    """Diagnostic figure: ankle y per frame, ankle-y histograms, and height against ankle y
    for source, target and normalized source (normalized should overlay target)."""
    series = {
        "source": measure_frames(source, min_confidence),
        "target": measure_frames(target, min_confidence),
        "normalized": measure_frames(normalized, min_confidence),
    }
    colors = {"source": "tab:blue", "target": "tab:orange", "normalized": "tab:green"}
    fig = Figure(figsize=(13, 4), layout="constrained")
    ax_t, ax_h, ax_s = fig.subplots(1, 3)
    for name, m in series.items():
        y = m.ankle[:, 1]
        ax_t.plot(np.arange(len(y)), y, lw=0.8, color=colors[name], label=name)
        ok = ~np.isnan(y)
        if ok.any():
            ax_h.hist(y[ok], bins=40, alpha=0.5, color=colors[name], label=name)
        ax_s.scatter(y[m.usable], m.height[m.usable], s=4, color=colors[name], label=name)
    if params is not None:
        for name, lines in (("source", params.source), ("target", params.target)):
            for line, style in ((lines.close, "-"), (lines.far, "--")):
                for ax in (ax_h, ax_s):
                    ax.axvline(line, color=colors[name], ls=style, lw=1)
        fig.suptitle(
            f"scale close {params.scale_close:.3f}, far {params.scale_far:.3f} (solid: close line, dashed: far line)"
        )
    ax_t.set(xlabel="frame", ylabel="ankle y (px)", title="ankle y per frame")
    ax_t.invert_yaxis()
    ax_h.set(xlabel="ankle y (px)", ylabel="frames", title="ankle y distribution")
    ax_s.set(xlabel="ankle y (px)", ylabel="height (px)", title="height vs ankle y")
    for ax in (ax_t, ax_h, ax_s):
        ax.legend(fontsize=8)
    return fig
