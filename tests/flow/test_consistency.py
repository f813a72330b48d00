"""Forward-backward consistency masks and the photometric error."""

from __future__ import annotations

import numpy as np

from tests.flow.synthetic import H, W, moved_pair, moving_square, textured_image, translation
from v2v_pipeline.flow import compute_flow_pairs, consistency_mask, photometric_error, warp_image

X0, Y0, SIZE, DX = 200, 80, 96, 12


def disoccluded_strip() -> np.ndarray:
    """Pixels of frame 1 uncovered by the square's move (background hidden in frame 0)."""
    strip = np.zeros((H, W), bool)
    strip[Y0 : Y0 + SIZE, X0 : X0 + DX] = True
    return strip


def test_exact_flows_mark_exactly_the_disocclusion_of_frame1() -> None:
    _, _, forward, backward = moving_square(x0=X0, y0=Y0, size=SIZE, dx=DX)
    valid, confidence = consistency_mask(forward[None], backward[None])
    assert valid.shape == confidence.shape == (1, H, W)
    np.testing.assert_array_equal(~valid[0], disoccluded_strip())
    assert np.all(confidence[0][valid[0]] == 1.0)
    assert np.all(confidence[0][~valid[0]] == 0.0)


def test_dis_flows_mark_the_disocclusion_invalid_and_the_rest_valid() -> None:
    f0, f1, _, _ = moving_square(x0=X0, y0=Y0, size=SIZE, dx=DX)
    forward, backward = compute_flow_pairs([f0, f1], "dis")
    valid, confidence = consistency_mask(forward, backward)
    strip = disoccluded_strip()
    away = np.ones((H, W), bool)  # further than 20 px from the square's edges
    away[Y0 - 20 : Y0 + SIZE + 20, X0 - 20 : X0 + DX + SIZE + 20] = False
    assert (~valid[0][strip]).mean() > 0.8
    assert valid[0][away].mean() > 0.97
    assert confidence[0][strip].mean() < 0.2
    assert confidence[0][away].mean() > 0.7


def test_flow_leaving_the_frame_is_invalid() -> None:
    forward = np.full((1, 32, 64, 2), [5.0, 0.0], np.float32)
    backward = -forward
    valid, _ = consistency_mask(forward, backward)
    assert not valid[0][:, :5].any()  # frame-1 pixels whose source lies left of frame 0
    assert valid[0][:, 5:].all()


def test_single_pair_shapes_are_accepted() -> None:
    forward = np.zeros((16, 16, 2), np.float32)
    valid, confidence = consistency_mask(forward, forward)
    assert valid.shape == (16, 16) and valid.all()
    assert confidence.dtype == np.float32


def test_photometric_error_uses_the_backward_flow_of_the_pair() -> None:
    f0 = textured_image(2)
    f1, forward, backward = moved_pair(f0, translation(3.4, 1.2))
    inner = np.zeros((H, W), bool)
    inner[16:-16, 16:-16] = True
    assert photometric_error(f0, f1, backward, inner) < 0.5
    assert photometric_error(f0, f1, None, inner) > 10 * photometric_error(f0, f1, backward, inner)
    assert photometric_error(f0, f1, forward, inner) > 10 * photometric_error(f0, f1, backward, inner)


def test_photometric_error_value_and_mask() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 30
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    zero = np.zeros((4, 4, 2), np.float32)
    assert photometric_error(a, b, zero) == 30 / 16
    assert photometric_error(a, b, zero, mask) == 15.0
    np.testing.assert_allclose(warp_image(a.astype(np.float32), zero), a)
