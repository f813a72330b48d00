"""Red flags for a report: the signs of a model that renders no person, which whole-frame scores hide.

A generator that outputs the empty room (a "ghost") scores a whole-frame SSIM close to or above the
mean-frame baseline, and a warping error *below* the real frames' own (nothing moves, so nothing
flickers). What exposes it: poses are not detected on its frames, the person box is no better than
the mean frame, and the temporal scores beat the real video's. :func:`red_flags` names each sign.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from v2v_pipeline.metrics import registry

from .strides import stride_changes

LOW_DETECTION_RATE = 0.5
"""Below this share of frames with a detected pose on the generated frames, the person is mostly absent."""

POOR_SSIM_PERSON = 0.5
"""SSIM inside the person box below this (or not above the mean-frame baseline) is poor."""

TEMPORAL = ("warp_error", "warp_l1_255")
"""Temporal metrics that have a real-frames value to compare with (tOF compares to the real motion already)."""

LEAD = ("ssim_person", "psnr_person", "pose_distance", "pose_detection_rate")
"""The metrics that tell whether the person is rendered: the report leads with them."""


def _get(summary: Mapping[str, float], key: str, prefix: str) -> float:
    v = summary.get(f"{prefix}{key}")
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v


def red_flags(summary: Mapping[str, float], prefix: str = "eval/") -> list[str]:
    """One sentence per sign that the model does not render the person (empty when none)."""
    g = lambda k: _get(summary, k, prefix)  # noqa: E731
    flags = []
    rate, rate_real = g("pose_detection_rate"), g("pose_detection_rate_real")
    if math.isfinite(rate) and rate < LOW_DETECTION_RATE:
        real = f" (real frames {rate_real:.2f})" if math.isfinite(rate_real) else ""
        flags.append(f"pose detection rate {rate:.2f}{real}: on most generated frames no person is found; "
                     "whole-frame scores are measuring the background. Train longer (train.max_steps / max_minutes)"
                     " or check the training samples.")
    ssim_p, base_p = g("ssim_person_mean"), g("baseline_ssim_person_mean")
    poor = math.isfinite(ssim_p) and (ssim_p < POOR_SSIM_PERSON or (math.isfinite(base_p) and ssim_p <= base_p))
    if poor and math.isfinite(base_p) and ssim_p <= base_p:
        flags.append(f"SSIM in the person box {ssim_p:.3f} does not beat the mean training frame's {base_p:.3f}: "
                     "the model is no better than showing the average frame where the person is.")
    if poor:
        for name in TEMPORAL:
            model, real = g(f"{name}_mean"), g(f"{name}_real_mean")
            if math.isfinite(model) and math.isfinite(real) and model < real:
                label = registry.METRICS[name].label
                flags.append(f"{label} {model:.3g} is lower than the real frames' own {real:.3g} while SSIM in the "
                             f"person box is poor ({ssim_p:.3f}): the output is steady because nothing moves, "
                             "not because it is temporally consistent.")
    return flags


def lead_table(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with the person-box and pose rows first."""
    labels = [registry.METRICS[n].label for n in LEAD]
    order = sorted(range(len(table)), key=lambda i: (labels.index(table["metric"].iloc[i])
                                                     if table["metric"].iloc[i] in labels else len(labels), i))
    return table.iloc[order].reset_index(drop=True)


STRIDE_TOLERANCE = 0.10
"""Issue 14: on the split subsampled by 2 and 4, person-box SSIM and pose distance stay within 10 % of stride 1."""


def stride_flags(summary: Mapping[str, float], strides, tolerance: float = STRIDE_TOLERANCE,
                 prefix: str = "eval/") -> list[str]:
    """One sentence per stride and held metric (:data:`~v2v_pipeline.metrics.registry.STRIDE_HELD`) that is worse
    than stride 1 by more than ``tolerance`` (relative): the model does not hold up under larger motion."""
    flags = []
    for row in stride_changes(summary, strides, prefix):
        if row["metric"] not in registry.STRIDE_HELD or not math.isfinite(row["worse"]):
            continue
        if row["worse"] > tolerance:
            label = registry.METRICS[row["metric"]].label
            flags.append(f"stride {row['stride']}: {label} {row['value']:.3g} vs {row['stride1']:.3g} at stride 1 "
                         f"({100 * row['change']:+.1f} %, beyond the {100 * tolerance:.0f} % tolerance): the model "
                         "does not hold up when the person moves further between frames.")
    return flags
