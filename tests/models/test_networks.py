"""pix2pixHD generator / local enhancer / multi-scale discriminator."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from v2v_pipeline.models import GlobalGenerator, InstanceNorm2d, LocalEnhancer, MultiscaleDiscriminator
from v2v_pipeline.models.factory import count_parameters

SIZES = [(64, 32), (128, 64)]  # (W, H)


def _grads_complete(module: nn.Module) -> list[str]:
    return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None]


@pytest.mark.parametrize(("w", "h"), SIZES)
@pytest.mark.parametrize("upsampling", ["transpose", "nearest", "bilinear"])
def test_global_generator_shapes(w: int, h: int, upsampling: str) -> None:
    g = GlobalGenerator(5, 3, ngf=8, n_downsampling=3, n_blocks=2, upsampling=upsampling)
    x = torch.randn(2, 5, h, w)
    y, feats = g(x, return_features=True)
    assert y.shape == (2, 3, h, w)
    assert feats.shape == (2, 8, h, w)
    assert y.abs().max() <= 1.0
    assert torch.equal(g.head(feats), y)


def test_global_generator_rejects_bad_size() -> None:
    g = GlobalGenerator(3, ngf=8, n_downsampling=3, n_blocks=1)
    with pytest.raises(ValueError, match="divisible by 8"):
        g(torch.zeros(1, 3, 36, 64))


def test_reference_parameter_counts() -> None:
    """pix2pixHD global generator sizes quoted in docs/ANCHORS (182 M at ngf 64)."""
    with torch.device("meta"):  # sizes only, no memory
        assert round(count_parameters(GlobalGenerator(3, 3, 64, 4, 9)) / 1e6) == 182
        assert round(count_parameters(GlobalGenerator(3, 3, 32, 4, 9)) / 1e6, 1) == 45.6


def test_channel_cap() -> None:
    capped = GlobalGenerator(3, ngf=8, n_downsampling=3, n_blocks=1, max_channels=16)
    widths = [m.out_channels for m in capped.modules() if isinstance(m, nn.Conv2d)]
    assert max(widths) == 16


def test_instance_norm_matches_torch() -> None:
    x = torch.randn(2, 6, 9, 7)
    torch.testing.assert_close(InstanceNorm2d(6)(x), nn.InstanceNorm2d(6)(x), atol=1e-5, rtol=1e-5)


def test_generator_backward_reaches_every_parameter() -> None:
    g = GlobalGenerator(4, ngf=8, n_downsampling=2, n_blocks=2)
    g(torch.randn(1, 4, 32, 64)).square().mean().backward()
    assert _grads_complete(g) == []


@pytest.mark.parametrize(("w", "h"), SIZES)
def test_local_enhancer_shapes_and_features(w: int, h: int) -> None:
    enh = LocalEnhancer(4, 3, ngf=4, n_blocks_local=1, n_downsampling_global=2, n_blocks_global=1)
    y, feats = enh(torch.randn(1, 4, h, w), return_features=True)
    assert y.shape == (1, 3, h, w) and feats.shape == (1, 4, h, w)
    with pytest.raises(ValueError, match="divisible by 8"):
        enh(torch.zeros(1, 4, 20, 64))


def test_local_enhancer_reuses_trained_global_and_freezes_it() -> None:
    glob = GlobalGenerator(3, 3, ngf=8, n_downsampling=2, n_blocks=1)
    enh = LocalEnhancer(3, 3, ngf=4, n_blocks_local=1, global_generator=glob)
    # features of the global trunk at half resolution are what the enhancer adds
    x = torch.randn(1, 3, 32, 64)
    torch.testing.assert_close(enh.global_model(enh.downsample(x)), glob.features(enh.downsample(x)))

    other = GlobalGenerator(3, 3, ngf=8, n_downsampling=2, n_blocks=1)
    enh.load_global_state_dict(other.state_dict())
    torch.testing.assert_close(enh.global_model(x), other.features(x))

    enh.freeze_global()
    enh(x).mean().backward()
    assert all(p.grad is None for p in enh.global_model.parameters())
    assert _grads_complete(enh) == []  # every trainable parameter got a gradient
    enh.freeze_global(False)
    enh.zero_grad(set_to_none=True)
    enh(x).mean().backward()
    assert _grads_complete(enh) == []

    with pytest.raises(ValueError, match="ngf=8"):
        LocalEnhancer(3, 3, ngf=8, global_generator=glob)


@pytest.mark.parametrize(("w", "h"), SIZES)
@pytest.mark.parametrize(("num_D", "n_layers"), [(2, 3), (3, 2)])
def test_multiscale_discriminator_outputs(w: int, h: int, num_D: int, n_layers: int) -> None:
    d = MultiscaleDiscriminator(6, ndf=8, n_layers=n_layers, num_D=num_D)
    out = d(torch.randn(2, 6, h, w))
    assert len(out) == num_D
    assert all(len(scale) == n_layers + 2 for scale in out)
    assert all(scale[-1].shape[:2] == (2, 1) for scale in out)
    # each scale sees a 2x smaller input: its score map is smaller than the previous one
    widths = [scale[-1].shape[-1] for scale in out]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == num_D
    # channel progression ndf, 2ndf, ... capped at 512, then 1
    assert [t.shape[1] for t in out[0]] == [min(8 * 2**i, 512) for i in range(n_layers + 1)] + [1]

    last_only = MultiscaleDiscriminator(6, ndf=8, n_layers=n_layers, num_D=num_D, get_intermediate=False)
    assert [len(s) for s in last_only(torch.randn(1, 6, h, w))] == [1] * num_D
    with pytest.raises(ValueError, match="6 input channels"):
        d(torch.randn(1, 5, h, w))


def test_discriminator_backward_reaches_every_parameter() -> None:
    d = MultiscaleDiscriminator(6, ndf=8, num_D=2)
    out = d(torch.randn(1, 6, 64, 128))
    sum(s[-1].mean() for s in out).backward()
    assert _grads_complete(d) == []


@pytest.mark.parametrize("channels_last", [False, True])
def test_bf16_autocast_and_channels_last(channels_last: bool) -> None:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    g = GlobalGenerator(3, ngf=8, n_downsampling=2, n_blocks=1).to(memory_format=fmt)
    enh = LocalEnhancer(3, ngf=4, n_blocks_local=1, n_downsampling_global=2, n_blocks_global=1)
    d = MultiscaleDiscriminator(6, ndf=8).to(memory_format=fmt)
    x = torch.randn(1, 3, 32, 64).contiguous(memory_format=fmt)
    ref = g(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = g(x)
        z = enh(x.to(memory_format=fmt))
        out = d(torch.cat([x, y], 1))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all() and torch.isfinite(z.float()).all()
    assert (y.float() - ref).abs().mean() < 0.05
    sum(s[-1].float().mean() for s in out).backward()
    assert _grads_complete(g) == [] and _grads_complete(d) == []


def test_reflection_pad_keeps_the_dtype_under_autocast_and_the_values_of_the_fp32_round_trip() -> None:
    """CPU autocast runs reflection_pad2d in fp32; the project's pad stays in bf16, with exactly the same values,
    and a generator under autocast gives bit for bit what it gave with torch's pad (its convs cast to bf16 anyway)."""
    from v2v_pipeline.models.networks import ReflectionPad2d

    x = torch.randn(1, 4, 6, 8).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours, torchs = ReflectionPad2d(2)(x), nn.ReflectionPad2d(2)(x)
    assert torchs.dtype == torch.float32, "torch's autocast policy changed: the project's pad may be unnecessary"
    assert ours.dtype == torch.bfloat16 and torch.equal(ours, torchs.to(torch.bfloat16))
    fp32 = torch.randn(1, 4, 6, 8)
    assert torch.equal(ReflectionPad2d(1)(fp32), nn.ReflectionPad2d(1)(fp32))  # no autocast: torch's pad itself

    torch.manual_seed(0)
    g = GlobalGenerator(5, 3, ngf=8, n_downsampling=2, n_blocks=2, upsampling="nearest")
    label = torch.randn(1, 5, 32, 64)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        fast = g(label)
        for m in list(g.modules()):
            for child_name, child in list(m.named_children()):
                if isinstance(child, ReflectionPad2d):
                    setattr(m, child_name, nn.ReflectionPad2d(child.padding))
        assert not any(type(m) is ReflectionPad2d for m in g.modules())
        reference = g(label)
    assert torch.equal(fast, reference)


@pytest.mark.parametrize("shape", [(1, 32, 4, 8), (1, 4, 16, 32), (3, 32, 4, 8), (3, 4, 16, 32)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_instance_norm_in_channels_last_is_group_norm_in_that_layout(shape, dtype) -> None:
    """Channels-last inputs take batch_norm (one image) or a contiguous round trip (a batch with a small map, or
    with gradients); outputs and input gradients are group norm's to rounding, in the input's layout."""
    torch.manual_seed(0)
    x = (torch.randn(shape) * 3 + 1).to(dtype)
    norm = InstanceNorm2d(shape[1])
    cl = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    ref_in = x.clone().requires_grad_()
    out, ref = norm(cl), nn.functional.group_norm(ref_in.float(), shape[1])
    assert out.dtype == dtype and out.is_contiguous(memory_format=torch.channels_last)
    tol = 1e-5 if dtype == torch.float32 else 0.04  # bf16: rounding of values up to about 4
    torch.testing.assert_close(out.float(), ref, rtol=0, atol=tol)
    weight = torch.randn(shape)
    (out.float() * weight).sum().backward()
    (ref * weight).sum().backward()
    torch.testing.assert_close(cl.grad.float(), ref_in.grad.float(), rtol=0, atol=1e-4 if dtype == torch.float32 else 0.1)
    with torch.no_grad():  # without gradients, a batch with a large map keeps torch's channels-last group norm
        torch.testing.assert_close(norm(cl).float(), ref, rtol=0, atol=tol)


def _literal_up_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``upsampling: nearest`` as written in the reference code: upsample, reflection pad 1, 3x3 conv."""
    return conv._conv_forward(
        nn.functional.pad(nn.functional.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), "reflect"),
        conv.weight, conv.bias)


@pytest.mark.parametrize("shape", [(1, 6, 5, 7), (2, 3, 1, 4), (3, 8, 4, 4)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_nearest_up_conv_is_upsample_pad_conv(shape, channels_last) -> None:
    from v2v_pipeline.models.networks import NearestUpConv2d

    torch.manual_seed(0)
    conv = NearestUpConv2d(shape[1], 5).double()
    x = torch.randn(*shape, dtype=torch.double)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    y, ref = conv(x), _literal_up_conv(x, conv)
    assert y.shape == (shape[0], 5, 2 * shape[2], 2 * shape[3])
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    if channels_last and shape[2] * shape[3] > 1:
        assert y.is_contiguous(memory_format=torch.channels_last)
    g = torch.randn_like(y)
    got = torch.autograd.grad(y, (x, conv.weight, conv.bias), g)
    want = torch.autograd.grad(ref, (x, conv.weight, conv.bias), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)
    conv.subpixel = False  # the literal computation itself
    torch.testing.assert_close(conv(x), ref, rtol=0, atol=0)


def test_nearest_up_conv_inference_kernels_follow_the_weights_and_the_dtype() -> None:
    from v2v_pipeline.models.networks import NearestUpConv2d

    torch.manual_seed(1)
    conv = NearestUpConv2d(4, 3)
    x = torch.randn(1, 4, 6, 5)
    with torch.no_grad():
        first = conv(x)
        conv.weight.mul_(2)  # an optimizer step in place: the cached kernels must not be reused
        torch.testing.assert_close(conv(x), _literal_up_conv(x, conv), rtol=1e-5, atol=1e-5)
        assert not torch.allclose(conv(x), first)
        conv.load_state_dict({k: v * 0.5 for k, v in conv.state_dict().items()})
        torch.testing.assert_close(conv(x), _literal_up_conv(x, conv), rtol=1e-5, atol=1e-5)
        conv.to(torch.bfloat16)  # as the inference fast path casts it: kernels summed in fp32, then rounded
        xb = x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        y = conv(xb)
        assert y.dtype == torch.bfloat16
        ref = _literal_up_conv(x, conv.float())
        assert (y.float() - ref).abs().max() < 0.05 * ref.abs().max()


def test_nearest_upsampling_keeps_the_state_dict_of_the_plain_layers() -> None:
    """Checkpoints of the upsample / pad / conv layout load unchanged (the same keys and shapes)."""
    from v2v_pipeline.models.networks import set_subpixel

    torch.manual_seed(2)
    g = GlobalGenerator(3, 3, ngf=8, n_downsampling=2, n_blocks=1, upsampling="nearest")
    k = next(i for i, m in enumerate(g.model) if type(m).__name__ == "NearestUpConv2d")
    assert k >= 2 and [type(m).__name__ for m in g.model[k - 2 : k]] == ["_InNextConv", "_InNextConv"]
    up = g.model[k]
    plain = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1),
                          nn.Conv2d(up.in_channels, up.out_channels, 3))
    plain[2].load_state_dict(up.state_dict())
    x = torch.randn(1, up.in_channels, 4, 6)
    torch.testing.assert_close(g.model[k](x), plain(x), rtol=1e-5, atol=1e-6)
    x = torch.randn(2, 3, 16, 24)
    with torch.no_grad():
        fast = g(x)
        torch.testing.assert_close(set_subpixel(g, False)(x), fast, rtol=1e-4, atol=1e-5)


def test_nearest_up_conv_compiles_forward_and_backward() -> None:
    """``torch.compile`` (inductor) of the layer, values and gradients as eager: torch's meta kernel of the
    replication pad's backward disagrees with its CPU kernel about the gradient's layout, which failed every
    compiled training step of the default recipe (``train.compile`` fell back to eager)."""
    import shutil

    from v2v_pipeline.models.networks import NearestUpConv2d

    if not (shutil.which("c++") or shutil.which("g++")):
        pytest.skip("torch.compile (inductor) needs a C++ compiler")
    torch.manual_seed(3)
    conv = NearestUpConv2d(8, 4)
    x = torch.randn(1, 8, 6, 10, requires_grad=True)
    g = torch.randn(1, 4, 12, 20)
    compiled = torch.compile(conv)
    got = torch.autograd.grad(compiled(x), (x, conv.weight, conv.bias), g)
    want = torch.autograd.grad(conv(x), (x, conv.weight, conv.bias), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
