"""Keypoint-based metrics: EDN's pose distance and a person bounding box."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .image import Box


class PoseDistance(NamedTuple):
    """Result of :func:`pose_distance`."""

    per_frame: np.ndarray
    """``(N,)`` mean joint distance in pixels; ``nan`` where no joint is visible in both poses."""
    n_joints: np.ndarray
    """``(N,)`` number of joints visible in both poses."""
    mean: float
    """Mean of the finite per-frame values (each frame weighs the same); ``nan`` if none."""
    detection_rate: float
    """Fraction of the frames with a reference pose whose generated frame has a detected pose."""


def _visible(kp: np.ndarray, min_conf: float) -> np.ndarray:
    conf = kp[..., 2]
    return (conf > 0) & (conf >= min_conf) & np.isfinite(kp[..., :2]).all(axis=-1)


def pose_distance(kp_pred: np.ndarray, kp_ref: np.ndarray, min_conf: float = 0.1) -> PoseDistance:
    """Pose distance (EDN): Euclidean joint distance between poses detected on generated frames and the input poses.

    ``kp_pred``, ``kp_ref``: ``(N, J, 3)`` (or one ``(J, 3)`` frame) of ``x, y, confidence`` in
    pixels. A joint counts if its confidence is > 0 and >= ``min_conf`` in both arrays. A
    generated frame "has a pose" if any of its joints is visible; the detection rate is taken
    over the frames whose reference pose has a visible joint (``nan`` if there is none).
    """
    pred, ref = np.asarray(kp_pred, np.float64), np.asarray(kp_ref, np.float64)
    if pred.ndim == 2:
        pred, ref = pred[None], ref[None]
    if pred.shape != ref.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(
            f"pose_distance: expected two (N, J, 3) arrays of equal shape, got {pred.shape} and {ref.shape}"
        )
    vis_pred, vis_ref = _visible(pred, min_conf), _visible(ref, min_conf)
    both = vis_pred & vis_ref
    dist = np.linalg.norm(np.nan_to_num(pred[..., :2] - ref[..., :2]), axis=-1)
    n_joints = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_frame = np.where(n_joints > 0, (dist * both).sum(axis=1) / n_joints, np.nan)
    finite = per_frame[np.isfinite(per_frame)]
    has_ref = vis_ref.any(axis=1)
    detected = vis_pred.any(axis=1) & has_ref
    return PoseDistance(
        per_frame=per_frame,
        n_joints=n_joints,
        mean=float(finite.mean()) if finite.size else math.nan,
        detection_rate=float(detected.sum() / has_ref.sum()) if has_ref.any() else math.nan,
    )


def person_box_from_keypoints(
    kp: np.ndarray, margin: float, image_size: Sequence[int], min_conf: float = 0.1
) -> Box | None:
    """Bounding box ``(x0, y0, x1, y1)`` (ends exclusive, for ``img[y0:y1, x0:x1]``) of the visible joints.

    ``kp``: ``(J, 3)`` keypoints; ``margin``: pixels added on every side; ``image_size``:
    ``(width, height)`` (project convention) to clamp to. ``None`` if no joint is visible
    (confidence > 0 and >= ``min_conf``).
    """
    kp = np.asarray(kp, np.float64)
    if kp.ndim != 2 or kp.shape[1] != 3:
        raise ValueError(f"person_box_from_keypoints: expected (J, 3) keypoints, got {kp.shape}")
    vis = _visible(kp, min_conf)
    if not vis.any():
        return None
    w, h = int(image_size[0]), int(image_size[1])
    xy = kp[vis, :2]
    x0, y0 = np.floor(xy.min(axis=0) - margin).astype(int)
    x1, y1 = np.floor(xy.max(axis=0) + margin).astype(int) + 1
    return int(np.clip(x0, 0, w)), int(np.clip(y0, 0, h)), int(np.clip(x1, 0, w)), int(np.clip(y1, 0, h))
