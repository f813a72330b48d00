"""The one registry of metrics: name, direction, unit and label, used everywhere metrics are named.

``evaluate`` (per-frame columns and ``eval/*`` summaries), the trainer's validation
(``val_*``), the report's comparison table and plots, the training curves and ``v2v-runs``
(which metrics to list, which direction is "best") all read :data:`METRICS`. Logged names
are decorated stems: :func:`stem` strips the decorations (``metrics.``, ``eval/``, ``val_``,
``baseline_``, ``_real``, ``_mean`` ...) so ``eval/baseline_ssim_person_mean`` is an ``ssim_person``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricInfo:
    """One metric."""

    name: str
    higher_is_better: bool
    unit: str  # "" when unitless
    label: str  # for tables and plots
    per_frame: bool = True  # a column of the per-frame table (else one value for the whole set)
    key: bool = False  # shown by default in ``v2v-runs list`` (as ``eval/<name>[_mean]``)
    in_table: bool = True  # a row of the report's comparison table
    definition: str = ""

    @property
    def mode(self) -> Literal["max", "min"]:
        return "max" if self.higher_is_better else "min"

    @property
    def better(self) -> str:
        return "higher" if self.higher_is_better else "lower"

    @property
    def summary_key(self) -> str:
        """The summary entry of this metric without prefix: ``<name>_mean`` for per-frame metrics."""
        return f"{self.name}_mean" if self.per_frame else self.name


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("ssim", True, "", "SSIM (whole frame)", key=True,
               definition="Gaussian-window SSIM (sigma 1.5, 11x11), channel mean"),
    MetricInfo("ssim_person", True, "", "SSIM (person box)", key=True,
               definition="SSIM inside the person box (SSIM map averaged over the box)"),
    MetricInfo("psnr", True, "dB", "PSNR dB (whole frame)", key=True, definition="10 log10(255^2 / MSE)"),
    MetricInfo("psnr_person", True, "dB", "PSNR dB (person box)", definition="PSNR of the person-box crops"),
    MetricInfo("ssim_face", True, "", "SSIM (face box)",
               definition="SSIM inside the face box (the EDN face GAN's region; frames with a face box)"),
    MetricInfo("psnr_face", True, "dB", "PSNR dB (face box)", definition="PSNR of the face-box crops"),
    MetricInfo("lpips", False, "", "LPIPS", key=True, definition="LPIPS v0.1 (AlexNet or VGG16)"),
    MetricInfo("warp_error", False, "", "warping error (Lai et al., [0,1]^2)", key=True,
               definition="masked mean squared difference of frame t and frame t-1 warped by the flow, on [0, 1]"),
    MetricInfo("warp_l1_255", False, "0..255", "warping error L1 (0..255)",
               definition="masked mean absolute difference of frame t and warped frame t-1, on 0..255"),
    MetricInfo("tof", False, "px", "tOF (px)", definition="mean L2 difference of generated and real Farneback flows"),
    MetricInfo("pose_distance", False, "px", "pose distance (px)", key=True,
               definition="mean joint distance of poses detected on generated frames to the input poses"),
    MetricInfo("pose_distance_face", False, "px", "face landmark distance (px)",
               definition="pose distance over the face joints only (BODY_25 nose, eyes, ears)"),
    MetricInfo("pose_detection_rate", True, "", "pose detection rate", per_frame=False,
               definition="share of frames with a reference pose whose generated frame has a detected pose"),
    MetricInfo("fid", False, "", "FID", per_frame=False, key=True,
               definition="Frechet distance of FID-Inception pool3 features of generated and real frames"),
    MetricInfo("kid", False, "", "KID", per_frame=False, key=True,
               definition="unbiased MMD^2 of FID-Inception features, cubic polynomial kernel, mean over subsets"),
    MetricInfo("kid_std", False, "", "KID (std over subsets)", per_frame=False, in_table=False,
               definition="standard deviation of the subset values of KID"),
)}  # fmt: skip

PAIR_METRICS = ("warp_error", "warp_l1_255", "tof")
"""Per-frame metrics of a frame and its predecessor (undefined at a segment's first frame)."""

REAL_FLOOR_METRICS = ("warp_error", "warp_l1_255", "pose_distance", "pose_detection_rate")
"""Metrics also computed on the real frames (``<name>_real``): the floor the measurement itself gives."""

BASELINE_METRICS = ("ssim", "psnr", "ssim_person", "psnr_person")
"""Metrics also computed for the mean-training-frame baseline (``baseline_<name>``)."""

STRIDE_METRICS = ("ssim_person", "pose_distance", "tof", "warp_error")
"""Metrics of the fast-motion rows: the evaluated split subsampled by a stride ``k`` (every k-th frame,
so k times the motion between consecutive frames), logged as ``eval/stride<k>/<name>_mean``."""

STRIDE_HELD = ("ssim_person", "pose_distance")
"""Of those, the ones that must stay within ``evaluate.stride_tolerance`` of stride 1 (issue 14): the
temporal ones grow with the motion by construction (larger flows, larger flow errors)."""


def stride_prefix(stride: int, prefix: str = "eval/") -> str:
    """``eval/`` for stride 1 (the ordinary summary), ``eval/stride<k>/`` for the subsampled split."""
    return prefix if int(stride) == 1 else f"{prefix}stride{int(stride)}/"

_PREFIX = re.compile(r"^(?:metrics\.)?(?:[A-Za-z0-9_]+/)*(?:val_|eval_)?(?:baseline_)?")
_SUFFIX = re.compile(r"(?:_real)?(?:[_/](?:mean|median|std|count))?$")

#: Direction of non-metric numbers also logged to MLflow (generation speed, accuracy of helpers).
_OTHER_HIGHER_IS_BETTER = ("fps", "accuracy", "detection_rate")


def stem(name: str) -> str:
    """The registry name inside a logged name (``metrics.eval/baseline_ssim_person_mean`` -> ``ssim_person``)."""
    if name in METRICS:
        return name
    s = _PREFIX.sub("", name)
    if s in METRICS:
        return s
    for _ in range(2):
        s = _SUFFIX.sub("", s)
        if s in METRICS:
            return s
    return s


def info(name: str) -> MetricInfo | None:
    """The :class:`MetricInfo` of a (decorated) metric name, or None if it is not an evaluation metric."""
    return METRICS.get(stem(name))


def direction(name: str) -> Literal["max", "min"]:
    """``max`` where a larger value is better, else ``min`` (registry; losses, errors and unknowns: ``min``)."""
    m = info(name)
    if m is not None:
        return m.mode
    return "max" if any(k in name.lower() for k in _OTHER_HIGHER_IS_BETTER) else "min"


def summary_columns(columns) -> list[str]:
    """The per-frame table columns that get a mean and median in the summary, in registry order."""
    present = set(columns)
    out = []
    for m in METRICS.values():
        if not m.per_frame:
            continue
        for col in (m.name, f"{m.name}_real", f"baseline_{m.name}"):
            if col in present:
                out.append(col)
    return out


def key_metrics(prefix: str = "eval/") -> tuple[str, ...]:
    """Logged names of the key metrics (``v2v-runs list``), plus the baseline's person-box SSIM."""
    keys = tuple(f"{prefix}{m.summary_key}" for m in METRICS.values() if m.key)
    return (*keys, f"{prefix}baseline_ssim_person_mean")


def validation_names(prefix: str = "val_") -> tuple[str, ...]:
    """Names of the trainer's validation metrics (those :func:`~v2v_pipeline.metrics.engine.score_frames` returns)."""
    return tuple(f"{prefix}{n}" for n in (*BASELINE_METRICS, "warp_error", "warp_l1_255"))
