"""Matplotlib figures of the evaluation: metrics over the test frames, training loss curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # object API: no pyplot state, no backend switch, nothing leaks

from v2v_pipeline.figures import figure_png as _figure_png

_PANELS = (  # (title, [(column, label, style)])
    ("SSIM", [("ssim", "model, frame", "-"), ("ssim_person", "model, person box", "-"),
              ("baseline_ssim", "mean frame, frame", ":"), ("baseline_ssim_person", "mean frame, person box", ":")]),
    ("PSNR (dB)", [("psnr", "model, frame", "-"), ("psnr_person", "model, person box", "-"),
                   ("baseline_psnr", "mean frame, frame", ":"), ("baseline_psnr_person", "mean frame, person box", ":")]),
    ("warping error, Lai et al. (lower = steadier)", [("warp_error", "generated", "-"),
                                                      ("warp_error_real", "real frames", ":")]),
    ("warping error L1 (0..255)", [("warp_l1_255", "generated", "-"), ("warp_l1_255_real", "real frames", ":")]),
    ("tOF (px)", [("tof", "generated vs real motion", "-")]),
    ("LPIPS", [("lpips", "model", "-")]),
    ("pose distance (px)", [("pose_distance", "generated", "-"), ("pose_distance_real", "real frames", ":")]),
)  # fmt: skip


def metrics_over_time(per_frame: pd.DataFrame) -> Figure:
    """One panel per metric family present in ``per_frame`` (x: frame number; grey lines: segment starts)."""
    panels = [(t, [c for c in cols if c[0] in per_frame and per_frame[c[0]].notna().any()]) for t, cols in _PANELS]
    panels = [(t, cols) for t, cols in panels if cols]
    fig = Figure(figsize=(9, 2.1 * len(panels) + 0.4))
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)
    x = per_frame["frame"].to_numpy()
    starts = per_frame.loc[per_frame["segment"].diff().fillna(1) != 0, "frame"].to_numpy()
    for ax, (title, cols) in zip(axes[:, 0], panels, strict=True):
        for col, label, style in cols:
            y = per_frame[col].astype(np.float64).replace([np.inf, -np.inf], np.nan)
            ax.plot(x, y, style, marker="." if len(x) < 60 else None, label=label, linewidth=1.2)
        for s in starts[1:]:
            ax.axvline(s, color="0.8", linewidth=0.8, zorder=0)
        ax.set_ylabel(title, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", ncol=2)
    axes[-1, 0].set_xlabel("target frame")
    fig.suptitle("metrics over the evaluated frames", fontsize=10)
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame | None) -> Figure:
    """Loss curves (columns with ``loss`` or a ``G_`` / ``D_`` prefix) and validation metrics against ``step``."""
    if history is None or history.empty or "step" not in history:
        fig = Figure(figsize=(9, 1.6))
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no training history stored with this model", ha="center",
                va="center", fontsize=10, color="0.4")
        ax.set_axis_off()
        return fig
    numeric = [c for c in history.columns if c != "step" and pd.api.types.is_numeric_dtype(history[c])]
    losses = [c for c in numeric if "loss" in c.lower() or c.startswith(("G_", "D_", "g_", "d_"))]
    val = [c for c in numeric if c not in losses and ("val" in c.lower() or c.startswith("eval"))]
    psnr = [c for c in val if "psnr" in c.lower()]  # dB: its own axis, or the 0..1 SSIM curves look flat
    groups = [("losses", losses), ("validation", [c for c in val if c not in psnr]), ("validation (dB)", psnr)]
    groups = [(t, cols) for t, cols in groups if cols]
    if not groups:
        groups = [("logged values", numeric[:8])]
    fig = Figure(figsize=(9, 2.8 * len(groups) + 0.4))
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False)
    step = history["step"].to_numpy()
    for ax, (title, cols) in zip(axes[:, 0], groups, strict=True):
        for col in cols:
            y = history[col].astype(np.float64)
            ok = np.isfinite(y.to_numpy())
            # markers when there are few points: a line of one point (one validation) is invisible
            ax.plot(step[ok], y[ok], label=col, linewidth=1.0, marker="o" if ok.sum() < 40 else None, markersize=3)
        ax.set_ylabel(title, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best", ncol=3)
    axes[-1, 0].set_xlabel("step")
    fig.suptitle("training", fontsize=10)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of ``fig`` at the report's resolution (:func:`v2v_pipeline.figures.figure_png`)."""
    return _figure_png(fig, dpi)
