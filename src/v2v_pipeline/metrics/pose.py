"""Keypoint-based metrics: EDN's pose distance (person boxes are in :mod:`v2v_pipeline.boxes`)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from v2v_pipeline.boxes import person_box as person_box_from_keypoints  # noqa: F401 - re-export
from v2v_pipeline.boxes import visible


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
    vis_pred, vis_ref = visible(pred, min_conf), visible(ref, min_conf)
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
