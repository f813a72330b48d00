"""Static-background conditioning: the generator predicts a residual over a background plate.

EDN and pix2pixHD regenerate the whole frame, static studio background included, through
the generator's bottleneck; with a fixed camera most of the pixels never change. Here the
generator also sees a background plate (the per-pixel median of the training frames) and
its output is added to it: ``out = plate + G(concat(x, plate))``. Background pixels only
need a zero residual, so training spends its budget on the person. The plate is a buffer,
saved in the model file, and it is the target's scene, which is also what motion transfer
renders the target into.
"""

from __future__ import annotations

import torch
from torch import nn


class BackgroundResidual(nn.Module):
    """Wrap a pix2pixHD generator whose input has 3 extra channels for the plate."""

    def __init__(self, generator: nn.Module, width: int, height: int) -> None:
        super().__init__()
        if getattr(generator, "in_ch", 4) < 4:
            raise ValueError("BackgroundResidual needs a generator with at least 3 + 1 input channels")
        self.generator = generator
        self.register_buffer("plate", torch.zeros(1, 3, height, width))

    @property
    def in_ch(self) -> int:
        return self.generator.in_ch - 3

    @property
    def out_ch(self) -> int:
        return self.generator.out_ch

    def set_plate(self, plate: torch.Tensor) -> None:
        """``plate``: (3, H, W) or (1, 3, H, W) in [-1, 1] at the generator's resolution."""
        plate = plate.reshape(1, 3, *plate.shape[-2:]).to(self.plate)
        if plate.shape != self.plate.shape:
            raise ValueError(f"background plate {tuple(plate.shape)} does not match {tuple(self.plate.shape)}")
        self.plate.copy_(plate)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        plate = self.plate.to(x.dtype).expand(x.shape[0], -1, -1, -1)
        if plate.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"input {tuple(x.shape[-2:])} and background plate {tuple(plate.shape[-2:])} differ "
                             "in size; the model was trained at another resolution")
        out = self.generator(torch.cat([x, plate], dim=1), return_features=return_features)
        if return_features:
            image, feats = out
            return image + plate.to(image.dtype), feats
        return out + plate.to(out.dtype)
