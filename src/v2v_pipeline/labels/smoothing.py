"""Temporal clean-up of keypoint sequences ``(T, J, 3)``: gap filling, smoothing, frame flags.

Missing joints (confidence 0) are never invented by the smoothers: each joint is filtered
over its runs of consecutive present frames only, so a missing stretch neither drags the
neighbouring values towards (0, 0) nor is filled in. Only :func:`interpolate_gaps` fills
holes, and only short interior ones.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

FOUND, INTERPOLATED, MISSING = "found", "interpolated", "missing"


def _check(kp: np.ndarray) -> np.ndarray:
    kp = np.asarray(kp, np.float32)
    if kp.ndim != 3 or kp.shape[2] != 3:
        raise ValueError(f"expected a keypoint sequence of shape (T, J, 3), got {kp.shape}")
    return kp


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True values."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], valid.astype(np.int8), [0]])))
    return list(zip(edges[::2], edges[1::2]))


def interpolate_gaps(keypoints: np.ndarray, max_gap: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Linearly fill interior gaps of at most ``max_gap`` frames, per joint.

    Returns ``(keypoints, interpolated)`` where ``interpolated`` is a ``(T, J)`` bool mask of the
    filled entries; a filled joint gets the smaller confidence of the two frames around the gap.
    Gaps at the start or end of the sequence are left missing (no extrapolation).
    """
    kp = _check(keypoints).copy()
    filled = np.zeros(kp.shape[:2], bool)
    for j in range(kp.shape[1]):
        valid = kp[:, j, 2] > 0
        for start, stop in _runs(~valid):
            if start == 0 or stop == len(kp) or stop - start > max_gap:
                continue
            a, b = kp[start - 1, j], kp[stop, j]
            w = (np.arange(start, stop) - (start - 1))[:, None] / (stop - start + 1)
            kp[start:stop, j, :2] = a[:2] + w * (b[:2] - a[:2])
            kp[start:stop, j, 2] = min(a[2], b[2])
            filled[start:stop, j] = True
    return kp, filled


def one_euro(
    keypoints: np.ndarray, fps: float = 30.0, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0
) -> np.ndarray:
    """One-Euro filter (Casiez et al. 2012) on x and y of every joint.

    ``min_cutoff`` (Hz) sets the smoothing of slow motion, ``beta`` (per pixel/s) how fast the
    cutoff rises with speed (less lag on fast moves). The filter restarts after a missing frame.
    """
    kp = _check(keypoints)
    out = kp.copy()
    te = 1.0 / fps

    def alpha(cutoff: np.ndarray | float) -> np.ndarray:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / te)

    prev = np.zeros(kp.shape[1:2] + (2,), np.float64)
    dprev = np.zeros_like(prev)
    live = np.zeros(kp.shape[1], bool)  # joint has filter state
    a_d = alpha(d_cutoff)
    for t in range(len(kp)):
        valid = kp[t, :, 2] > 0
        x = kp[t, :, :2].astype(np.float64)
        cont = valid & live
        dx = np.where(cont[:, None], (x - prev) / te, 0.0)
        dprev = np.where(cont[:, None], a_d * dx + (1 - a_d) * dprev, 0.0)
        a = alpha(min_cutoff + beta * np.abs(dprev))
        new = np.where(cont[:, None], a * x + (1 - a) * prev, x)
        prev = np.where(valid[:, None], new, prev)
        live = valid
        out[t, valid, :2] = new[valid]
    return out


def _filter_runs(kp: np.ndarray, fn, min_len: int) -> np.ndarray:
    out = kp.copy()
    for j in range(kp.shape[1]):
        for start, stop in _runs(kp[:, j, 2] > 0):
            if stop - start >= min_len:
                out[start:stop, j, :2] = fn(kp[start:stop, j, :2].astype(np.float64), stop - start)
    return out


def savgol(keypoints: np.ndarray, window: int = 9, polyorder: int = 2) -> np.ndarray:
    """Savitzky-Golay filter per joint over each run of present frames.

    Runs shorter than ``window`` use the largest odd window that fits (left as they are if that
    is not longer than ``polyorder``).
    """
    if window % 2 == 0 or window <= polyorder:
        raise ValueError(f"savgol window must be odd and > polyorder, got window={window}, polyorder={polyorder}")

    def fn(x: np.ndarray, n: int) -> np.ndarray:
        w = min(window, n if n % 2 else n - 1)
        return savgol_filter(x, w, polyorder, axis=0, mode="interp") if w > polyorder else x

    return _filter_runs(_check(keypoints), fn, polyorder + 2)


def median(keypoints: np.ndarray, window: int = 7) -> np.ndarray:
    """Running median per joint over each run of present frames (EDN smooths with 7 frames)."""
    return _filter_runs(_check(keypoints), lambda x, n: median_filter(x, size=(min(window, n), 1), mode="nearest"), 2)


SMOOTHERS = {"one_euro": one_euro, "savgol": savgol, "median": median}


def smooth(keypoints: np.ndarray, method: str = "one_euro", **params) -> np.ndarray:
    """Dispatch to :func:`one_euro`, :func:`savgol`, :func:`median` or ``"none"``."""
    if method == "none":
        return _check(keypoints).copy()
    if method not in SMOOTHERS:
        raise ValueError(f"unknown smoothing method {method!r}; choose one of {sorted(SMOOTHERS) + ['none']}")
    return SMOOTHERS[method](keypoints, **params)


def frame_status(found: np.ndarray, interpolated: np.ndarray) -> np.ndarray:
    """Per-frame flag: ``"found"`` (detected), ``"interpolated"`` (not detected but filled from
    its neighbours) or ``"missing"``."""
    found = np.asarray(found, bool)
    filled = np.asarray(interpolated, bool).reshape(len(found), -1).any(1)
    return np.where(found, FOUND, np.where(filled, INTERPOLATED, MISSING))


def clean_sequence(
    keypoints: np.ndarray,
    found: np.ndarray | None = None,
    max_gap: int = 5,
    method: str = "one_euro",
    **params,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill short gaps, then smooth. Returns ``(keypoints, status)`` with ``status`` from
    :func:`frame_status` (``found`` defaults to "any joint present")."""
    kp = _check(keypoints)
    if found is None:
        found = (kp[..., 2] > 0).any(1)
    if len(found) != len(kp):
        raise ValueError(f"found has {len(found)} entries for {len(kp)} frames")
    kp = kp.copy()
    kp[~np.asarray(found, bool)] = 0  # a frame without a person has no joints
    filled, interpolated = interpolate_gaps(kp, max_gap)
    return smooth(filled, method, **params), frame_status(found, interpolated)
