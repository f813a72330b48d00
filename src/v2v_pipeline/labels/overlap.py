"""Agreement between two rendered label maps (e.g. ours vs a published reference).

:func:`skeleton_overlap` is the IoU of the dilated stick-figure masks: it checks geometry
only, so it cannot see swapped left/right labels (the drawing has the same shape).
:func:`limb_overlap` classifies pixels by limb colour first and scores each colour class
separately, so it also catches swapped or wrongly coloured limbs.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from . import skeleton as sk
from .render import WHITE, Color, RenderStyle, get_style


def foreground_mask(label: np.ndarray, background: Color = WHITE, tol: int = 40) -> np.ndarray:
    """Pixels of an RGB label map that differ from ``background`` by more than ``tol`` in any channel."""
    label = np.asarray(label)
    if label.ndim != 3 or label.shape[2] != 3:
        raise ValueError(f"expected an RGB label map (H, W, 3), got {label.shape}")
    bg = np.asarray(background, np.float64)
    lo, hi = np.clip(np.ceil(bg - tol), 0, 255).astype(np.uint8), np.clip(np.floor(bg + tol), 0, 255).astype(np.uint8)
    return cv2.inRange(np.ascontiguousarray(label, np.uint8), lo, hi) == 0


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    if px <= 0 or mask.size == 0:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def _iou(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    return int(np.count_nonzero(a & b)), int(np.count_nonzero(a | b))


def _crop_box(a: np.ndarray, b: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Box around the pixels set in either mask, grown by ``margin`` (speeds up dilation)."""
    ys, xs = np.nonzero(a | b)
    if not len(ys):
        return slice(0, 0), slice(0, 0)
    h, w = a.shape
    return (slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, h)),
            slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, w)))  # fmt: skip


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"label maps differ in shape: {np.shape(a)} vs {np.shape(b)}; render or resize them to one size"
        )


def skeleton_overlap(
    label_a: np.ndarray, label_b: np.ndarray, dilate_px: int = 3, background: Color = WHITE, tol: int = 40
) -> float:
    """IoU of the dilated non-background masks of two RGB label maps (1.0 if both are empty)."""
    _check_pair(label_a, label_b)
    fa, fb = foreground_mask(label_a, background, tol), foreground_mask(label_b, background, tol)
    box = _crop_box(fa, fb, dilate_px + 1)
    inter, union = _iou(_dilate(fa[box], dilate_px), _dilate(fb[box], dilate_px))
    return 1.0 if union == 0 else inter / union


PARTS: tuple[str, ...] = ("center", "right_arm", "left_arm", "right_leg", "left_leg")


def _part(joint_name: str) -> int:
    side = {"R": 0, "L": 1}.get(joint_name[0], -1)
    if side < 0 or joint_name[1:] in ("Eye", "Ear"):
        return 0
    return (1 if joint_name[1:] in ("Shoulder", "Elbow", "Wrist") else 3) + side


def color_classes(
    style: str | RenderStyle = "edn", background: Color = WHITE, by: str = "part"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Colour prototypes of a style's body drawing: ``(prototypes (P, 3), class per prototype, class names)``.

    Every joint colour contributes two prototypes, the opaque joint colour and the limb colour
    after alpha blending onto ``background`` (a limb has the colour of one of its joints).
    ``by="part"`` groups colours into :data:`PARTS` (torso and head, each arm, each leg);
    ``by="color"`` makes every distinct colour its own class.
    """
    st = get_style(style)
    names = sk.BODY_23 if st.layout == "body23" else sk.BODY_25
    colors: list[tuple] = []
    cls: list[int] = []
    for name, c in zip(names, st.colors):
        if tuple(c) in colors:
            continue
        colors.append(tuple(c))
        cls.append(_part(name) if by == "part" else len(cls))
    if by not in ("part", "color"):
        raise ValueError(f"by must be 'part' or 'color', got {by!r}")
    pure = np.array(colors, np.float32)
    blended = (1 - st.alpha) * np.asarray(background, np.float32) + st.alpha * pure
    class_names = list(PARTS) if by == "part" else [f"color{tuple(int(v) for v in c)}" for c in colors]
    return np.concatenate([pure, blended]), np.array(cls * 2), class_names


def classify_colors(
    label: np.ndarray,
    style: str | RenderStyle = "edn",
    background: Color = WHITE,
    tol: int = 40,
    max_dist: float = 45.0,
    by: str = "part",
) -> np.ndarray:
    """Per-pixel class of an RGB label map (:func:`color_classes`); ``-1`` for background and
    for pixels with no prototype within ``max_dist`` (face dots, hands, colour mixtures)."""
    lut = _class_lut(get_style(style), tuple(float(b) for b in background), float(max_dist), by)
    fg = foreground_mask(label, background, tol)
    out = np.full(fg.shape, -1, np.int16)
    px = np.asarray(label)[fg].astype(np.int32) >> _LUT_SHIFT
    out[fg] = lut[(px[:, 0] << (16 - 2 * _LUT_SHIFT)) | (px[:, 1] << (8 - _LUT_SHIFT)) | px[:, 2]]
    return out


_LUT_SHIFT = 3  # colours are classified on a 32^3 grid


@functools.lru_cache(maxsize=8)
def _class_lut(style: RenderStyle, background: tuple, max_dist: float, by: str) -> np.ndarray:
    """Class of every quantised RGB colour (``-1``: no prototype within ``max_dist``)."""
    protos, ids, _ = color_classes(style, background, by)
    levels = (np.arange(256 >> _LUT_SHIFT) << _LUT_SHIFT) + (1 << _LUT_SHIFT) / 2 - 0.5
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3).astype(np.float32)
    d = ((grid[:, None, :] - protos[None]) ** 2).sum(-1)
    best = d.argmin(1)
    return np.where(d[np.arange(len(grid)), best] <= max_dist**2, ids[best], -1).astype(np.int16)


def limb_overlap(
    label_a: np.ndarray,
    label_b: np.ndarray,
    dilate_px: int = 3,
    style: str | RenderStyle = "edn",
    background: Color = WHITE,
    tol: int = 40,
    max_dist: float = 45.0,
    by: str = "part",
) -> tuple[float, np.ndarray]:
    """Colour-aware overlap of two label maps drawn in ``style``.

    Returns ``(overall, per_class)``: ``per_class[c]`` is the IoU of the dilated masks of class
    ``c`` (see :func:`color_classes`; NaN where neither map has it) and ``overall`` is the
    pixel-weighted ``sum(intersections) / sum(unions)`` over classes (1.0 if both are empty).
    Swapping a person's left and right keeps :func:`skeleton_overlap` but ruins this score.
    """
    _check_pair(label_a, label_b)
    ca = classify_colors(label_a, style, background, tol, max_dist, by)
    cb = classify_colors(label_b, style, background, tol, max_dist, by)
    n = len(color_classes(style, background, by)[2])
    box = _crop_box(ca >= 0, cb >= 0, dilate_px + 1)
    ca, cb = ca[box], cb[box]
    present = (np.bincount(ca[ca >= 0], minlength=n) + np.bincount(cb[cb >= 0], minlength=n)) > 0
    per_class = np.full(n, np.nan)
    inter_sum = union_sum = 0
    for c in np.flatnonzero(present):
        inter, union = _iou(_dilate(ca == c, dilate_px), _dilate(cb == c, dilate_px))
        per_class[c] = inter / union
        inter_sum, union_sum = inter_sum + inter, union_sum + union
    return (1.0 if union_sum == 0 else inter_sum / union_sum), per_class
