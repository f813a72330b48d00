"""The evaluation report: summary table (model vs. baseline vs. real-frame floor), plots, samples, videos."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from v2v_pipeline.metrics import registry

from .compose import error_map, side_by_side
from .evaluation import DatasetReader, comparison_table
from .gallery import WorstFrames
from .html import HtmlReport
from .verdict import red_flags, lead_table


def _native_width(path: Path | None) -> int | None:
    """A video's frame width (for integer-factor enlargement), None when it cannot be probed."""
    if path is None:
        return None
    try:
        import av

        with av.open(str(path)) as container:
            return int(container.streams.video[0].codec_context.width)
    except Exception:  # noqa: BLE001 - a missing or odd file: the report shows it at the default width
        return None


@dataclass
class StrideRows:
    """The fast-motion section: per-stride rows (with changes against stride 1) and their red flags."""

    table: pd.DataFrame
    flags: list[str] = field(default_factory=list)
    tolerance: float = 0.10


@dataclass
class TransferInfo:
    """What the report shows about the newest transfer run (when there is one)."""

    video: Path | None = None
    side_by_side: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def sample_strips(frames: Sequence[int], generated: Callable[[int], np.ndarray], data: DatasetReader,
                  n: int = 4) -> list[tuple[int, np.ndarray]]:
    """``label | generated | real | error`` strips for ``n`` evenly spaced ``frames``."""
    frames = list(frames)
    if n <= 0 or not frames:
        return []
    pick = [frames[i] for i in np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))]
    out = []
    for f in pick:
        gen, real = generated(int(f)), data.image(int(f))
        strip = side_by_side([data.label(int(f)), gen, real, error_map(gen, real)], real.shape[0],
                             captions=["label", "generated", "real", "|error| x4"])
        out.append((int(f), strip))
    return out


def _fast_motion(report: HtmlReport, strides: StrideRows) -> None:
    report.heading("Fast motion: the split subsampled by a stride")
    report.text("Stride k keeps every k-th frame of each test segment, so consecutive frames are k times further "
                "apart: a temporal model is run again on those labels (its previous-frame input is the frame k back), "
                "pix2pixHD's frames are the stride-1 frames (no temporal state; only the pair metrics change). The "
                "warping error uses the stored flows chained over k steps (see the real frames' own value). "
                f"Person-box SSIM and pose distance should stay within {100 * strides.tolerance:.0f} % of stride 1; "
                "tOF and the warping error grow with the motion by construction.")
    report.flags(strides.flags)
    report.table(strides.table)


def _worst_frames(report: HtmlReport, gallery: WorstFrames) -> None:
    which = "lowest" if registry.METRICS[gallery.metric].higher_is_better else "highest"
    report.heading(f"Worst frames{f' ({gallery.title})' if gallery.title else ''}: {which} {gallery.label}")
    if gallery.worst.empty:
        report.text(f"No frame has a value of {gallery.label} to rank.")
    else:
        why = ": the largest person-box error" if gallery.metric.endswith("_person") else ""
        report.text(f"The {len(gallery.worst)} frames with the worst {gallery.label}{why}; worst first, "
                    "label | generated | real.")
    for frame, caption, strip in gallery.strips:
        report.image(strip, caption, strip.shape[1] * max(1, 720 // strip.shape[1]))
    n = len(gallery.undefined)
    if n:
        listed = ", ".join(str(int(f)) for f in gallery.undefined["frame"].head(50))
        more = f" and {n - 50} more" if n > 50 else ""
        report.text(f"Not ranked, {gallery.undefined_reason} ({n} frame{'s' if n > 1 else ''}): {listed}{more}.")
    else:
        report.text(f"Every evaluated frame has a value of {gallery.label} (none with {gallery.undefined_reason}).")


def build_report(
    title: str,
    *,
    summary: Mapping[str, float],
    per_frame: pd.DataFrame,
    notes: Sequence[str] = (),
    model: Mapping[str, Any] | None = None,
    split: str = "test",
    samples: Sequence[tuple[int, np.ndarray]] = (),
    metrics_figure: Figure | None = None,
    training_figure: Figure | None = None,
    evaluation_video: Path | None = None,
    transfer: TransferInfo | None = None,
    worst: Sequence[WorstFrames] = (),
    strides: StrideRows | None = None,
) -> HtmlReport:
    """Assemble the report; nothing is written until :meth:`HtmlReport.write`."""
    n, segs = len(per_frame), int(per_frame["segment"].nunique()) if len(per_frame) else 0
    family = (model or {}).get("family", "?")
    report = HtmlReport(title, f"{family} model, self-reconstruction of {n} held-out '{split}' frames "
                               f"in {segs} segment(s)")
    report.heading("Summary")
    flags = red_flags(summary)
    if flags:
        report.flags(["This model does not render the person convincingly:", *flags])
    if strides is not None and strides.flags:
        report.flags(["Fast motion does not hold up (section \"Fast motion\" below):", *strides.flags])
    report.text("Person first: SSIM / PSNR in the person box, pose distance and pose detection rate say whether the "
                "person is rendered; whole-frame scores are dominated by the (static) background. "
                "Model: the generated frames. Baseline: the mean training frame used as the output for every "
                "frame (any useful model must beat it). Real frames (floor): the same temporal / pose measure on the "
                "real frames, i.e. what flow errors or the pose labeler alone give.")
    report.table(lead_table(comparison_table(summary)))
    report.notes(list(notes))
    if model:
        report.facts({"model": model.get("path") or model.get("spec"), "family": family,
                      "training step": model.get("step"), "size (w x h)": " x ".join(map(str, model.get("size", []))),
                      "face GAN": model.get("face_generator"), "dataset sha256": model.get("dataset_sha256")})
    if metrics_figure is not None:
        report.heading("Metrics over time")
        report.image(metrics_figure)
    if samples:
        report.heading("Sample frames")
        for frame, strip in samples:  # small frames are shown enlarged (integer factor), large ones fit the page
            report.image(strip, f"target frame {frame}", strip.shape[1] * max(1, 720 // strip.shape[1]))
    if strides is not None:
        _fast_motion(report, strides)
    for gallery in worst:
        _worst_frames(report, gallery)
    if evaluation_video is not None:
        report.heading("Held-out frames: label | generated | real")
        report.video(evaluation_video, f"{split} split", _native_width(evaluation_video))
    if training_figure is not None:
        report.heading("Training")
        report.image(training_figure)
    report.heading("Motion transfer")
    if transfer is None or (transfer.video is None and transfer.side_by_side is None):
        report.text("No transfer video yet: run `make run ARGS=\"--pipelines=transfer\"`.")
    else:
        meta = transfer.meta
        report.facts({"source": meta.get("source"), "frames": meta.get("frames"), "video fps": meta.get("fps"),
                      "model": (meta.get("model") or {}).get("path") or (meta.get("model") or {}).get("spec")})
        if transfer.side_by_side is not None:
            report.video(transfer.side_by_side, "source | label | output", _native_width(transfer.side_by_side))
        if transfer.video is not None:
            report.video(transfer.video, "output", _native_width(transfer.video))
    report.heading("Per-frame metrics")
    report.text("First rows of the per-frame table (the full table is the evaluation_per_frame parquet):")
    report.table(per_frame.head(12))
    return report
