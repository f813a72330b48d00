"""Fast motion: the evaluated split subsampled by a stride, so consecutive frames are further apart.

With stride ``k`` every segment of consecutive test frames keeps every k-th frame
(``seg[::k]``); a pair is then frames ``t - k`` and ``t``, i.e. k times the motion of the
ordinary evaluation. What that means per model family:

* a temporal model (EDN, vid2vid) is run again on the subsampled label sequence, so its
  previous-frame input is the frame ``k`` back: that is the point (does it hold up when the
  person moves further between its inputs?). Those frames are generated once, with the
  stride-1 frames, into the same archive (members ``output/stride<k>/<frame>``, see
  :func:`stride_key`);
* pix2pixHD has no temporal state: its frames are the stride-1 frames, so the per-frame
  metrics (SSIM, PSNR, pose distance) are taken from the stride-1 table and only the pair
  metrics (warping error, tOF) are computed on the new pairs.

The warping error of a pair ``t - k, t`` uses the dataset's one-step flows chained over the k
steps (:meth:`~v2v_pipeline.report.evaluation.DatasetReader.backward`); the real frames'
value (``warp_error_real``) is reported next to it because chained flows are less exact.
Summary keys: ``eval/stride<k>/<metric>_mean`` (:func:`v2v_pipeline.metrics.registry.stride_prefix`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from v2v_pipeline.metrics import registry
from v2v_pipeline.metrics.engine import ImageQuality, Metric, Pose, Tof, Warping

from .evaluation import DatasetReader, MetricModels, evaluate_segments

REUSED_COLUMNS = ("ssim", "psnr", "ssim_person", "psnr_person", "ssim_face", "psnr_face", "pose_distance",
                  "pose_joints", "pose_distance_real", "pose_distance_face")
"""Per-frame columns of a stateless model (pix2pixHD) that do not depend on the stride."""


def stride_segments(segments: Sequence[np.ndarray], stride: int) -> list[np.ndarray]:
    """Every ``stride``-th frame of each segment (segments stay apart: a temporal model restarts at each)."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return [np.asarray(s)[::stride] for s in segments]


def stride_key(stride: int, frame: int) -> str:
    """The archive key (under ``output/``) of a frame regenerated at ``stride`` (stride 1: the plain key)."""
    return f"{int(frame):06d}" if stride == 1 else f"stride{int(stride)}/{int(frame):06d}"


def extra_strides(strides: Sequence[int]) -> list[int]:
    """The strides other than 1, sorted, without repeats."""
    return sorted({int(s) for s in strides} - {1})


def evaluate_stride(stride: int, segments: Sequence[np.ndarray], generated: Callable[[int], np.ndarray],
                    data: DatasetReader, frames: pd.DataFrame, *, regenerated: bool, base: pd.DataFrame,
                    models: MetricModels | None = None, reference: Mapping[int, np.ndarray] | None = None,
                    box_scale: tuple[float, float] = (1.0, 1.0)) -> pd.DataFrame:
    """The per-frame table of the split subsampled by ``stride`` (column ``stride`` first).

    ``segments`` are the stride-1 segments; ``generated(frame)`` the frames of this stride (the
    regenerated ones when ``regenerated``, else the stride-1 frames). With ``regenerated`` the image,
    temporal and pose metrics are computed afresh (no baseline, LPIPS or FID: they are not in the
    stride rows); otherwise only the pair metrics, and the other columns come from ``base`` (the
    stride-1 table).
    """
    models = models or MetricModels()
    segs = stride_segments(segments, stride)
    metrics: list[Metric] = [Warping(real_floor=True), Tof()]
    use_pose = regenerated and models.pose is not None and reference is not None
    if regenerated:
        metrics.insert(0, ImageQuality())
        if use_pose:
            metrics.append(Pose(models.pose, models.pose_min_confidence, models.pose_real_reference))
    result = evaluate_segments(segs, generated, data, frames, models=models, reference=reference if use_pose else None,
                               box_scale=box_scale, metrics=metrics)
    table = result.per_frame
    if not regenerated:
        reused = [c for c in REUSED_COLUMNS if c in base.columns]
        table = table.merge(base[["frame", *reused]], on="frame", how="left")
    table.insert(0, "stride", int(stride))
    return table


def stride_summary(tables: pd.DataFrame, prefix: str = "eval/") -> dict[str, float]:
    """``<prefix>stride<k>/<metric>_mean`` (and ``..._real_mean``, ``frames``) for each stride in ``tables``."""
    out: dict[str, float] = {}
    if tables is None or tables.empty:
        return out
    for stride, df in tables.groupby("stride", sort=True):
        p = registry.stride_prefix(int(stride), prefix)
        out[f"{p}frames"] = float(len(df))
        for name in registry.STRIDE_METRICS:
            for col in (name, f"{name}_real"):
                if col in df:
                    v = df[col].astype(np.float64).to_numpy()
                    v = v[np.isfinite(v)]
                    out[f"{p}{col}_mean"] = float(v.mean()) if v.size else math.nan
    return out


def relative_change(value: float, reference: float) -> float:
    """``(value - reference) / |reference|`` (NaN when either is missing or the reference is 0)."""
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0:
        return math.nan
    return (value - reference) / abs(reference)


def _value(summary: Mapping[str, float], key: str) -> float:
    try:
        return float(summary.get(key, math.nan))
    except (TypeError, ValueError):
        return math.nan


def stride_changes(summary: Mapping[str, float], strides: Sequence[int],
                   prefix: str = "eval/") -> list[dict[str, float]]:
    """Per stride > 1 and metric of :data:`~v2v_pipeline.metrics.registry.STRIDE_METRICS`: the value, stride 1's
    and the relative change; ``worse`` is the change in the metric's bad direction (positive = worse)."""
    rows = []
    for stride in extra_strides(strides):
        for name in registry.STRIDE_METRICS:
            ref = _value(summary, f"{prefix}{name}_mean")
            val = _value(summary, f"{registry.stride_prefix(stride, prefix)}{name}_mean")
            change = relative_change(val, ref)
            worse = -change if registry.METRICS[name].higher_is_better else change
            rows.append({"stride": stride, "metric": name, "value": val, "stride1": ref, "change": change,
                         "worse": worse})
    return rows


def stride_table(summary: Mapping[str, float], strides: Sequence[int], prefix: str = "eval/") -> pd.DataFrame:
    """The report's table: one row per stride (1 first) with each stride metric and its change against stride 1."""
    changes = {(r["stride"], r["metric"]): r["change"] for r in stride_changes(summary, strides, prefix)}
    rows = []
    for stride in [1, *extra_strides(strides)]:
        p = registry.stride_prefix(stride, prefix)
        row: dict[str, object] = {"stride": stride, "frames": _value(summary, f"{p}frames")}
        for name in registry.STRIDE_METRICS:
            label = registry.METRICS[name].label
            row[label] = _value(summary, f"{p}{name}_mean")
            change = changes.get((stride, name), math.nan) if stride != 1 else math.nan
            row[f"{label} change"] = "" if stride == 1 else (f"{100 * change:+.1f} %" if math.isfinite(change)
                                                             else "n/a")
        row["warp error, real frames"] = _value(summary, f"{p}warp_error_real_mean")
        rows.append(row)
    return pd.DataFrame(rows)
