"""pix2pixHD building blocks: global generator, local enhancer, multi-scale PatchGAN.

Faithful to NVIDIA/pix2pixHD ``models/networks.py`` (reflection padding, instance norm
without affine parameters, ReLU generators, LeakyReLU(0.2) discriminators, 4x4 kernels,
N(0, 0.02) conv initialisation), written as plain PyTorch modules. Two deliberate,
opt-in extensions: ``upsampling="nearest" | "bilinear"`` (resize + 3x3 conv instead of
a transposed conv, which avoids checkerboard artefacts) and a channel cap
``max_channels`` (1024 as in vid2vid; it does not change the standard pix2pixHD
configurations, whose widest layer is ngf 64 x 2**4 = 1024).

Every module works in float32, under ``torch.autocast("cpu", dtype=torch.bfloat16)``
and with ``channels_last`` inputs.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Norm = Literal["instance", "batch", "none"]
Upsampling = Literal["transpose", "nearest", "bilinear"]
NORMS: tuple[str, ...] = ("instance", "batch", "none")
UPSAMPLINGS: tuple[str, ...] = ("transpose", "nearest", "bilinear", "resize")


class InstanceNorm2d(nn.Module):
    """Instance normalisation without affine parameters or running statistics.

    Same maths and eps as ``nn.InstanceNorm2d(affine=False)`` (pix2pixHD), computed with
    ``group_norm`` (one group per channel), which has fast bfloat16 CPU kernels for contiguous
    tensors. ``channels_last`` tensors stay in that layout, but torch's channels-last group norm
    is slow on the CPU where the feature map is small for its channel count (a residual block's
    256 channels at 16x32: 2 ms against 0.05 ms contiguous, in bf16 on a 2-core Xeon), so there a
    single image is normalised by ``batch_norm`` with batch statistics (the same per-channel
    mean and biased variance over H x W when N is 1, with channels-last kernels: 0.06 ms), and a
    batch by a round trip through the contiguous layout.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_channels, self.eps = num_channels, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and x.device.type == "cpu" and _channels_last_only(x):
            if x.shape[0] == 1:
                return F.batch_norm(x, None, None, training=True, eps=self.eps)
            if x.requires_grad or x.shape[2] * x.shape[3] < 8 * x.shape[1]:
                y = F.group_norm(x.contiguous(), self.num_channels, eps=self.eps)
                return y.contiguous(memory_format=torch.channels_last)
        return F.group_norm(x, self.num_channels, eps=self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, eps={self.eps}"


class ReflectionPad2d(nn.ReflectionPad2d):
    """``nn.ReflectionPad2d`` that pads in the input's dtype under autocast.

    CPU autocast lists ``reflection_pad2d`` among its fp32 ops, so under bf16 autocast every pad cast its
    bf16 input up to fp32 and the next convolution cast the padded copy back down: two full-size copies
    per padded conv, a fifth of a default-recipe training step on a CPU with AMX (benchmarks/profile_step.py,
    docs/performance.md). Padding only copies values, so padding in bf16 gives bit for bit what the round
    trip gives; fp32 inputs are padded exactly as before.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_autocast_enabled(x.device.type):
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x)


def _channels_last_only(x: torch.Tensor) -> bool:
    """Stored channels-last and not also contiguous (a 1x1 map or a single channel is both)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def norm_layer(norm: str, channels: int) -> nn.Module:
    """``"instance"`` (affine-free), ``"batch"`` (affine) or ``"none"``."""
    if norm == "instance":
        return InstanceNorm2d(channels)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    if norm == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {norm!r}; use one of {NORMS}")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; use one of {choices}")


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """pix2pixHD ``weights_init``: conv weights ~ N(0, std); batch-norm weight ~ N(1, std), bias 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, std)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def conv_norm_relu(in_ch: int, out_ch: int, kernel: int, norm: str, stride: int = 1) -> list[nn.Module]:
    """Reflection-padded ("same") conv for odd kernels, or a stride-2 conv with zero padding 1."""
    if stride == 1:
        layers: list[nn.Module] = [ReflectionPad2d(kernel // 2), nn.Conv2d(in_ch, out_ch, kernel)]
    else:
        layers = [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2)]
    return [*layers, norm_layer(norm, out_ch), nn.ReLU(inplace=True)]


class _InNextConv(nn.Identity):
    """Placeholder for a step that the next :class:`NearestUpConv2d` computes itself; it keeps the layer indices,
    and so every state-dict key, of the plain ``Upsample, ReflectionPad2d, Conv2d`` layout."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def extra_repr(self) -> str:
        return f"{self.what}: in the next conv"


def _phase_kernels(w: torch.Tensor) -> torch.Tensor:
    """``(O, I, 3, 3)`` -> ``(4 O, I, 2, 2)``: the 2x2 kernels on the low-resolution input of the four output
    phases (row parity, column parity: 00, 01, 10, 11) of :class:`NearestUpConv2d`.

    Along one axis an even output pixel ``2m`` sees the upsampled pixels of inputs ``m-1, m, m`` and an odd one
    ``2m+1`` those of ``m, m, m+1``, so the three taps ``(w0, w1, w2)`` fold into two: ``(w0, w1 + w2)`` on
    ``(m-1, m)`` and ``(w0 + w1, w2)`` on ``(m, m+1)``. Sums and concatenations only, so the kernels stay in the
    weight's dtype under autocast and gradients flow to the 3x3 weight.
    """
    rows = (torch.stack([w[:, :, 0], w[:, :, 1] + w[:, :, 2]], 2), torch.stack([w[:, :, 0] + w[:, :, 1], w[:, :, 2]], 2))
    return torch.cat([torch.stack([r[..., 0], r[..., 1] + r[..., 2]], 3) if px == 0
                      else torch.stack([r[..., 0] + r[..., 1], r[..., 2]], 3) for r in rows for px in (0, 1)])


def _replicate_pad1(x: torch.Tensor) -> torch.Tensor:
    """``F.pad(x, (1, 1, 1, 1), mode="replicate")``. Under ``torch.compile`` the same by gathering clamped rows and
    columns: torch 2.14's meta kernel of ``replication_pad2d_backward`` promises a contiguous gradient where the CPU
    kernel returns a channels-last one, and the compiled backward then fails its stride check."""
    if not torch.compiler.is_compiling():
        return F.pad(x, (1, 1, 1, 1), mode="replicate")
    h, w = x.shape[-2:]
    rows = torch.arange(-1, h + 1, device=x.device).clamp(0, h - 1)
    cols = torch.arange(-1, w + 1, device=x.device).clamp(0, w - 1)
    return x.index_select(2, rows).index_select(3, cols)


class NearestUpConv2d(nn.Conv2d):
    """Nearest x2 upsampling, reflection pad 1 and a 3x3 conv (``upsampling: nearest``), computed on the input
    before upsampling.

    The same function as the three layers one after the other (exactly, up to the order of float additions):
    each output pixel of the upsampled-and-padded 3x3 conv sees only a 2x2 window of the input, with taps that
    add up per output phase (:func:`_phase_kernels`), and the reflection of the upsampled border is the input's
    edge replicated. So one 2x2 conv with ``4 x out_channels`` on the replicate-padded input gives the four
    phases, which interleave into the output: 16 instead of 36 multiply-adds per input pixel and channel pair
    (2.25x fewer), no upsampled copy, no pad of it. Measured per layer (benchmarks, docs/performance.md):
    1.3x in bf16 channels-last inference, 1.7-2.1x for fp32 training's forward and backward.

    The parameters are the 3x3 conv's (checkpoints are unchanged). ``subpixel = False`` computes the three
    layers literally (the plain baseline of ``make bench``; ONNX export always does).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(in_channels, out_channels, 3)
        self.subpixel = True
        self._cache: tuple[tuple, torch.Tensor, torch.Tensor | None] | None = None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, nearest x2 + reflection pad 1 first, subpixel={self.subpixel}"

    def _kernels(self, fmt: torch.memory_format) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The phase kernels in the input's memory format ``fmt``, and the bias once per phase."""
        w, b = self.weight, self.bias
        if (torch.is_grad_enabled() and w.requires_grad) or torch.compiler.is_compiling():
            return _phase_kernels(w).contiguous(memory_format=fmt), None if b is None else b.repeat(4)
        # no gradients (inference): the kernels of these weights, once
        key = (w.data_ptr(), w._version, w.dtype, w.device, fmt, None if b is None else (b.data_ptr(), b._version))
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                wide = w.float() if w.dtype in (torch.bfloat16, torch.float16) else w  # sum in fp32 at least
                k = _phase_kernels(wide).to(w.dtype).contiguous(memory_format=fmt)
                self._cache = (key, k, None if b is None else b.repeat(4))
        return self._cache[1], self._cache[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.subpixel or torch.onnx.is_in_onnx_export():
            return super().forward(F.pad(F.interpolate(x, scale_factor=2.0, mode="nearest"), (1, 1, 1, 1), "reflect"))
        n, _, h, w = x.shape
        fmt = torch.channels_last if _channels_last_only(x) else torch.contiguous_format
        k, b = self._kernels(fmt)
        with torch.autocast(x.device.type, enabled=False):  # a pad only copies: keep the input's dtype (see above)
            padded = _replicate_pad1(x)
        y = F.conv2d(padded, k, b)  # (N, 4 O, H + 1, W + 1): the four phases, each offset by its parity
        o = self.out_channels
        out = torch.empty((n, o, 2 * h, 2 * w), dtype=y.dtype, device=y.device, memory_format=fmt)
        for p, (py, px) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            out[:, :, py::2, px::2] = y[:, p * o : (p + 1) * o, py : py + h, px : px + w]
        return out

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cache = None
        super()._load_from_state_dict(*args, **kwargs)


def set_subpixel(module: nn.Module, enabled: bool) -> nn.Module:
    """Switch every :class:`NearestUpConv2d` in ``module`` to the sub-pixel form (default) or to the literal
    upsample, pad and conv (the reference computation); returns ``module``."""
    for m in module.modules():
        if isinstance(m, NearestUpConv2d):
            m.subpixel = enabled
    return module


def upsample_layers(in_ch: int, out_ch: int, norm: str, mode: str = "transpose") -> list[nn.Module]:
    """x2 upsampling + norm + ReLU.

    ``"transpose"``: 3x3 stride-2 transposed conv (pix2pixHD); ``"nearest"``/``"bilinear"``
    (``"resize"`` = nearest): resize, then a reflection-padded 3x3 conv (nearest: all three in one
    :class:`NearestUpConv2d`, after two placeholders that keep the layer indices).
    """
    _check_choice("upsampling", mode, UPSAMPLINGS)
    if mode == "transpose":
        up: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1)]
    elif mode in ("nearest", "resize"):
        up = [_InNextConv("nearest x2 upsampling"), _InNextConv("reflection pad 1"), NearestUpConv2d(in_ch, out_ch)]
    else:
        up = [
            nn.Upsample(scale_factor=2, mode=mode, align_corners=False),
            ReflectionPad2d(1),
            nn.Conv2d(in_ch, out_ch, 3),
        ]
    return [*up, norm_layer(norm, out_ch), nn.ReLU(inplace=True)]


def output_layers(in_ch: int, out_ch: int) -> nn.Sequential:
    """pix2pixHD head: reflection pad 3, 7x7 conv, tanh."""
    return nn.Sequential(ReflectionPad2d(3), nn.Conv2d(in_ch, out_ch, 7), nn.Tanh())


class ResnetBlock(nn.Module):
    """``x + [pad, conv3x3, norm, ReLU, pad, conv3x3, norm](x)`` (pix2pixHD, no dropout)."""

    def __init__(self, channels: int, norm: str = "instance") -> None:
        super().__init__()
        self.block = nn.Sequential(
            *conv_norm_relu(channels, channels, 3, norm),
            ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def check_divisible(x: torch.Tensor, factor: int, who: str) -> None:
    """Raise a clear error when the spatial size is not a multiple of ``factor``."""
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(
            f"{who}: input size {w}x{h} (WxH) must be divisible by {factor} "
            f"(2**number of downsamplings); resize or pad the frames, e.g. to "
            f"{-(-w // factor) * factor}x{-(-h // factor) * factor}"
        )


class _FeatureGenerator(nn.Module):
    """A generator made of a trunk (:meth:`features`) and an output ``head`` (7x7 conv + tanh)."""

    head: nn.Module

    def features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, return_features: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        feats = self.features(x)
        image = self.head(feats)
        return (image, feats) if return_features else image


class GlobalGenerator(_FeatureGenerator):
    """pix2pixHD global generator ("G1").

    7x7 conv (``ngf``) -> ``n_downsampling`` stride-2 convs (channels double, capped at
    ``max_channels``) -> ``n_blocks`` residual blocks -> as many x2 upsamplings -> 7x7 conv
    + tanh. Input height and width must be divisible by ``2**n_downsampling``.

    ``forward(x)`` returns the image in [-1, 1]; ``forward(x, return_features=True)``
    returns ``(image, features)`` where ``features`` (``ngf`` channels, full resolution)
    is the last activation before the output conv, which the local enhancer consumes.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int = 3,
        ngf: int = 64,
        n_downsampling: int = 4,
        n_blocks: int = 9,
        norm: Norm = "instance",
        upsampling: Upsampling = "transpose",
        max_channels: int = 1024,
    ) -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        if min(in_ch, out_ch, ngf) < 1 or n_downsampling < 0 or n_blocks < 0 or ngf > max_channels:
            raise ValueError(
                f"GlobalGenerator: bad sizes in_ch={in_ch} out_ch={out_ch} ngf={ngf} "
                f"n_downsampling={n_downsampling} n_blocks={n_blocks} max_channels={max_channels}"
            )
        self.in_ch, self.out_ch, self.ngf, self.n_downsampling = in_ch, out_ch, ngf, n_downsampling

        def ch(level: int) -> int:
            return min(ngf * 2**level, max_channels)

        layers = conv_norm_relu(in_ch, ngf, 7, norm)
        for i in range(n_downsampling):
            layers += conv_norm_relu(ch(i), ch(i + 1), 3, norm, stride=2)
        layers += [ResnetBlock(ch(n_downsampling), norm) for _ in range(n_blocks)]
        for i in range(n_downsampling, 0, -1):
            layers += upsample_layers(ch(i), ch(i - 1), norm, upsampling)
        self.model = nn.Sequential(*layers)
        self.head = output_layers(ngf, out_ch)
        init_weights(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature map before the output conv, ``(N, ngf, H, W)``."""
        check_divisible(x, 2**self.n_downsampling, type(self).__name__)
        return self.model(x)


class LocalEnhancer(_FeatureGenerator):
    """pix2pixHD local enhancer ("G2") around a global generator of width ``2 * ngf``.

    The global generator (without its output conv) runs on the input average-pooled by 2;
    its last features are added to the enhancer's front end (7x7 conv, stride-2 conv to
    ``2 * ngf``), followed by ``n_blocks_local`` residual blocks, a x2 upsampling and the
    7x7 + tanh head. Input size must be divisible by ``2**(n_downsampling_global + 1)``.

    Pass a trained ``global_generator`` (coarse-to-fine training) or let one be built.
    :meth:`freeze_global` implements pix2pixHD's ``niter_fix_global`` (train only the
    enhancer for the first epochs): it switches ``requires_grad`` off, so build the
    optimiser over all parameters (Adam skips parameters whose ``grad`` is ``None``) and
    call ``freeze_global(False)`` when the fixed epochs are over.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int = 3,
        ngf: int = 32,
        n_blocks_local: int = 3,
        global_generator: GlobalGenerator | None = None,
        n_downsampling_global: int = 4,
        n_blocks_global: int = 9,
        norm: Norm = "instance",
        upsampling: Upsampling = "transpose",
        max_channels: int = 1024,
    ) -> None:
        super().__init__()
        if global_generator is None:
            global_generator = GlobalGenerator(
                in_ch, out_ch, 2 * ngf, n_downsampling_global, n_blocks_global, norm, upsampling, max_channels
            )
        if global_generator.ngf != 2 * ngf or global_generator.in_ch != in_ch:
            raise ValueError(
                f"LocalEnhancer(ngf={ngf}, in_ch={in_ch}) needs a global generator with ngf={2 * ngf} "
                f"and in_ch={in_ch}, got ngf={global_generator.ngf}, in_ch={global_generator.in_ch}"
            )
        self.in_ch, self.out_ch, self.ngf = in_ch, out_ch, ngf
        self.factor = 2 ** (global_generator.n_downsampling + 1)
        # pix2pixHD drops the global generator's output conv: only its trunk is kept.
        self.global_model = global_generator.model
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.front = nn.Sequential(
            *conv_norm_relu(in_ch, ngf, 7, norm), *conv_norm_relu(ngf, 2 * ngf, 3, norm, stride=2)
        )
        self.blocks = nn.Sequential(*[ResnetBlock(2 * ngf, norm) for _ in range(n_blocks_local)])
        self.up = nn.Sequential(*upsample_layers(2 * ngf, ngf, norm, upsampling))
        self.head = output_layers(ngf, out_ch)
        for part in (self.front, self.blocks, self.up, self.head):
            init_weights(part)

    def load_global_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a trained :class:`GlobalGenerator`'s ``state_dict`` (its head is ignored)."""
        trunk = {k[len("model.") :]: v for k, v in state_dict.items() if k.startswith("model.")}
        if not trunk:
            raise ValueError("load_global_state_dict: expected GlobalGenerator keys 'model.*'")
        self.global_model.load_state_dict(trunk)

    def freeze_global(self, frozen: bool = True) -> None:
        """Stop (or resume) training the global part (``niter_fix_global``)."""
        for p in self.global_model.parameters():
            p.requires_grad_(not frozen)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature map before the output conv, ``(N, ngf, H, W)``."""
        check_divisible(x, self.factor, type(self).__name__)
        coarse = self.global_model(self.downsample(x))
        return self.up(self.blocks(self.front(x) + coarse))


class NLayerDiscriminator(nn.Module):
    """pix2pixHD PatchGAN: ``n_layers`` stride-2 4x4 convs, one stride-1 conv, a 1-channel conv.

    Returns the list of every layer group's output (``n_layers + 2`` tensors); the last
    one is the patch score map (no sigmoid: losses work on logits).
    """

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3, norm: Norm = "instance") -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        pad = 2  # ceil((4 - 1) / 2), as pix2pixHD
        layers = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, stride=2, padding=pad), nn.LeakyReLU(0.2, True))]
        nf = ndf
        for n in range(1, n_layers + 1):
            nf_prev, nf = nf, min(nf * 2, 512)
            stride = 2 if n < n_layers else 1
            layers.append(
                nn.Sequential(
                    nn.Conv2d(nf_prev, nf, 4, stride=stride, padding=pad),
                    norm_layer(norm, nf),
                    nn.LeakyReLU(0.2, True),
                )
            )
        layers.append(nn.Sequential(nn.Conv2d(nf, 1, 4, stride=1, padding=pad)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for layer in self.layers:
            x = layer(x)
            outs.append(x)
        return outs


class MultiscaleDiscriminator(nn.Module):
    """``num_D`` PatchGANs; scale ``i`` sees the input average-pooled ``i`` times (3x3, stride 2).

    ``forward(x)`` returns ``[[layer outputs] for each scale]``, full resolution first;
    each inner list has ``n_layers + 2`` tensors (only the last one when
    ``get_intermediate=False``). The conditional input (label and image concatenated
    along channels) is built by the caller.
    """

    def __init__(
        self,
        in_ch: int,
        ndf: int = 64,
        n_layers: int = 3,
        num_D: int = 2,
        norm: Norm = "instance",
        get_intermediate: bool = True,
    ) -> None:
        super().__init__()
        if num_D < 1 or n_layers < 1:
            raise ValueError(f"MultiscaleDiscriminator: need num_D >= 1 and n_layers >= 1, got {num_D}, {n_layers}")
        self.in_ch, self.n_layers, self.num_D = in_ch, n_layers, num_D
        self.get_intermediate = get_intermediate
        self.scales = nn.ModuleList(NLayerDiscriminator(in_ch, ndf, n_layers, norm) for _ in range(num_D))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        if x.shape[1] != self.in_ch:
            raise ValueError(f"MultiscaleDiscriminator expects {self.in_ch} input channels, got {x.shape[1]}")
        result = []
        for i, disc in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            outs = disc(x)
            result.append(outs if self.get_intermediate else outs[-1:])
        return result
