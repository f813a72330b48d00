"""Synthetic BODY_25 sequences of a person walking between two depths."""

from __future__ import annotations

import numpy as np

# BODY_25 template in units of body height: mean ankle point at (0, 0), nose at (0, -1)
TEMPLATE = np.array(
    [  # BODY_25 order
        (0.00, -1.00),  # nose
        (0.00, -0.87),  # neck
        (-0.10, -0.85),  # r_shoulder
        (-0.13, -0.68),  # r_elbow
        (-0.14, -0.52),  # r_wrist
        (0.10, -0.85),  # l_shoulder
        (0.13, -0.68),  # l_elbow
        (0.14, -0.52),  # l_wrist
        (0.00, -0.50),  # mid_hip
        (-0.06, -0.50),  # r_hip
        (-0.06, -0.25),  # r_knee
        (-0.06, 0.00),  # r_ankle
        (0.06, -0.50),  # l_hip
        (0.06, -0.25),  # l_knee
        (0.06, 0.00),  # l_ankle
        (-0.02, -1.02),  # r_eye
        (0.02, -1.02),  # l_eye
        (-0.05, -1.00),  # r_ear
        (0.05, -1.00),  # l_ear
        (0.09, 0.03),  # l_big_toe
        (0.11, 0.02),  # l_small_toe
        (0.05, 0.02),  # l_heel
        (-0.09, 0.03),  # r_big_toe
        (-0.11, 0.02),  # r_small_toe
        (-0.05, 0.02),  # r_heel
    ]
)


def depth_track() -> np.ndarray:
    """Depth per frame, 0 = far line, 1 = close line: dwell far, walk in, dwell close, walk out."""
    walk = np.arange(1, 17) / 17
    return np.concatenate([np.zeros(30), walk, np.ones(15), walk[::-1], np.zeros(10)])


class Camera:
    """Maps depth d to ankle y and body height (both affine in d, as for a flat floor)."""

    def __init__(self, y_far: float, y_close: float, h_far: float, h_close: float) -> None:
        self.y_far, self.y_close, self.h_far, self.h_close = y_far, y_close, h_far, h_close

    def ankle_y(self, d: np.ndarray) -> np.ndarray:
        return self.y_far + d * (self.y_close - self.y_far)

    def height(self, d: np.ndarray) -> np.ndarray:
        return self.h_far + d * (self.h_close - self.h_far)

    def render(self, d: np.ndarray, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """(N, 25, 3) keypoints; arms swing a little from frame to frame (not rigid)."""
        rng = np.random.default_rng(seed)
        h, y = self.height(d), self.ankle_y(d)
        pose = np.repeat(TEMPLATE[None], len(d), axis=0)
        pose[:, [3, 4, 6, 7], 0] += rng.uniform(-0.05, 0.05, (len(d), 4))
        kp = np.ones((len(d), 25, 3))
        kp[..., 0] = x[:, None] + h[:, None] * pose[..., 0]
        kp[..., 1] = y[:, None] + h[:, None] * pose[..., 1]
        return kp


SOURCE_CAMERA = Camera(y_far=300.0, y_close=420.0, h_far=150.0, h_close=250.0)
TARGET_CAMERA = Camera(y_far=200.0, y_close=460.0, h_far=180.0, h_close=330.0)


def source_and_target() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(depth, source, target)`` keypoints; the two videos use the same depth track."""
    d = depth_track()
    t = np.arange(len(d))
    source = SOURCE_CAMERA.render(d, 600 + 80 * np.sin(t / 9), seed=1)
    target = TARGET_CAMERA.render(d, 512 + 40 * np.cos(t / 7), seed=2)
    return d, source, target
