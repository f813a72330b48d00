"""The worst frames of an evaluation: where the model fails, so the report shows failures, not only averages.

:func:`worst_frames` ranks the per-frame table by a per-frame metric of the registry (default
``ssim_person``: the lowest SSIM inside the person box = the largest person-box error) and keeps
the ``n`` worst; frames where that metric is undefined (no person box) are returned apart, never
dropped silently. :func:`gallery_strips` renders the selection as label | generated | real strips
with the frame number and its metric values. Pure pandas / numpy: no Kedro, testable on a
synthetic table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from v2v_pipeline.metrics import registry

from .compose import side_by_side
from .evaluation import DatasetReader

SHOWN = ("ssim_person", "psnr_person", "pose_distance", "ssim")
"""Metric values written under each gallery frame (those present in the table), after the ranked one."""


@dataclass
class WorstFrames:
    """The ``n`` worst frames by ``metric`` (worst first) and the frames where it is undefined."""

    metric: str
    worst: pd.DataFrame  # rows of the per-frame table, worst first
    undefined: pd.DataFrame  # rows where the metric is NaN (for ssim_person: no person box)
    title: str = ""  # e.g. "stride 2"
    strips: list[tuple[int, str, np.ndarray]] = field(default_factory=list)  # (frame, caption, image)

    @property
    def label(self) -> str:
        return registry.METRICS[self.metric].label

    @property
    def undefined_reason(self) -> str:
        return "no person box" if self.metric.endswith("_person") else f"{self.metric} undefined"


def worst_frames(per_frame: pd.DataFrame, n: int = 6, metric: str = "ssim_person") -> WorstFrames:
    """The ``n`` frames of ``per_frame`` with the worst ``metric`` (registry direction; ties: lower frame first)."""
    info = registry.METRICS.get(metric)
    if info is None or not info.per_frame:
        raise ValueError(f"worst_frames: {metric!r} is not a per-frame metric of the registry")
    if metric not in per_frame.columns:
        empty = per_frame.iloc[0:0]
        return WorstFrames(metric, empty, empty)
    values = pd.to_numeric(per_frame[metric], errors="coerce").astype(np.float64)
    defined = values.notna()
    ranked = per_frame[defined].assign(_v=values[defined])
    ranked = ranked.sort_values(["_v", "frame"], ascending=[info.higher_is_better, True], kind="stable")
    worst = ranked.head(max(0, int(n))).drop(columns="_v")
    return WorstFrames(metric, worst.reset_index(drop=True), per_frame[~defined].reset_index(drop=True))


def _fmt(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def caption(row: pd.Series, metric: str) -> str:
    """``frame 37: SSIM (person box) 0.412, PSNR dB (person box) 15.31, ...`` (the ranked metric first)."""
    names = [metric, *(m for m in SHOWN if m != metric)]
    parts = [f"{registry.METRICS[m].label} {_fmt(float(row[m]))}" for m in names if m in row.index]
    return f"frame {int(row['frame'])}: " + ", ".join(parts)


def gallery_strips(selection: WorstFrames, generated: Callable[[int], np.ndarray], data: DatasetReader) -> WorstFrames:
    """``selection`` with its strips (label | generated | real, at the real frame's height) filled in."""
    selection.strips = []
    for _, row in selection.worst.iterrows():
        f = int(row["frame"])
        real = data.image(f)
        strip = side_by_side([data.label(f), generated(f), real], real.shape[0], ["label", "generated", "real"])
        selection.strips.append((f, caption(row, selection.metric), strip))
    return selection
