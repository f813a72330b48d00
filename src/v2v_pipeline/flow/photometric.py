"""Photometric error after flow warping (the 'warping error' of video-synthesis papers)."""

from __future__ import annotations

import numpy as np

from v2v_pipeline.flow.warp import warp_image


def photometric_error(
    frame_a: np.ndarray,
    frame_b: np.ndarray,
    flow: np.ndarray | None,
    mask: np.ndarray | None = None,
) -> float:
    """Mean absolute difference between ``frame_b`` and ``frame_a`` warped onto it.

    Args:
        frame_a, frame_b: ``(H, W[, C])`` images (uint8 or float), same shape.
        flow: ``(H, W, 2)`` flow defined on ``frame_b``'s pixels and pointing into
            ``frame_a``: for pair *i* with ``a = frames[i]``, ``b = frames[i+1]`` that is
            ``backward[i]``. ``None`` compares the frames without warping.
        mask: bool ``(H, W)`` pixels of ``frame_b`` to average over (e.g. ``valid[i]``);
            ``None`` uses all pixels.

    Returns:
        The mean over masked pixels and channels, in the images' intensity units
        (0-255 for uint8). Warping is done in float32 (no rounding to uint8).
    """
    if frame_a.shape != frame_b.shape:
        raise ValueError(f"frames differ in shape: {frame_a.shape} vs {frame_b.shape}")
    a = frame_a.astype(np.float32)
    if flow is not None:
        a = warp_image(a, flow)
    diff = np.abs(a - frame_b.astype(np.float32))
    if diff.ndim == 3:
        diff = diff.mean(axis=-1)
    if mask is None:
        return float(diff.mean())
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != diff.shape:
        raise ValueError(f"mask {mask.shape} does not match the frames {diff.shape}")
    if not mask.any():
        raise ValueError("mask selects no pixel; the photometric error is undefined")
    return float(diff[mask].mean())
