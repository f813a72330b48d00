"""Render pose keypoints into EDN-style label maps, plus face boxes and contact sheets.

The default ``"edn"`` style reproduces Everybody Dance Now's published label maps. Those
were made from OpenPose's experimental BODY_23 model with EDN's ``renderpose23``, so BODY_25
input is converted to BODY_23 first (heels dropped). EDN draws (``data_prep/renderopenpose.py``,
``graph_train.py``) on a 1920x1080 white canvas

* a filled circle of radius 8 at every body joint (opaque),
* every limb as a filled ellipse (``cv2.ellipse2Poly`` with half-width 4) blended over the
  canvas with alpha 0.6, in limb order,
* 8 sparse face points as black dots of radius 4 (if the mean face confidence >= 0.2),
* hand joints as radius-3 dots and hand limbs as half-width-2 ellipses,

and then resizes the canvas to 1024x512 with PIL's Lanczos filter, which anti-aliases it.
:func:`render_pose` does the same: it draws with EDN's integer primitives on a canvas whose
height is ``style.ref_height`` (1080) and resamples to the requested size, so stroke widths
scale with the image. ``canvas_size=EDN_CANVAS, supersample=None, resample="lanczos"``
reproduces EDN's pipeline exactly: from the OpenPose keypoints EDN ships for frame 20001
of subject 4 it gives the published 1024x512 label map (one pixel differs by one grey
level). By default
the same shapes are rasterised at twice the output size and area-averaged, which is ~10x
faster and differs from EDN only in the anti-aliased edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from v2v_pipeline.boxes import square_box

from . import skeleton as sk

Size = tuple[int, int]  # (width, height), as everywhere in the project config
Color = tuple[float, float, float]
EDN_CANVAS: Size = (1920, 1080)
WHITE: Color = (255, 255, 255)


@dataclass(frozen=True)
class RenderStyle:
    """How a skeleton is drawn. Sizes are in pixels of a canvas ``ref_height`` pixels tall."""

    name: str
    layout: str  # "body23" (EDN) or "body25": the layout BODY_25 input is converted to
    pairs: tuple[tuple[int, int], ...]
    colors: tuple[Color, ...]  # per joint of ``layout``
    limb_color_joint: int  # a limb takes the colour of its joint 0 (first) or 1 (second)
    joint_radius: int = 8
    stick_width: int = 4
    alpha: float = 0.6
    hand_radius: int = 3
    hand_stick_width: int = 2
    hand_threshold: float = 0.05
    face_points: tuple[int, ...] | None = sk.EDN_FACE_POINTS  # None: all 70
    face_radius: int = 4
    face_color: Color = (0, 0, 0)
    face_threshold: float = 0.2  # minimum mean face confidence
    ref_height: int = 1080

    def limb_colors(self) -> list[Color]:
        return [self.colors[p[self.limb_color_joint]] for p in self.pairs]

    def to_layout(self, body25: np.ndarray) -> np.ndarray:
        return sk.body25_to_body23(body25) if self.layout == "body23" else np.asarray(body25, np.float32)


EDN = RenderStyle("edn", "body23", sk.EDN_BODY_23_PAIRS, sk.EDN_BODY_23_COLORS, 0)
OPENPOSE = RenderStyle("openpose", "body25", sk.BODY_25_PAIRS, sk.BODY_25_COLORS, 1, face_points=None, face_radius=2)
STYLES: dict[str, RenderStyle] = {"edn": EDN, "openpose": OPENPOSE}


def get_style(style: str | RenderStyle) -> RenderStyle:
    if isinstance(style, RenderStyle):
        return style
    if style not in STYLES:
        raise ValueError(f"unknown render style {style!r}; choose one of {sorted(STYLES)} or pass a RenderStyle")
    return STYLES[style]


# --------------------------------------------------------------------------- drawing primitives
class _Painter:
    """Draws EDN's primitives, defined on an integer *geometry* canvas, onto a raster canvas.

    Shapes are computed exactly as EDN does on the geometry canvas (integer centres, radii and
    ``cv2.ellipse2Poly`` polygons) and then mapped to the raster with sub-pixel precision, so a
    smaller supersampled raster gives the same picture as EDN's big canvas, only faster.
    """

    SHIFT = 4  # fixed-point bits for sub-pixel drawing

    def __init__(self, raster: np.ndarray, scale: tuple[float, float]) -> None:
        self.canvas, self.sx, self.sy = raster, float(scale[0]), float(scale[1])
        self.exact = self.sx == 1.0 and self.sy == 1.0

    def _fix(self, xy: np.ndarray) -> np.ndarray:
        """Geometry pixel coords -> fixed-point raster coords (pixel centres stay centres)."""
        sc = np.array([self.sx, self.sy])
        return np.round(((np.asarray(xy, np.float64) + 0.5) * sc - 0.5) * (1 << self.SHIFT)).astype(np.int32)

    def circle(self, x: float, y: float, radius: int, color: Color) -> None:
        center = (int(x), int(y))
        if self.exact:
            cv2.circle(self.canvas, center, radius, color, -1)
            return
        c = self._fix(center)
        axes = (round(radius * self.sx * (1 << self.SHIFT)), round(radius * self.sy * (1 << self.SHIFT)))
        cv2.ellipse(self.canvas, (int(c[0]), int(c[1])), axes, 0, 0, 360, color, -1, cv2.LINE_8, self.SHIFT)

    def limb(self, p0: np.ndarray, p1: np.ndarray, half_width: int, color: Color, alpha: float) -> None:
        """EDN's limb: an ellipse from p0 to p1 blended with ``alpha`` (only its bounding box is touched)."""
        mx, my = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
        length = math.hypot(p0[0] - p1[0], p0[1] - p1[1])
        angle = math.degrees(math.atan2(p0[1] - p1[1], p0[0] - p1[0]))
        poly = cv2.ellipse2Poly((int(mx), int(my)), (int(length / 2), half_width), int(angle), 0, 360, 1)
        shift = 0 if self.exact else self.SHIFT  # exact: EDN's own call, bit for bit
        if not self.exact:
            poly = self._fix(poly)
        h, w = self.canvas.shape[:2]
        x0, y0 = np.maximum(poly.min(0) >> shift, 0)
        x1, y1 = np.minimum((poly.max(0) >> shift) + 2, (w, h))
        if x0 >= x1 or y0 >= y1:
            return
        roi = self.canvas[y0:y1, x0:x1]
        cur = roi.copy()
        cv2.fillConvexPoly(cur, poly - (np.array([x0, y0]) << shift), color, cv2.LINE_8, shift)
        cv2.addWeighted(roi, 1 - alpha, cur, alpha, 0, dst=roi)


def _scaled(value: int, scale: float) -> int:
    return max(1, round(value * scale))


def _draw_hand(paint: _Painter, hand: np.ndarray, style: RenderStyle, s: float) -> None:
    ok = hand[:, 2] > style.hand_threshold
    for j in np.flatnonzero(ok):
        paint.circle(hand[j, 0], hand[j, 1], _scaled(style.hand_radius, s), sk.EDN_HAND_COLORS[j])
    for a, b in sk.HAND_PAIRS:
        if ok[a] and ok[b]:
            paint.limb(hand[a], hand[b], _scaled(style.hand_stick_width, s), sk.EDN_HAND_COLORS[b], style.alpha)


def _resample(canvas: np.ndarray, size: Size, resample: str) -> np.ndarray:
    if canvas.shape[1::-1] == tuple(size):
        return canvas
    if resample == "lanczos":  # what EDN used (PIL ANTIALIAS)
        from PIL import Image

        return np.asarray(Image.fromarray(canvas).resize(tuple(size), Image.Resampling.LANCZOS))
    if resample == "area":
        return cv2.resize(canvas, tuple(size), interpolation=cv2.INTER_AREA)
    raise ValueError(f"resample must be 'lanczos' or 'area', got {resample!r}")


def render_pose(
    body: np.ndarray,
    size: Size,
    face: np.ndarray | None = None,
    hands: np.ndarray | None = None,
    *,
    style: str | RenderStyle = "edn",
    background: Color = WHITE,
    canvas_size: Size | None = None,
    supersample: int | None = 2,
    resample: str = "area",
) -> np.ndarray:
    """Draw one person's skeleton as an RGB uint8 label map of ``size = (width, height)``.

    Args:
        body: ``(25, 3)`` BODY_25 keypoints in pixels of ``size``; confidence 0 = missing.
        face: optional ``(70, 3)`` OpenPose face keypoints.
        hands: optional ``(2, 21, 3)`` hand keypoints, index 0 = left hand, 1 = right hand.
        style: ``"edn"`` (EDN's BODY_23 look, the default), ``"openpose"`` (OpenPose's BODY_25
            colours) or a :class:`RenderStyle`.
        background: canvas colour (EDN: white).
        canvas_size: the geometry canvas the shapes are defined on; strokes are the ``style``
            sizes times ``canvas_height / style.ref_height``. Default: the output's aspect ratio
            at ``style.ref_height`` (1080) pixels high (or the output size if that is taller);
            :data:`EDN_CANVAS` gives EDN's 1920x1080 canvas (wider strokes at 2:1 outputs).
        supersample: the shapes are rasterised at ``supersample x size`` and area-averaged down
            (anti-aliasing). None rasterises on the full geometry canvas, like EDN (slow).
        resample: downsampling filter, ``"area"`` (OpenCV) or ``"lanczos"`` (Pillow, what EDN used).
    """
    st = get_style(style)
    w, h = int(size[0]), int(size[1])
    if canvas_size is None:
        canvas_size = (round(w * st.ref_height / h), st.ref_height) if h < st.ref_height else (w, h)
    cw, ch = int(canvas_size[0]), int(canvas_size[1])
    rw, rh = (cw, ch) if supersample is None else (w * int(supersample), h * int(supersample))
    to_canvas = np.array([cw / w, ch / h, 1.0])

    def on_canvas(kp: np.ndarray) -> np.ndarray:  # rounded so that float noise cannot flip EDN's int()
        return np.round(kp.astype(np.float64) * to_canvas, 4)

    s = ch / st.ref_height
    row = np.tile(np.asarray(background, np.float64).round().astype(np.uint8), rw)
    raster = np.broadcast_to(row, (rh, rw * 3)).reshape(rh, rw, 3).copy()  # fast fill
    paint = _Painter(raster, (rw / cw, rh / ch))

    pts = on_canvas(st.to_layout(sk.check_keypoints(body, 25, "render_pose body")))
    ok = pts[:, 2] > 0
    for j in np.flatnonzero(ok):
        paint.circle(pts[j, 0], pts[j, 1], _scaled(st.joint_radius, s), st.colors[j])
    for (a, b), color in zip(st.pairs, st.limb_colors()):
        if ok[a] and ok[b]:
            paint.limb(pts[a], pts[b], _scaled(st.stick_width, s), color, st.alpha)
    if face is not None:
        fp = on_canvas(sk.check_keypoints(face, 70, "render_pose face"))
        if fp[:, 2].sum() / 70.0 >= st.face_threshold:
            for j in st.face_points if st.face_points is not None else range(70):
                if fp[j, 2] > 0:
                    paint.circle(fp[j, 0], fp[j, 1], _scaled(st.face_radius, s), st.face_color)
    if hands is not None:
        hp = on_canvas(sk.check_keypoints(hands, 21, "render_pose hands").reshape(2, 21, 3))
        for hand in (hp[1], hp[0]):  # EDN draws the right hand first
            _draw_hand(paint, hand, st, s)
    return _resample(raster, (w, h), resample)


def render_sequence(
    keypoints: np.ndarray, size: Size, face: np.ndarray | None = None, hands: np.ndarray | None = None, **kwargs
) -> np.ndarray:
    """Render ``(T, 25, 3)`` keypoints (optional ``(T, 70, 3)`` face, ``(T, 2, 21, 3)`` hands) to ``(T, H, W, 3)``."""
    kp = sk.check_keypoints(keypoints, 25, "render_sequence")
    out = np.empty((len(kp), int(size[1]), int(size[0]), 3), np.uint8)
    for t in range(len(kp)):
        out[t] = render_pose(
            kp[t], size, None if face is None else face[t], None if hands is None else hands[t], **kwargs
        )
    return out


# --------------------------------------------------------------------------- one-hot channels
def limb_classes(style: str | RenderStyle = "edn") -> tuple[np.ndarray, list[Color]]:
    """Group the style's limbs by colour: ``(class index per limb, colour per class)``.

    Limbs with identical colours cannot be told apart in a rendered map, so colour-aware
    comparisons (:func:`~v2v_pipeline.labels.overlap.limb_overlap`) work on these classes.
    """
    colors: list[Color] = []
    cls = []
    for c in get_style(style).limb_colors():
        if c not in colors:
            colors.append(c)
        cls.append(colors.index(c))
    return np.array(cls), colors


def render_limb_masks(
    body: np.ndarray, size: Size, *, style: str | RenderStyle = "edn", dtype: type = np.float32
) -> np.ndarray:
    """One anti-aliased coverage mask per limb of ``style``: ``(L, H, W)``, float32 in [0, 1]
    (or uint8 0..255 with ``dtype=np.uint8``, 4x less memory and faster).

    The geometry matches :func:`render_pose` (ellipses of the scaled stick width); masks of
    limbs with a missing joint are zero.
    """
    st = get_style(style)
    w, h = int(size[0]), int(size[1])
    pts = st.to_layout(sk.check_keypoints(body, 25, "render_limb_masks"))
    half = st.stick_width * h / st.ref_height
    masks = np.zeros((len(st.pairs), h, w), np.uint8)
    t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
    for k, (a, b) in enumerate(st.pairs):
        if pts[a, 2] > 0 and pts[b, 2] > 0:
            d = pts[b, :2] - pts[a, :2]
            length = float(np.hypot(*d))
            u = d / length if length > 0 else np.array([1.0, 0.0])
            ax = np.outer(np.cos(t), u * max(length / 2, half)) + np.outer(np.sin(t), np.array([-u[1], u[0]]) * half)
            poly = np.round((ax + (pts[a, :2] + pts[b, :2]) / 2) * 16).astype(np.int32)
            cv2.fillConvexPoly(masks[k], poly, 255, cv2.LINE_AA, shift=4)
    return masks if dtype == np.uint8 else masks.astype(np.float32) / np.float32(255.0)


# --------------------------------------------------------------------------- face box and previews
_HEAD = [sk.BODY_25_INDEX[n] for n in ("Nose", "REye", "LEye", "REar", "LEar")]


def face_box(
    keypoints: np.ndarray,
    image_size: Size,
    *,
    torso_factor: float = 1.1,
    head_factor: float = 2.2,
    min_size: int = 16,
) -> tuple[int, int, int, int] | None:
    """Square face crop ``(x0, y0, x1, y1)`` (``x1``/``y1`` exclusive) for EDN's face GAN.

    The centre is the nose, else the ear midpoint, else the mean of the visible eyes and ears
    (EDN's ``aveface``). The side is ``torso_factor`` x the neck-to-mid-hip distance (EDN uses
    a fixed 128 px box at 1024x512, about 1.1 torso lengths for its subjects); without a torso
    it is ``head_factor`` x the spread of the head points. The box is shifted to lie inside the
    image (shrunk only if the image is smaller). Returns None when no head point is visible.
    """
    kp = sk.check_keypoints(keypoints, 25, "face_box")
    ok = kp[:, 2] > 0
    if not ok[_HEAD].any():
        return None
    idx = sk.BODY_25_INDEX
    if ok[idx["Nose"]]:
        center = kp[idx["Nose"], :2]
    elif ok[idx["REar"]] and ok[idx["LEar"]]:
        center = (kp[idx["REar"], :2] + kp[idx["LEar"], :2]) / 2
    else:
        center = kp[[j for j in _HEAD if ok[j]], :2].mean(0)
    neck, hip = idx["Neck"], idx["MidHip"]
    if ok[neck] and ok[hip]:
        side = torso_factor * float(np.hypot(*(kp[neck, :2] - kp[hip, :2])))
    else:
        head = kp[[j for j in _HEAD if ok[j]], :2]
        side = head_factor * float((head.max(0) - head.min(0)).max())
    return square_box(center, side, image_size, min_size)


def overlay(frame: np.ndarray, label: np.ndarray, background: Color = WHITE, alpha: float = 1.0) -> np.ndarray:
    """Paste the non-background pixels of ``label`` over ``frame`` (both RGB uint8, same size)."""
    if frame.shape != label.shape:
        raise ValueError(f"frame {frame.shape} and label map {label.shape} differ in shape")
    diff = np.abs(label.astype(np.int16) - np.asarray(background, np.int16)).max(-1)
    a = (np.clip(diff / 64.0, 0, 1) * alpha)[..., None]
    return (frame * (1 - a) + label * a).round().astype(np.uint8)


def contact_sheet(
    frames: Sequence[np.ndarray],
    label_maps: Sequence[np.ndarray],
    n: int = 8,
    width: int = 1024,
    background: Color = WHITE,
) -> np.ndarray:
    """One RGB image with ``n`` evenly spaced rows of ``frame | label map over frame``.

    Each row is scaled to ``width`` pixels; label maps are resized to their frame if needed.
    """
    if len(frames) != len(label_maps) or len(frames) == 0:
        raise ValueError(f"need as many label maps as frames (>0), got {len(frames)} frames and {len(label_maps)} maps")
    rows = []
    for i in np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)):
        f, lab = np.asarray(frames[i]), np.asarray(label_maps[i])
        if lab.shape[:2] != f.shape[:2]:
            lab = cv2.resize(lab, f.shape[1::-1], interpolation=cv2.INTER_AREA)
        row = np.hstack([f, overlay(f, lab, background)])
        rows.append(cv2.resize(row, (width, round(row.shape[0] * width / row.shape[1])), interpolation=cv2.INTER_AREA))
    return np.vstack(rows)
