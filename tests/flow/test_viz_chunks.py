"""Colour-wheel visualisation and float16 flow chunks."""

from __future__ import annotations

import numpy as np
import pytest

from v2v_pipeline.flow import chunk_flows, float16_max_error, flow_to_color, make_colorwheel, unchunk_flows


def test_colorwheel_has_the_middlebury_segments() -> None:
    wheel = make_colorwheel()
    assert wheel.shape == (55, 3)
    # segment starts: red, yellow, green, cyan, blue, magenta
    starts = {0: (255, 0, 0), 15: (255, 255, 0), 21: (0, 255, 0), 25: (0, 255, 255), 36: (0, 0, 255), 49: (255, 0, 255)}
    for index, rgb in starts.items():
        np.testing.assert_array_equal(wheel[index], rgb)


def test_four_directions_get_the_wheel_colours() -> None:
    flow = np.array([[[4.0, 0.0], [0.0, 4.0], [-4.0, 0.0], [0.0, -4.0], [0.0, 0.0]]], np.float32)
    rgb = flow_to_color(flow)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 5, 3)
    right, down, left, up, still = (tuple(int(c) for c in px) for px in rgb[0])
    assert right[0] == 255 and right[1] == 0 and right[2] <= 43  # red
    assert down == (255, 229, 0)  # yellow-orange (between wheel entries 13 and 14)
    assert left == (0, 209, 255)  # cyan-blue (entry 27)
    assert up == (88, 0, 255)  # blue-violet (between entries 40 and 41)
    assert still == (255, 255, 255)  # no motion is white


def test_saturation_follows_magnitude_and_max_flow() -> None:
    flow = np.array([[[1.0, 0.0], [2.0, 0.0], [4.0, 0.0]]], np.float32)
    rgb = flow_to_color(flow).astype(int)
    assert rgb[0, 0, 1] > rgb[0, 1, 1] > rgb[0, 2, 1]  # green channel fades as red saturates
    beyond = flow_to_color(flow, max_flow=2.0)
    assert tuple(beyond[0, 2]) == (191, 0, 0)  # past max_flow: saturated colour at 75 %


def test_flow_to_color_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        flow_to_color(np.zeros((4, 4, 3)))


def test_float16_round_trip_error_at_512x256() -> None:
    rng = np.random.default_rng(0)
    flows = rng.uniform(-100, 100, (3, 256, 512, 2)).astype(np.float32)
    restored = unchunk_flows(chunk_flows(flows, chunk=2))
    err = float(np.abs(restored - flows).max())
    assert err <= float16_max_error(100.0) == 2.0**-5
    assert err < 0.05
    assert err > 0  # float16 really is lossy: the bound is not vacuous


def test_chunks_are_float16_and_split_in_order() -> None:
    flows = np.arange(5 * 2 * 3 * 2, dtype=np.float32).reshape(5, 2, 3, 2)
    chunks = chunk_flows(flows, chunk=2)
    assert [c.shape[0] for c in chunks] == [2, 2, 1]
    assert all(c.dtype == np.float16 and c.flags.c_contiguous for c in chunks)
    np.testing.assert_array_equal(unchunk_flows(chunks), flows)  # small integers are exact


def test_chunking_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        chunk_flows(np.full((1, 2, 2, 2), np.nan, np.float32))
    with pytest.raises(ValueError, match="float16 range"):
        chunk_flows(np.full((1, 2, 2, 2), 1e6, np.float32))
    with pytest.raises(ValueError, match=r"\(N, H, W, 2\)"):
        chunk_flows(np.zeros((2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="chunk must be"):
        chunk_flows(np.zeros((1, 2, 2, 2), np.float32), chunk=0)
