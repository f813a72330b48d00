"""vid2vid: sequential flow-warping generator and multi-scale temporal discriminator.

Follows NVIDIA/vid2vid ``CompositeGenerator`` (``models/networks.py``): two encoders, one
for the ``n_frames_G`` label maps (current + previous) and one for the ``n_frames_G - 1``
previous generated frames, each a pix2pixHD front end + downsamplings + half the residual
blocks; their features are summed and decoded by two branches with the other half of the
blocks: an image branch (hallucinated frame, tanh) and a flow branch (flow in pixels =
conv output x ``flow_scale`` (20), and a sigmoid occlusion mask)::

    output = (1 - mask) * warp(prev_output, flow) + mask * hallucinated

``flow`` maps the current frame to the previous one (``warp`` samples ``prev`` at
``x + flow(x)``, :mod:`v2v_pipeline.flow.warp`).

First frames: vid2vid trains with real previous frames or a separate single-frame
generator. Here, when no previous frame exists (``prev_images=None``) the image encoder
sees zeros and the output is the pure hallucination (``mask = 1``, no flow); when fewer
than ``n_frames_G - 1`` exist, the oldest available one is repeated (labels likewise
repeat the first label map). :meth:`SequentialGenerator.generate_sequence` can also start
from real frames (``first_frames``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from v2v_pipeline.flow.warp import warp
from v2v_pipeline.models.networks import (
    NORMS,
    MultiscaleDiscriminator,
    Norm,
    ReflectionPad2d,
    ResnetBlock,
    Upsampling,
    _check_choice,
    check_divisible,
    conv_norm_relu,
    init_weights,
    output_layers,
    upsample_layers,
)


@dataclass
class SequentialOutput:
    """One generated frame and its parts (all ``(N, C, H, W)``, float32 where composed)."""

    image: torch.Tensor
    hallucinated: torch.Tensor
    mask: torch.Tensor
    flow: torch.Tensor | None = None  # pixels, current -> previous frame; None without history
    warped: torch.Tensor | None = None  # warp(prev_output, flow); None without history


class SequentialGenerator(nn.Module):
    """vid2vid sequential generator (``CompositeGenerator`` without the foreground model).

    ``forward(labels, prev_images)``: ``labels`` ``(N, n_frames_G, C, H, W)`` oldest to
    current, ``prev_images`` ``(N, n_frames_G - 1, 3, H, W)`` oldest to newest or ``None``.
    Height and width must be divisible by ``2**n_downsampling``.
    """

    def __init__(
        self,
        label_ch: int,
        out_ch: int = 3,
        n_frames_G: int = 3,
        ngf: int = 64,
        n_downsampling: int = 3,
        n_blocks: int = 9,
        norm: Norm = "instance",
        upsampling: Upsampling = "transpose",
        max_channels: int = 1024,
        flow_scale: float = 20.0,
    ) -> None:
        super().__init__()
        _check_choice("norm", norm, NORMS)
        if n_frames_G < 2:
            raise ValueError(f"SequentialGenerator needs n_frames_G >= 2 (current + previous), got {n_frames_G}")
        self.label_ch, self.out_ch, self.n_frames_G = label_ch, out_ch, n_frames_G
        self.n_downsampling, self.flow_scale = n_downsampling, flow_scale

        def ch(level: int) -> int:
            return min(ngf * 2**level, max_channels)

        def encoder(in_ch: int) -> nn.Sequential:
            layers = conv_norm_relu(in_ch, ngf, 7, norm)
            for i in range(n_downsampling):
                layers += conv_norm_relu(ch(i), ch(i + 1), 3, norm, stride=2)
            layers += [ResnetBlock(ch(n_downsampling), norm) for _ in range(n_blocks - n_blocks // 2)]
            return nn.Sequential(*layers)

        def decoder() -> nn.Sequential:
            layers: list[nn.Module] = [ResnetBlock(ch(n_downsampling), norm) for _ in range(n_blocks // 2)]
            for i in range(n_downsampling, 0, -1):
                layers += upsample_layers(ch(i), ch(i - 1), norm, upsampling)
            return nn.Sequential(*layers)

        self.label_encoder = encoder(label_ch * n_frames_G)
        self.image_encoder = encoder(out_ch * (n_frames_G - 1))
        self.image_decoder, self.image_head = decoder(), output_layers(ngf, out_ch)
        self.flow_decoder = decoder()
        self.flow_head = nn.Sequential(ReflectionPad2d(3), nn.Conv2d(ngf, 2, 7))
        self.mask_head = nn.Sequential(ReflectionPad2d(3), nn.Conv2d(ngf, 1, 7), nn.Sigmoid())
        init_weights(self)

    def forward(self, labels: torch.Tensor, prev_images: torch.Tensor | None = None) -> SequentialOutput:
        n, L, c, h, w = labels.shape
        if (L, c) != (self.n_frames_G, self.label_ch):
            raise ValueError(f"labels must be (N, {self.n_frames_G}, {self.label_ch}, H, W), got {tuple(labels.shape)}")
        check_divisible(labels, 2**self.n_downsampling, type(self).__name__)
        if prev_images is None:
            prev_flat = labels.new_zeros(n, (L - 1) * self.out_ch, h, w)
        else:
            if prev_images.shape[1:3] != (L - 1, self.out_ch):
                raise ValueError(
                    f"prev_images must be (N, {L - 1}, {self.out_ch}, H, W), got {tuple(prev_images.shape)}"
                )
            prev_flat = prev_images.flatten(1, 2).to(labels.dtype)
        feats = self.label_encoder(labels.flatten(1, 2)) + self.image_encoder(prev_flat)
        hallucinated = self.image_head(self.image_decoder(feats)).float()
        if prev_images is None:
            return SequentialOutput(hallucinated, hallucinated, hallucinated.new_ones(n, 1, h, w))
        flow_feats = self.flow_decoder(feats)
        flow = self.flow_head(flow_feats).float() * self.flow_scale
        mask = self.mask_head(flow_feats).float()
        # warp in float32: bfloat16 pixel coordinates would be off by up to a pixel
        warped = warp(prev_images[:, -1].float(), flow)
        image = (1 - mask) * warped + mask * hallucinated
        return SequentialOutput(image, hallucinated, mask, flow, warped)

    def generate_sequence(
        self,
        labels: torch.Tensor,
        first_frames: torch.Tensor | None = None,
        detach_prev: bool = True,
    ) -> list[SequentialOutput]:
        """Generate frames ``P..T-1`` of ``labels`` ``(N, T, C, H, W)``, one at a time.

        ``first_frames`` ``(N, P, 3, H, W)`` are real frames for ``t < P`` used as history
        (vid2vid's training start); without them frame 0 is a pure hallucination.
        ``detach_prev`` stops gradients through the fed-back frames (vid2vid's
        ``max_frames_backpropagate=1``). Returns one :class:`SequentialOutput` per frame.
        """
        history = [] if first_frames is None else list(first_frames.unbind(1))
        L = self.n_frames_G
        outputs = []
        for t in range(len(history), labels.shape[1]):
            idx = [max(i, 0) for i in range(t - L + 1, t + 1)]
            out = self(labels[:, idx], stack_history(history, L - 1))
            outputs.append(out)
            history.append(out.image.detach() if detach_prev else out.image)
        return outputs


def stack_history(frames: list[torch.Tensor], n: int) -> torch.Tensor | None:
    """The last ``n`` frames as ``(N, n, C, H, W)``, the oldest repeated while fewer exist; None if none."""
    if not frames:
        return None
    recent = list(frames[-n:])
    return torch.stack([recent[0]] * (n - len(recent)) + recent, dim=1)


class TemporalDiscriminator(nn.Module):
    """vid2vid temporal discriminator: one :class:`MultiscaleDiscriminator` per temporal scale.

    Input: ``n_frames_D`` consecutive (or subsampled, see :func:`temporal_windows`) frames
    ``(B, K, 3, H, W)`` and the reference flows between them ``(B, K - 1, 2, H, W)``
    (divided by ``flow_scale`` = 20 as vid2vid), concatenated along channels.
    """

    def __init__(
        self,
        out_ch: int = 3,
        n_frames_D: int = 3,
        n_scales_temporal: int = 2,
        ndf: int = 64,
        n_layers: int = 3,
        num_D: int = 2,
        norm: Norm = "instance",
        use_flow: bool = True,
        flow_scale: float = 20.0,
    ) -> None:
        super().__init__()
        self.out_ch, self.n_frames_D, self.use_flow, self.flow_scale = out_ch, n_frames_D, use_flow, flow_scale
        self.in_ch = out_ch * n_frames_D + (2 * (n_frames_D - 1) if use_flow else 0)
        self.scales = nn.ModuleList(
            MultiscaleDiscriminator(self.in_ch, ndf, n_layers, num_D, norm) for _ in range(n_scales_temporal)
        )

    def stack_input(self, frames: torch.Tensor, flows: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, K*3 [+ (K-1)*2], H, W)`` discriminator input."""
        if frames.shape[1:3] != (self.n_frames_D, self.out_ch):
            raise ValueError(f"frames must be (B, {self.n_frames_D}, {self.out_ch}, H, W), got {tuple(frames.shape)}")
        parts = [frames.flatten(1, 2)]
        if self.use_flow:
            if flows is None or flows.shape[1:3] != (self.n_frames_D - 1, 2):
                got = None if flows is None else tuple(flows.shape)
                raise ValueError(f"flows must be (B, {self.n_frames_D - 1}, 2, H, W), got {got}")
            parts.append((flows.float() / self.flow_scale).flatten(1, 2).to(frames.dtype))
        return torch.cat(parts, dim=1)

    def forward(
        self, frames: torch.Tensor, flows: torch.Tensor | None = None, scale: int = 0
    ) -> list[list[torch.Tensor]]:
        return self.scales[scale](self.stack_input(frames, flows))


def temporal_windows(n_frames: int, n_frames_D: int = 3, scale: int = 0, stride: int | None = None) -> list[list[int]]:
    """Frame indices of the temporal discriminator's windows at temporal ``scale``.

    Scale ``s`` takes ``n_frames_D`` frames spaced ``n_frames_D**s`` apart (vid2vid's
    ``get_skipped_frames``); windows end at the last frame and every ``stride`` frames
    before it (default ``n_frames_D``), in chronological order. Empty if the sequence is
    too short for the scale.
    """
    step = n_frames_D**scale
    span = step * (n_frames_D - 1)
    stride = n_frames_D if stride is None else stride
    ends = range(n_frames - 1, span - 1, -stride)
    return [list(range(e - span, e + 1, step)) for e in reversed(ends)]


def gather_windows(seq: torch.Tensor, windows: list[list[int]]) -> torch.Tensor:
    """Stack windows of ``seq`` ``(N, T, ...)`` into ``(len(windows) * N, K, ...)`` (window-major)."""
    if not windows:
        raise ValueError("gather_windows: no windows (sequence too short for this temporal scale)")
    return torch.cat([seq[:, idx] for idx in windows], dim=0)
