"""Face boxes recovered from an EDN-style RGB label map, for label maps that come without keypoints.

A transfer from a folder of label maps (``transfer.source.label_folder``) has no keypoints, so the
face GAN had no box to refine. EDN's renderer (:mod:`.render`) draws the face as black dots (the 8
face points), the eye and ear joints as opaque dots and the eye-to-ear limbs in colours no body limb
uses (blended over white at alpha 0.6). The box is centred on the black face points (else on the
head pixels) and sized like :func:`.render.face_box` without a torso: ``head_factor`` x the spread of
the head pixels (2.9: at face_box's 2.2 the boxes were 0.76x MediaPipe's on subject 4, median). Only
the head pixels connected to the most face and ear/eye dots count, so a dark speck or a hand drawn
elsewhere does not move the box. Checked against MediaPipe's face boxes of the same frames on EDN's
published maps (tests/labels/test_map_boxes.py): centre distance median 4 % of the box side.
"""

from __future__ import annotations

import cv2
import numpy as np

from v2v_pipeline.boxes import Box, square_box

from . import skeleton as sk

# the limbs REye->REar and LEye->LEar take their first joint's colour (EDN's renderpose23); the joints
# REye, REar, LEye, LEar are drawn as opaque dots in their own colours (the nose shares the torso's blue)
_EYE_EAR_LIMBS = ((19, 20), (21, 22))
_HEAD_JOINTS = (19, 20, 21, 22)
_ALPHA = 0.6  # EDN blends limbs over the canvas with this alpha (render.RenderStyle)
_DARK = 80  # the face dots are black; every channel of a face-dot pixel is below this


def _colors(joints) -> np.ndarray:
    return np.stack([np.asarray(sk.EDN_BODY_23_COLORS[j], np.float32) for j in joints])


HEAD_JOINT_COLORS = _colors(_HEAD_JOINTS)
HEAD_LIMB_COLORS = _ALPHA * _colors([a for a, _ in _EYE_EAR_LIMBS]) + (1 - _ALPHA) * 255.0


def _near(rgb: np.ndarray, colors: np.ndarray, tolerance: float) -> np.ndarray:
    return (np.abs(rgb[:, :, None, :] - colors[None, None]).max(-1) <= tolerance).any(-1)


def head_mask(label: np.ndarray, dark: int = _DARK,
              tolerance: float = 20.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(face dots, seeds, head pixels)``: boolean masks of the black face dots, of the pixels only a head
    has (the face dots and the eye and ear joint dots) and of every head pixel (those plus the eye-to-ear
    limbs), colours within ``tolerance`` per channel."""
    if label.ndim != 3 or label.shape[2] != 3:
        raise ValueError(f"face boxes need an RGB label map, got shape {label.shape}")
    rgb = label.astype(np.float32)
    dots = rgb.max(-1) < dark
    seeds = dots | _near(rgb, HEAD_JOINT_COLORS, tolerance)
    return dots, seeds, seeds | _near(rgb, HEAD_LIMB_COLORS, tolerance)


def face_box_from_map(label: np.ndarray, *, head_factor: float = 2.9, min_size: int = 16,
                      min_pixels: int = 4) -> Box | None:
    """Square face box ``(x0, y0, x1, y1)`` of one RGB label map, or None when it shows no head."""
    dots, seeds, head = head_mask(label)
    if seeds.sum() < min_pixels:
        return None
    h, w = label.shape[:2]
    reach = max(3, h // 20) | 1  # head parts closer than this belong together (about half a face)
    n, comp = cv2.connectedComponents(cv2.dilate(head.astype(np.uint8), np.ones((reach, reach), np.uint8)))
    keep = comp == np.bincount(comp[seeds], minlength=n)[1:].argmax() + 1  # the component with most seeds
    ys, xs = np.nonzero(head & keep)
    dots &= keep
    fy, fx = np.nonzero(dots) if dots.sum() >= min_pixels else (ys, xs)
    center = (float(fx.mean()), float(fy.mean()))
    spread = float(max(np.ptp(xs), np.ptp(ys)) + 1)
    return square_box(center, head_factor * spread, (w, h), min_size)


def face_boxes_from_maps(labels, fit_to=None, **kw) -> np.ndarray:
    """``(N, 4)`` float boxes (NaN rows where a map shows no head) of an iterable of RGB label maps.

    Boxes are found at each map's own resolution; ``fit_to`` = ``(size, mode)`` maps them into the
    frame :func:`v2v_pipeline.video.io.fit_to_size` makes of that map (each map's own size counts).
    Only the box centre matters to the face GAN (it crops the side it was trained with).
    """
    from v2v_pipeline.video.io import fit_transform

    rows = []
    for label in labels:
        box = face_box_from_map(label, **kw)
        if box is None:
            rows.append([np.nan] * 4)
            continue
        x0, y0, x1, y1 = (float(v) for v in box)
        if fit_to is not None:
            sx, sy, dx, dy = fit_transform((label.shape[1], label.shape[0]), *fit_to)
            x0, x1, y0, y1 = x0 * sx + dx, x1 * sx + dx, y0 * sy + dy, y1 * sy + dy
        rows.append([x0, y0, x1, y1])
    return np.asarray(rows, np.float64).reshape(-1, 4)
