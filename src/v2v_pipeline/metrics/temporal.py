"""Temporal-coherence metrics: flow warping error and TecoGAN's tOF."""

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


def warping_error(
    frames: Sequence[np.ndarray],
    flows_backward: Sequence[np.ndarray],
    valid_masks: Sequence[np.ndarray] | None = None,
) -> SequenceScore:
    """Mean absolute difference between frame ``t`` and frame ``t-1`` warped onto it.

    ``frames``: T images ``(H, W[, C])`` (uint8 RGB or float); ``flows_backward[i]``:
    ``(H, W, 2)`` flow from frame ``i+1`` to frame ``i`` (project convention), so
    ``warp_image(frames[i], flows_backward[i])`` aligns frame ``i`` with frame ``i+1``;
    ``valid_masks[i]``: bool ``(H, W)`` non-occluded pixels of frame ``i+1`` (all pixels if
    ``None``). Pair ``i``'s value is the mean over valid pixels and channels of
    ``|warped - frames[i+1]|`` in the images' intensity units (0..255 for uint8); ``nan`` if
    no pixel is valid. Warping uses bilinear sampling with replicated borders.
    """
    n_pairs = len(frames) - 1
    if n_pairs < 1 or len(flows_backward) != n_pairs:
        raise ValueError(
            f"warping_error: need T >= 2 frames and T-1 flows, got {len(frames)} frames and {len(flows_backward)} flows"
        )
    if valid_masks is not None and len(valid_masks) != n_pairs:
        raise ValueError(f"warping_error: need {n_pairs} valid masks, got {len(valid_masks)}")
    values = np.empty(n_pairs)
    for i in range(n_pairs):
        prev = np.asarray(frames[i], dtype=np.float32)
        cur = np.asarray(frames[i + 1], dtype=np.float32)
        err = np.abs(warp_image(prev, np.asarray(flows_backward[i], dtype=np.float32)) - cur)
        if err.ndim == 3:
            err = err.mean(axis=-1)
        if valid_masks is None:
            values[i] = err.mean()
        else:
            mask = np.asarray(valid_masks[i], dtype=bool)
            if mask.shape != err.shape:
                raise ValueError(f"warping_error: valid mask {i} has shape {mask.shape}, frames are {err.shape}")
            values[i] = err[mask].mean() if mask.any() else np.nan
    return SequenceScore(values, _nanmean(values))


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
