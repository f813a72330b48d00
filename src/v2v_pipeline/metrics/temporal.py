"""Temporal-coherence metrics: the flow warping error (Lai et al. 2018 and an L1 variant) and TecoGAN's tOF."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from v2v_pipeline.flow.warp import warp_image

FARNEBACK_PARAMS = (0.5, 3, 15, 3, 5, 1.2, 0)
"""``pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags`` of TecoGAN's tOF."""


class SequenceScore(NamedTuple):
    """A metric over consecutive frame pairs: one value per pair and their mean (NaNs ignored)."""

    per_pair: np.ndarray
    mean: float


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _check_pairs(name: str, frames: Sequence, flows_backward: Sequence, valid_masks: Sequence | None) -> int:
    n_pairs = len(frames) - 1
    if n_pairs < 1 or len(flows_backward) != n_pairs:
        raise ValueError(
            f"{name}: need T >= 2 frames and T-1 flows, got {len(frames)} frames and {len(flows_backward)} flows"
        )
    if valid_masks is not None and len(valid_masks) != n_pairs:
        raise ValueError(f"{name}: need {n_pairs} valid masks, got {len(valid_masks)}")
    return n_pairs


def _warp_pairs(name: str, frames, flows_backward, valid_masks, scale: float, power: int) -> SequenceScore:
    n_pairs = _check_pairs(name, frames, flows_backward, valid_masks)
    values = np.empty(n_pairs)
    for i in range(n_pairs):
        prev = np.asarray(frames[i], dtype=np.float32) / scale
        cur = np.asarray(frames[i + 1], dtype=np.float32) / scale
        err = np.abs(warp_image(prev, np.asarray(flows_backward[i], dtype=np.float32)) - cur) ** power
        if err.ndim == 3:
            err = err.mean(axis=-1)
        if valid_masks is None:
            values[i] = err.mean()
        else:
            mask = np.asarray(valid_masks[i], dtype=bool)
            if mask.shape != err.shape:
                raise ValueError(f"{name}: valid mask {i} has shape {mask.shape}, frames are {err.shape}")
            values[i] = err[mask].mean() if mask.any() else np.nan
    return SequenceScore(values, _nanmean(values))


def _scale(frames: Sequence[np.ndarray]) -> float:
    dtype = np.asarray(frames[0]).dtype
    if dtype != np.uint8:
        raise ValueError(f"warp_error expects uint8 RGB frames (scaled to [0, 1] inside), got dtype {dtype}")
    return 255.0


def warp_error(
    frames: Sequence[np.ndarray],
    flows_backward: Sequence[np.ndarray],
    valid_masks: Sequence[np.ndarray] | None = None,
) -> SequenceScore:
    """The warping error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency"), the standard one.

    ``frames``: T uint8 RGB images ``(H, W, 3)``, scaled to [0, 1]; ``flows_backward[i]``:
    ``(H, W, 2)`` flow from frame ``i+1`` to frame ``i`` (project convention), so
    ``warp_image(frames[i], flows_backward[i])`` aligns frame ``i`` with frame ``i+1``;
    ``valid_masks[i]``: bool ``(H, W)`` non-occluded pixels ``M`` of frame ``i+1`` (all pixels
    if ``None``). Pair ``i``'s value is ``sum_p M(p) ||V_{i+1}(p) - warp(V_i)(p)||^2 / sum_p
    M(p) C``, i.e. the mean over mask pixels and the C channels of the squared difference (as
    ``evaluate_WarpError.py`` of Lai et al., whose mask has the image's channels); ``nan`` if
    no pixel is valid (where the reference code falls back to all pixels). The sequence value
    is the mean over pairs. Warping uses bilinear sampling with replicated borders.
    """
    return _warp_pairs("warp_error", frames, flows_backward, valid_masks, _scale(frames), 2)


def warp_l1_255(
    frames: Sequence[np.ndarray],
    flows_backward: Sequence[np.ndarray],
    valid_masks: Sequence[np.ndarray] | None = None,
) -> SequenceScore:
    """Mean absolute difference between frame ``t`` and frame ``t-1`` warped onto it, in intensity units.

    The project's original warping error (before :func:`warp_error` followed Lai et al.):
    arguments as :func:`warp_error`, but the value of a pair is the mean over valid pixels and
    channels of ``|warped - frames[i+1]|`` in the images' own units (0..255 for uint8; float
    images are not rescaled); ``nan`` if no pixel is valid.
    """
    return _warp_pairs("warp_l1_255", frames, flows_backward, valid_masks, 1.0, 1)


warping_error = warp_l1_255
"""Deprecated alias of :func:`warp_l1_255` (the metric formerly logged as ``warp_error``); the
trainer's validation imports it until it moves to :func:`v2v_pipeline.metrics.engine.score_frames`."""


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"tof expects uint8 RGB frames, got dtype {img.dtype}")
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def farneback_flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Farneback flow ``(H, W, 2)`` from ``prev`` to ``nxt`` (uint8 RGB or gray) with TecoGAN's parameters."""
    return cv2.calcOpticalFlowFarneback(_gray(prev), _gray(nxt), None, *FARNEBACK_PARAMS)


def tof(
    generated_frames: Sequence[np.ndarray], real_frames: Sequence[np.ndarray], cut: int = 2
) -> SequenceScore:
    """TecoGAN's tOF: mean per-pixel L2 norm of the difference of Farneback flows.

    For each consecutive pair among frames ``cut .. T-1-cut`` (``cut=2`` drops two frames at
    each end, as TecoGAN's ``metrics.py``), the flows of the generated and of the real pair
    are computed on grayscale frames and ``mean_xy |flow_gen - flow_real|_2`` is taken
    (pixels; lower is better). Unlike TecoGAN we do not crop an 8-pixel-plus border (that
    crop removes super-resolution border artefacts, irrelevant here).
    """
    t = len(real_frames)
    if len(generated_frames) != t:
        raise ValueError(f"tof: {len(generated_frames)} generated vs {t} real frames")
    if t - 2 * cut < 2:
        raise ValueError(f"tof: need at least {2 * cut + 2} frames with cut={cut}, got {t}")
    gen = [_gray(f) for f in generated_frames[cut : t - cut]]
    real = [_gray(f) for f in real_frames[cut : t - cut]]
    if any(g.shape != r.shape for g, r in zip(gen, real, strict=True)):
        raise ValueError("tof: generated and real frames differ in size")
    values = np.array(
        [
            np.linalg.norm(farneback_flow(gen[i - 1], gen[i]) - farneback_flow(real[i - 1], real[i]), axis=-1).mean()
            for i in range(1, len(gen))
        ],
        dtype=np.float64,
    )
    return SequenceScore(values, float(values.mean()))
