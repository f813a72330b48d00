"""Synthetic image pairs with known optical flow for the flow tests."""

from __future__ import annotations

import cv2
import numpy as np

from v2v_pipeline.flow.warp import warp_image

W, H = 512, 256


def textured_image(seed: int = 0, w: int = W, h: int = H) -> np.ndarray:
    """RGB uint8 texture: multi-scale smoothed noise plus random filled shapes."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for sigma, weight in ((1.5, 0.5), (4.0, 0.3), (12.0, 0.2)):
        noise = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), sigma)
        noise = (noise - noise.mean()) / (noise.std() + 1e-6)
        img += weight * noise
    img = np.clip(128 + 40 * img, 0, 255).astype(np.uint8)
    for _ in range(25):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), int(rng.integers(5, 30)), color, -1, cv2.LINE_AA)
        else:
            dx, dy = (int(v) for v in rng.integers(8, 50, 2))
            cv2.rectangle(img, (x, y), (x + dx, y + dy), color, -1)
    return img


def affine_flows(matrix: np.ndarray, w: int = W, h: int = H) -> tuple[np.ndarray, np.ndarray]:
    """Forward/backward flows of the 2x3 affine motion ``p -> matrix @ [p, 1]`` (frame 0 -> 1)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    pts = np.stack([xs, ys, np.ones_like(xs)], -1)
    full = np.vstack([matrix, [0, 0, 1]])
    inv = np.linalg.inv(full)[:2]
    forward = pts @ matrix.T - pts[..., :2]
    backward = pts @ inv.T - pts[..., :2]
    return forward.astype(np.float32), backward.astype(np.float32)


def moved_pair(image: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frame1, forward, backward)``: ``image`` moved by the affine ``matrix`` with cv2.remap."""
    h, w = image.shape[:2]
    forward, backward = affine_flows(matrix, w, h)
    return warp_image(image, backward), forward, backward


def rotation(deg: float, w: int = W, h: int = H) -> np.ndarray:
    return cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), deg, 1.0)


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]])


def moving_square(
    seed: int = 1, x0: int = 200, y0: int = 80, size: int = 96, dx: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Static background with a textured square moving right by ``dx`` px.

    Returns ``(frame0, frame1, forward, backward)`` with the exact flows.
    """
    bg = textured_image(seed)
    fg = textured_image(seed + 100)[:size, :size]
    f0, f1 = bg.copy(), bg.copy()
    f0[y0 : y0 + size, x0 : x0 + size] = fg
    f1[y0 : y0 + size, x0 + dx : x0 + dx + size] = fg
    forward = np.zeros((H, W, 2), np.float32)
    backward = np.zeros((H, W, 2), np.float32)
    forward[y0 : y0 + size, x0 : x0 + size, 0] = dx
    backward[y0 : y0 + size, x0 + dx : x0 + dx + size, 0] = -dx
    return f0, f1, forward, backward
