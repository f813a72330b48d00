"""SSIM / PSNR: hand-computed values, masks and boxes, agreement with scikit-image."""

import math

import numpy as np
import pytest
import torch

from v2v_pipeline.metrics import (
    images_to_tensor,
    psnr,
    psnr_torch,
    ssim,
    ssim_map,
    ssim_map_torch,
    ssim_torch,
)


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _noisy(img: np.ndarray, sigma: float, seed: int = 1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def test_ssim_identical_is_one_and_negation_is_negative():
    a = _textured(48, 64)
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, 255 - a) < -0.5
    mild, strong = ssim(a, _noisy(a, 10)), ssim(a, _noisy(a, 60))
    assert 1.0 > mild > strong > 0.0


@pytest.mark.parametrize("shape", [(48, 64, 3), (40, 52), (33, 45, 4)])
def test_ssim_agrees_with_skimage(shape):
    metrics = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = _noisy(a, 25)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    if len(shape) == 3:
        kw["channel_axis"] = -1
    ref, ref_map = metrics.structural_similarity(a, b, full=True, **kw)
    assert ssim(a, b) == pytest.approx(ref, abs=1e-4)
    ref_map = ref_map.mean(axis=-1) if len(shape) == 3 else ref_map
    np.testing.assert_allclose(ssim_map(a, b), ref_map, atol=1e-6)
    # the torch map (float64, reflect padding) is the same map
    x, y = (torch.from_numpy(im.reshape(*im.shape[:2], -1).astype(np.float64)).permute(2, 0, 1)[None] for im in (a, b))
    torch_map = ssim_map_torch(x, y, 255.0)[0].mean(dim=0).numpy()
    np.testing.assert_allclose(torch_map, ref_map, atol=1e-6)


def test_ssim_box_is_the_score_of_the_crops():
    a = _textured(60, 80)
    b = _textured(60, 80, seed=5)
    b[10:40, 20:60] = a[10:40, 20:60]  # identical inside the box
    box = (20, 10, 60, 40)
    assert ssim(a, b, box=box) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, b) < 0.5
    # a box reaching past the image is clipped
    assert ssim(a, b, box=(-5, -5, 200, 200)) == pytest.approx(ssim(a, b), abs=1e-12)
    assert math.isnan(ssim(a, b, box=(0, 0, 10, 50)))  # narrower than the 11-pixel window


def test_ssim_mask_is_a_masked_mean_of_the_map():
    a = _textured(50, 80)
    b = a.copy()
    b[:, 40:] = _noisy(a, 40)[:, 40:]  # right half differs
    left = np.zeros(a.shape[:2], bool)
    left[:, :34] = True  # windows (radius 5) of these pixels stay in the identical half
    assert ssim(a, b, mask=left) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, b, mask=~left) < ssim(a, b) < 1.0
    assert ssim(a, b, mask=np.ones(a.shape[:2], bool)) == pytest.approx(ssim(a, b), abs=1e-12)
    only_border = np.zeros(a.shape[:2], bool)
    only_border[:5] = True
    assert math.isnan(ssim(a, b, mask=only_border))


def test_ssim_torch_matches_numpy_batch():
    a = np.stack([_textured(40, 56, s) for s in range(3)])
    b = np.stack([_noisy(img, 20 + 10 * i, seed=i) for i, img in enumerate(a)])
    x, y = images_to_tensor(a).requires_grad_(True), images_to_tensor(b)
    got = ssim_torch(x, y)
    expected = [ssim(ai, bi) for ai, bi in zip(a, b)]
    np.testing.assert_allclose(got.detach().numpy(), expected, atol=1e-5)
    got.sum().backward()  # usable as a training loss
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_psnr_known_noise_level_identity_and_mask():
    rng = np.random.default_rng(0)
    a = rng.integers(5, 251, (32, 40, 3)).astype(np.uint8)
    signs = rng.choice([-5, 5], size=a.shape)
    b = (a.astype(int) + signs).astype(np.uint8)
    expected = 20 * math.log10(255 / 5)
    assert psnr(a, b) == pytest.approx(expected, abs=1e-9)
    assert psnr(a, a) == math.inf
    # masked: error 5 inside the mask, 50 outside
    mask = np.zeros(a.shape[:2], bool)
    mask[8:20, 10:30] = True
    c = np.clip(a.astype(int) + 50, 0, 255).astype(np.uint8)
    c[mask] = b[mask]
    assert psnr(a, c, mask=mask) == pytest.approx(expected, abs=1e-9)
    assert psnr(a, c) < expected - 10
    assert math.isnan(psnr(a, c, mask=np.zeros_like(mask)))
    assert psnr(a.astype(float) / 255, b.astype(float) / 255, data_range=1.0) == pytest.approx(expected)


def test_psnr_torch_matches_numpy():
    a, b = _textured(20, 24), _noisy(_textured(20, 24), 10)
    got = psnr_torch(images_to_tensor(np.stack([a, a])), images_to_tensor(np.stack([b, a])))
    assert got[0].item() == pytest.approx(psnr(a, b), abs=1e-3)
    assert torch.isinf(got[1])


def test_input_validation():
    a = _textured(20, 20)
    with pytest.raises(ValueError, match="differ in shape"):
        ssim(a, a[:10])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(a[:8], a[:8])
    with pytest.raises(ValueError, match="mask shape"):
        psnr(a, a, mask=np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="uint8"):
        images_to_tensor(a.astype(np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_metrics_on_cuda_match_cpu():
    a = np.stack([_textured(40, 56, s) for s in range(2)])
    b = np.stack([_noisy(img, 20) for img in a])
    x, y = images_to_tensor(a), images_to_tensor(b)
    for fn in (ssim_torch, psnr_torch):
        torch.testing.assert_close(fn(x.cuda(), y.cuda()).cpu(), fn(x, y), rtol=1e-4, atol=1e-4)


def test_gpu_blur_path_equals_conv_path():
    from v2v_pipeline.metrics.image import _blur_conv, _blur_shifts, _gaussian_window

    x = torch.rand(2, 5, 20, 23, dtype=torch.float64)
    g = _gaussian_window(torch.float64, torch.device("cpu"))
    torch.testing.assert_close(_blur_shifts(x, g), _blur_conv(x, g), rtol=1e-12, atol=1e-12)
