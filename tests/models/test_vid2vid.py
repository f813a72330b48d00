"""vid2vid sequential generator, temporal discriminator and temporal subsampling."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.flow.warp import warp
from v2v_pipeline.models import SequentialGenerator, TemporalDiscriminator, gather_windows, temporal_windows

LABEL_CH = 3


def _gen(**kw: object) -> SequentialGenerator:
    return SequentialGenerator(LABEL_CH, 3, n_frames_G=3, ngf=8, n_downsampling=2, n_blocks=2, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("w", "h"), [(64, 32), (128, 64)])
def test_sequential_generator_outputs(w: int, h: int) -> None:
    g = _gen()
    labels = torch.rand(2, 3, LABEL_CH, h, w) * 2 - 1
    prev = torch.rand(2, 2, 3, h, w) * 2 - 1
    out = g(labels, prev)
    assert out.image.shape == out.hallucinated.shape == out.warped.shape == (2, 3, h, w)
    assert out.flow.shape == (2, 2, h, w) and out.mask.shape == (2, 1, h, w)
    assert 0 <= out.mask.min() and out.mask.max() <= 1
    expected = (1 - out.mask) * warp(prev[:, -1], out.flow) + out.mask * out.hallucinated
    torch.testing.assert_close(out.image, expected)


def test_first_frame_fallback_is_pure_hallucination() -> None:
    out = _gen()(torch.rand(1, 3, LABEL_CH, 32, 64))
    assert out.flow is None and out.warped is None
    assert torch.all(out.mask == 1) and torch.equal(out.image, out.hallucinated)


def test_zero_flow_and_zero_mask_copy_previous_frame() -> None:
    """With the flow and mask heads forced to 0 the output is the previous frame (warp identity)."""
    g = _gen()
    for head in (g.flow_head[1], g.mask_head[1]):
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.constant_(head.bias, 0.0)
    torch.nn.init.constant_(g.mask_head[1].bias, -1e4)  # sigmoid -> exactly 0
    prev = torch.rand(1, 2, 3, 32, 64) * 2 - 1
    out = g(torch.rand(1, 3, LABEL_CH, 32, 64), prev)
    assert torch.all(out.flow == 0) and torch.all(out.mask == 0)
    torch.testing.assert_close(out.image, prev[:, -1], atol=1e-5, rtol=0)


def test_flow_scale_multiplies_flow_head() -> None:
    g = _gen(flow_scale=20.0)
    torch.nn.init.zeros_(g.flow_head[1].weight)
    torch.nn.init.constant_(g.flow_head[1].bias, 0.05)
    out = g(torch.rand(1, 3, LABEL_CH, 32, 64), torch.rand(1, 2, 3, 32, 64))
    torch.testing.assert_close(out.flow, torch.full_like(out.flow, 1.0))


def test_four_frame_sequence_and_gradients() -> None:
    g = _gen()
    labels = torch.rand(1, 4, LABEL_CH, 32, 64)
    outs = g.generate_sequence(labels)
    assert len(outs) == 4 and outs[0].flow is None and all(o.flow is not None for o in outs[1:])
    assert all(o.image.shape == (1, 3, 32, 64) for o in outs)
    # frame 1 has one previous frame, repeated to fill the 2-frame history
    torch.testing.assert_close(outs[1].image, g(labels[:, [0, 0, 1]], torch.stack([outs[0].image] * 2, 1)).image)
    sum(o.image.mean() + o.flow.abs().mean() for o in outs[1:]).backward()
    assert [n for n, p in g.named_parameters() if p.grad is None] == []

    real = torch.rand(1, 2, 3, 32, 64)
    started = g.generate_sequence(labels, first_frames=real)
    assert len(started) == 2 and started[0].warped is not None
    torch.testing.assert_close(started[0].image, g(labels[:, :3], real).image)


def test_sequential_generator_input_checks() -> None:
    g = _gen()
    with pytest.raises(ValueError, match=r"\(N, 3, 3, H, W\)"):
        g(torch.rand(1, 2, LABEL_CH, 32, 64))
    with pytest.raises(ValueError, match="prev_images"):
        g(torch.rand(1, 3, LABEL_CH, 32, 64), torch.rand(1, 1, 3, 32, 64))
    with pytest.raises(ValueError, match="n_frames_G >= 2"):
        SequentialGenerator(LABEL_CH, n_frames_G=1)


def test_sequential_generator_bf16_channels_last() -> None:
    g = _gen().to(memory_format=torch.channels_last)
    labels = torch.rand(1, 3, LABEL_CH, 32, 64)
    prev = torch.rand(1, 2, 3, 32, 64)
    ref = g(labels, prev)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = g(labels, prev)
    assert out.image.dtype == torch.float32 and out.flow.dtype == torch.float32
    assert (out.image - ref.image).abs().mean() < 0.05
    out.image.mean().backward()


def test_temporal_windows() -> None:
    assert temporal_windows(6, 3, scale=0) == [[0, 1, 2], [3, 4, 5]]
    assert temporal_windows(7, 3, scale=0) == [[1, 2, 3], [4, 5, 6]]
    assert temporal_windows(10, 3, scale=1) == [[0, 3, 6], [3, 6, 9]]
    assert temporal_windows(6, 3, scale=1) == []  # needs 7 frames
    assert temporal_windows(5, 3, scale=0, stride=1) == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    seq = torch.arange(2 * 10).view(2, 10, 1).float()
    g = gather_windows(seq, temporal_windows(10, 3, scale=1))
    assert g.shape == (4, 3, 1) and g[:, :, 0].tolist() == [[0, 3, 6], [10, 13, 16], [3, 6, 9], [13, 16, 19]]


@pytest.mark.parametrize(("w", "h"), [(64, 32), (128, 64)])
def test_temporal_discriminator(w: int, h: int) -> None:
    d = TemporalDiscriminator(3, n_frames_D=3, n_scales_temporal=2, ndf=8, n_layers=2, num_D=2)
    assert d.in_ch == 3 * 3 + 2 * 2
    frames, flows = torch.rand(2, 3, 3, h, w), torch.full((2, 2, 2, h, w), 20.0)
    x = d.stack_input(frames, flows)
    assert x.shape == (2, 13, h, w) and torch.all(x[:, 9:] == 1.0)  # flows / 20
    for scale in (0, 1):
        out = d(frames, flows, scale)
        assert len(out) == 2 and all(len(s) == 4 for s in out)
    with pytest.raises(ValueError, match="flows"):
        d(frames, None)
    no_flow = TemporalDiscriminator(3, n_frames_D=3, n_scales_temporal=1, ndf=8, use_flow=False)
    assert len(no_flow(frames)) == 2
