"""Box geometry for keypoints and frame tables: the one home of every person/face box rule.

Boxes are ``(x0, y0, x1, y1)`` in pixels. Integer boxes (:data:`Box`) have exclusive ends
(``img[y0:y1, x0:x1]``); float extents are the min/max of the joints. Keypoints are ``(J, 3)``
arrays of ``x, y, confidence``; a joint is *visible* when its confidence is > 0 and >=
``min_conf`` and its coordinates are finite. Image sizes are ``(width, height)`` (project
convention). Box columns in tables are ``<prefix>_x0 ... <prefix>_y1``.

Used by tracking (:func:`keypoint_extent`), the label pipeline's person and face boxes
(:func:`person_box`, :func:`square_box`), the dataset builder (:func:`scale_box_columns`),
the evaluation and the trainer's validation (:func:`box_from_row`, :func:`clip_box`).
No dependency beyond numpy / pandas.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

Box = tuple[int, int, int, int]
"""Integer ``(x0, y0, x1, y1)`` with exclusive ends."""


def visible(kp: np.ndarray, min_conf: float = 0.0) -> np.ndarray:
    """Bool ``(..., J)``: confidence > 0 and >= ``min_conf``, finite coordinates."""
    kp = np.asarray(kp, np.float64)
    conf = kp[..., 2]
    return (conf > 0) & (conf >= min_conf) & np.isfinite(kp[..., :2]).all(axis=-1)


def _check(kp: np.ndarray, what: str) -> np.ndarray:
    kp = np.asarray(kp, np.float64)
    if kp.ndim != 2 or kp.shape[1] != 3:
        raise ValueError(f"{what}: expected (J, 3) keypoints, got {kp.shape}")
    return kp


def keypoint_extent(kp: np.ndarray, min_conf: float = 0.0) -> tuple[float, float, float, float] | None:
    """Float ``(x0, y0, x1, y1)``: min and max of the visible joints; ``None`` if none is visible."""
    kp = _check(kp, "keypoint_extent")
    ok = visible(kp, min_conf)
    if not ok.any():
        return None
    xy = kp[ok, :2]
    return float(xy[:, 0].min()), float(xy[:, 1].min()), float(xy[:, 0].max()), float(xy[:, 1].max())


def clip_box(box: Sequence[float], image_size: Sequence[int]) -> Box:
    """Integer box clamped to an image of ``(width, height)`` (may become empty)."""
    w, h = int(image_size[0]), int(image_size[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    return max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)


def person_box(kp: np.ndarray, margin: float, image_size: Sequence[int], min_conf: float = 0.1) -> Box | None:
    """Integer box of the visible joints grown by ``margin`` px on every side, clamped to the image.

    ``x0 = floor(min x - margin)``, ``x1 = floor(max x + margin) + 1`` (exclusive), the same
    in y; ``None`` if no joint is visible.
    """
    extent = keypoint_extent(_check(kp, "person_box"), min_conf)
    if extent is None:
        return None
    w, h = int(image_size[0]), int(image_size[1])
    x0, y0 = (int(math.floor(v - margin)) for v in extent[:2])
    x1, y1 = (int(math.floor(v + margin)) + 1 for v in extent[2:])
    return int(np.clip(x0, 0, w)), int(np.clip(y0, 0, h)), int(np.clip(x1, 0, w)), int(np.clip(y1, 0, h))


def square_box(center: Sequence[float], side: float, image_size: Sequence[int], min_size: int = 16) -> Box:
    """Square box of ``side`` px (at least ``min_size``, at most the image) around ``center``, shifted inside."""
    w, h = int(image_size[0]), int(image_size[1])
    side = int(round(min(max(side, min_size), w, h)))
    x0 = int(np.clip(round(center[0] - side / 2), 0, w - side))
    y0 = int(np.clip(round(center[1] - side / 2), 0, h - side))
    return x0, y0, x0 + side, y0 + side


def box_columns(prefix: str) -> tuple[str, str, str, str]:
    """``(<prefix>_x0, <prefix>_y0, <prefix>_x1, <prefix>_y1)``."""
    return tuple(f"{prefix}_{c}" for c in ("x0", "y0", "x1", "y1"))  # type: ignore[return-value]


def box_from_row(row: Mapping[str, float], prefix: str, scale: tuple[float, float] = (1.0, 1.0)) -> Box | None:
    """Integer box (outward-rounded) from a row's ``<prefix>_x0 ...`` values times ``scale``; None if NaN or empty."""
    vals = [row.get(c, math.nan) for c in box_columns(prefix)]
    if not all(v is not None and np.isfinite(v) for v in vals):
        return None
    x0, y0, x1, y1 = vals[0] * scale[0], vals[1] * scale[1], vals[2] * scale[0], vals[3] * scale[1]
    if x1 <= x0 or y1 <= y0:
        return None
    return int(math.floor(x0)), int(math.floor(y0)), int(math.ceil(x1)), int(math.ceil(y1))


def scale_box_columns(table: pd.DataFrame, frame_size: Sequence[int], size: Sequence[int] | None,
                      columns: Iterable[str]) -> pd.DataFrame:
    """A copy of ``table`` with the box ``columns`` scaled from ``frame_size`` to ``size`` (unchanged if equal or None)."""
    if size is None or tuple(size) == tuple(frame_size):
        return table
    sx, sy = size[0] / frame_size[0], size[1] / frame_size[1]
    table = table.copy()
    for col in columns:
        table[col] = table[col] * (sx if col.endswith(("x0", "x1")) else sy)
    return table
