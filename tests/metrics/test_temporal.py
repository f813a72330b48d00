"""Warping error and tOF on synthetic sequences with known motion."""

import math

import cv2
import numpy as np
import pytest

from v2v_pipeline.metrics import farneback_flow, tof, warping_error

H, W, SHIFT = 48, 64, 2


def _texture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth random RGB texture (blurred noise, contrast stretched): trackable by Farneback."""
    noise = np.random.default_rng(seed).uniform(0, 255, (h, w, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 2.0)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255
    return smooth.astype(np.uint8)


def _translating(n: int) -> list[np.ndarray]:
    """frame k(x) = tex(x - SHIFT * k): the content moves SHIFT pixels right per frame."""
    tex = _texture(H, W + SHIFT * n)
    off = SHIFT * n
    return [tex[:, off - SHIFT * k : off - SHIFT * k + W].copy() for k in range(n)]


def test_warping_error_static_scene_is_zero():
    frames = [_texture(H, W)] * 4
    flows = [np.zeros((H, W, 2), np.float32)] * 3
    res = warping_error(frames, flows)
    assert res.per_pair.shape == (3,)
    np.testing.assert_array_equal(res.per_pair, 0.0)
    assert res.mean == 0.0


def test_warping_error_translation_with_exact_flow():
    frames = _translating(4)
    # backward flow (t -> t-1): frame t-1 is sampled at x - SHIFT
    back = np.zeros((H, W, 2), np.float32)
    back[..., 0] = -SHIFT
    valid = np.zeros((H, W), bool)
    valid[:, SHIFT:] = True  # the first SHIFT columns are new content
    exact = warping_error(frames, [back] * 3, [valid] * 3)
    assert exact.mean < 1e-3
    unmasked = warping_error(frames, [back] * 3)
    assert exact.mean < unmasked.mean < 5.0  # only the 2 new columns contribute
    wrong = warping_error(frames, [np.zeros_like(back)] * 3, [valid] * 3)
    assert wrong.mean > 10.0
    # a pair without valid pixels is nan and ignored in the mean
    part = warping_error(frames, [np.zeros_like(back)] * 3, [valid, np.zeros_like(valid), valid])
    assert math.isnan(part.per_pair[1])
    assert part.mean == pytest.approx(wrong.per_pair[[0, 2]].mean())


def test_warping_error_validation():
    frames = [_texture(H, W)] * 3
    with pytest.raises(ValueError, match="T-1 flows"):
        warping_error(frames, [np.zeros((H, W, 2))])
    with pytest.raises(ValueError, match="valid mask"):
        warping_error(frames, [np.zeros((H, W, 2))] * 2, [np.ones((4, 4), bool)] * 2)


def test_farneback_flow_direction():
    f0, f1 = _translating(2)
    flow = farneback_flow(f0, f1)  # from f0 to f1: f0(x) = f1(x + flow)
    interior = flow[8:-8, 8:-8]
    assert np.median(interior[..., 0]) == pytest.approx(SHIFT, abs=0.25)
    assert np.median(interior[..., 1]) == pytest.approx(0.0, abs=0.25)


def test_tof_identical_is_zero_and_static_vs_moving_is_the_motion():
    real = _translating(8)
    same = tof(real, [f.copy() for f in real])
    assert same.per_pair.shape == (8 - 2 * 2 - 1,)
    assert same.mean == 0.0
    frozen = tof([real[0]] * 8, real)  # generated video does not move: error ~ |real flow| = SHIFT
    assert 0.6 * SHIFT < frozen.mean < 1.2 * SHIFT
    with pytest.raises(ValueError, match="at least 6 frames"):
        tof(real[:5], real[:5])
    with pytest.raises(ValueError, match="generated vs"):
        tof(real[:7], real)
