"""Follow one person through frames that each hold several candidate skeletons.

Distances are measured in units of the tracked person's size (the larger side of the
box around their visible joints), so ``max_jump`` means the same for a close-up and for a
person far away. With ``use_velocity`` the previous position is extrapolated with the
person's recent velocity, which keeps the identity when two people cross.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from v2v_pipeline.boxes import keypoint_extent

Candidates = np.ndarray | Sequence[np.ndarray]  # (P, J, 3) or a list of (J, 3)


def person_box(kp: np.ndarray) -> tuple[float, float, float, float] | None:
    """``(x0, y0, x1, y1)`` around the visible joints, or None if none is visible."""
    return keypoint_extent(kp)


def person_size(kp: np.ndarray, minimum: float = 1.0) -> float:
    """Larger side of :func:`person_box` (at least ``minimum``; 0 for an empty skeleton)."""
    box = person_box(kp)
    return 0.0 if box is None else max(box[2] - box[0], box[3] - box[1], minimum)


def skeleton_distance(a: np.ndarray, b: np.ndarray, min_common: int = 3) -> float:
    """Mean pixel distance over joints present in both skeletons; with fewer than
    ``min_common`` shared joints, the distance between the centroids of the present joints."""
    oka, okb = a[:, 2] > 0, b[:, 2] > 0
    if not oka.any() or not okb.any():
        return float("inf")
    both = oka & okb
    if both.sum() >= min_common:
        return float(np.linalg.norm(a[both, :2] - b[both, :2], axis=1).mean())
    return float(np.linalg.norm(a[oka, :2].mean(0) - b[okb, :2].mean(0)))


#: Neck, shoulders, mid-hip and hips of BODY_25: the joints that cannot move fast.
TORSO_BODY25: tuple[int, ...] = (1, 2, 5, 8, 9, 12)


def torso_jump(a: np.ndarray, b: np.ndarray, joints: Sequence[int] = TORSO_BODY25) -> float:
    """Largest displacement of a torso joint present in both skeletons, in pixels.

    Unlike a mean over all joints it flags a skeleton whose hips moved onto a neighbour while
    its head stayed put. With fewer than 2 shared torso joints: :func:`skeleton_distance`.
    """
    idx = list(joints)
    both = (a[idx, 2] > 0) & (b[idx, 2] > 0)
    if both.sum() < 2:
        return skeleton_distance(a, b)
    sel = np.array(idx)[both]
    return float(np.linalg.norm(a[sel, :2] - b[sel, :2], axis=1).max())


@dataclass
class Track:
    """Result of :func:`track_person`: the chosen skeleton per frame (zeros where lost) and the
    candidate index it came from (-1 where lost)."""

    keypoints: np.ndarray  # (T, J, 3)
    index: np.ndarray  # (T,) int

    @property
    def found(self) -> np.ndarray:
        return self.index >= 0


def _as_array(cands: Candidates, joints: int | None) -> np.ndarray:
    arr = np.asarray(cands, np.float32) if len(cands) else np.zeros((0, joints or 0, 3), np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"each frame's candidates must be (P, J, 3), got {arr.shape}")
    return arr


def _initial(cands: np.ndarray, init: str | int, image_size: tuple[int, int] | None) -> int:
    if isinstance(init, int | np.integer):
        return int(init) if init < len(cands) else -1
    if init == "largest":
        return int(np.argmax([person_size(c) for c in cands]))
    if init == "center":
        if image_size is None:
            raise ValueError("init='center' needs image_size=(width, height)")
        centre = np.array(image_size, np.float32) / 2
        d = [np.linalg.norm(c[c[:, 2] > 0, :2].mean(0) - centre) if (c[:, 2] > 0).any() else np.inf for c in cands]
        return int(np.argmin(d))
    raise ValueError(f"init must be 'largest', 'center' or a candidate index, got {init!r}")


def track_person(
    candidates_per_frame: Sequence[Candidates],
    init: str | int = "largest",
    max_jump: float = 0.5,
    reacquire_after: int | None = 15,
    image_size: tuple[int, int] | None = None,
    use_velocity: bool = True,
) -> Track:
    """Follow one person through per-frame candidate skeletons.

    Args:
        candidates_per_frame: for each frame, ``(P, J, 3)`` candidates (``P`` may be 0).
        init: how the person is chosen in the first frame with candidates (and after a long
            loss): ``"largest"`` (biggest box), ``"center"`` (closest to the image centre; needs
            ``image_size``) or a candidate index.
        max_jump: largest accepted move per frame (mean joint distance to the predicted
            skeleton), as a fraction of the person's size. After ``k`` frames without a match,
            ``sqrt(k) * max_jump`` is accepted.
        reacquire_after: after this many consecutive frames without a match, choose afresh with
            ``init`` (None: never; only a candidate near the last position is taken back).
        image_size: ``(width, height)``, only needed for ``init="center"``.
        use_velocity: extrapolate the last position with the last velocity before matching.
    """
    joints = next((np.shape(c)[1] for c in candidates_per_frame if len(c)), None)
    if joints is None:
        raise ValueError("no frame has any candidate skeleton; nothing to track")
    out = np.zeros((len(candidates_per_frame), joints, 3), np.float32)
    index = np.full(len(candidates_per_frame), -1, int)
    last: np.ndarray | None = None
    velocity = np.zeros(2, np.float32)
    last_t = -1
    for t, raw in enumerate(candidates_per_frame):
        cands = _as_array(raw, joints)
        if not len(cands):
            continue
        gap = t - last_t
        fresh = last is None or (reacquire_after is not None and gap > reacquire_after)
        if fresh:
            k = _initial(cands, init, image_size)
            velocity[:] = 0
        else:
            pred = last.copy()
            if use_velocity:
                pred[:, :2] += velocity * gap
            scale = person_size(last)
            d = np.array([skeleton_distance(pred, c) for c in cands]) / scale
            k = int(np.argmin(d)) if d.min() <= max_jump * np.sqrt(gap) else -1
        if k < 0:
            continue
        chosen = cands[k]
        if not fresh and use_velocity:
            both = (chosen[:, 2] > 0) & (last[:, 2] > 0)
            if both.any():
                velocity = (chosen[both, :2] - last[both, :2]).mean(0) / gap
        out[t], index[t] = chosen, k
        last, last_t = chosen, t
    return Track(out, index)
