"""Warping errors (Lai et al. 2018 and the L1 variant) and tOF on synthetic sequences with known motion."""

import math

import cv2
import numpy as np
import pytest

from v2v_pipeline.metrics import farneback_flow, tof, warp_error, warp_l1_255, warping_error

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


def test_warp_l1_255_static_scene_is_zero():
    frames = [_texture(H, W)] * 4
    flows = [np.zeros((H, W, 2), np.float32)] * 3
    res = warp_l1_255(frames, flows)
    assert res.per_pair.shape == (3,)
    np.testing.assert_array_equal(res.per_pair, 0.0)
    assert res.mean == 0.0


def test_warp_l1_255_translation_with_exact_flow():
    frames = _translating(4)
    # backward flow (t -> t-1): frame t-1 is sampled at x - SHIFT
    back = np.zeros((H, W, 2), np.float32)
    back[..., 0] = -SHIFT
    valid = np.zeros((H, W), bool)
    valid[:, SHIFT:] = True  # the first SHIFT columns are new content
    exact = warp_l1_255(frames, [back] * 3, [valid] * 3)
    assert exact.mean < 1e-3
    unmasked = warp_l1_255(frames, [back] * 3)
    assert exact.mean < unmasked.mean < 5.0  # only the 2 new columns contribute
    wrong = warp_l1_255(frames, [np.zeros_like(back)] * 3, [valid] * 3)
    assert wrong.mean > 10.0
    # a pair without valid pixels is nan and ignored in the mean
    part = warp_l1_255(frames, [np.zeros_like(back)] * 3, [valid, np.zeros_like(valid), valid])
    assert math.isnan(part.per_pair[1])
    assert part.mean == pytest.approx(wrong.per_pair[[0, 2]].mean())


def test_warp_l1_255_validation():
    frames = [_texture(H, W)] * 3
    with pytest.raises(ValueError, match="T-1 flows"):
        warp_l1_255(frames, [np.zeros((H, W, 2))])
    with pytest.raises(ValueError, match="valid mask"):
        warp_l1_255(frames, [np.zeros((H, W, 2))] * 2, [np.ones((4, 4), bool)] * 2)


def test_warping_error_is_the_l1_alias():
    assert warping_error is warp_l1_255


def _lai_restated(frames, flows, masks):
    """evaluate_WarpError.py of Lai et al. (fast_blind_video_consistency), restated: images in [0, 1],
    img1 warped onto img2 with the backward flow (cv2.remap, bilinear), the non-occlusion mask
    replicated over the 3 channels, err = sum((img2 - warp(img1)) * mask)^2 / sum(mask); mean over pairs."""
    h, w = frames[0].shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    errs = []
    for t in range(1, len(frames)):
        img1, img2 = frames[t - 1].astype(np.float32) / 255, frames[t].astype(np.float32) / 255
        flow = flows[t - 1]
        warped = cv2.remap(img1, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)
        noc = np.repeat(masks[t - 1].astype(np.float32)[..., None], 3, axis=2)
        diff = (img2 - warped) * noc
        errs.append(float(np.sum(diff**2) / np.sum(noc)))
    return np.array(errs)


def test_warp_error_equals_a_direct_restatement_of_lai_et_al():
    rng = np.random.default_rng(0)
    frames = _translating(5)
    flows = [rng.uniform(-3, 3, (H, W, 2)).astype(np.float32) for _ in range(4)]  # sub-pixel, arbitrary
    masks = [rng.random((H, W)) > 0.3 for _ in range(4)]
    want = _lai_restated(frames, flows, masks)
    got = warp_error(frames, flows, masks)
    np.testing.assert_allclose(got.per_pair, want, rtol=1e-5)
    assert got.mean == pytest.approx(want.mean(), rel=1e-5)
    # on [0, 1] squared, not |.| on 0..255: the two metrics are different numbers for the same clip
    l1 = warp_l1_255(frames, flows, masks)
    assert got.mean < 0.2 and l1.mean > 1 and not np.allclose(got.per_pair, l1.per_pair)
    # exact flow with the new columns masked out: ~0
    back = np.zeros((H, W, 2), np.float32)
    back[..., 0] = -SHIFT
    valid = np.zeros((H, W), bool)
    valid[:, SHIFT:] = True
    assert warp_error(frames, [back] * 4, [valid] * 4).mean < 1e-8
    with pytest.raises(ValueError, match="uint8"):
        warp_error([f.astype(np.float32) for f in frames], flows, masks)


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
