"""Static-background conditioning: the generator composites the person over a background plate.

EDN and pix2pixHD regenerate the whole frame, static studio background included, through
the generator's bottleneck; with a fixed camera most of the pixels never change, and the
adversarial loss then sprinkles texture noise over them. Here the generator also sees a
background plate (the per-pixel median of the training frames, each frame's person box left
out: ``training.trainer.median_plate``) and predicts an image and a
soft mask, composed like vid2vid's foreground/background model::

    out = m * image + (1 - m) * plate,    (image, m) = G(concat(x, plate))

Background pixels only need ``m = 0`` to be the plate exactly, so training spends its
budget on the person. The plate is a buffer saved in the model file; it is the target's
scene, which is also what motion transfer renders the target into.
"""

from __future__ import annotations

import torch
from torch import nn


class BackgroundComposite(nn.Module):
    """Wrap a pix2pixHD generator with 3 extra input channels (the plate) and 1 extra output (the mask)."""

    def __init__(self, generator: nn.Module, width: int, height: int) -> None:
        super().__init__()
        if getattr(generator, "in_ch", 4) < 4 or getattr(generator, "out_ch", 4) < 2:
            raise ValueError("BackgroundComposite needs a generator with >= 4 input and >= 2 output channels")
        self.generator = generator
        self.register_buffer("plate", torch.zeros(1, generator.out_ch - 1, height, width))

    @property
    def in_ch(self) -> int:
        return self.generator.in_ch - 3

    @property
    def out_ch(self) -> int:
        return self.generator.out_ch - 1

    def set_plate(self, plate: torch.Tensor) -> None:
        """``plate``: (3, H, W) or (1, 3, H, W) in [-1, 1] at the generator's resolution."""
        plate = plate.reshape(1, -1, *plate.shape[-2:]).to(self.plate)
        if plate.shape != self.plate.shape:
            raise ValueError(f"background plate {tuple(plate.shape)} does not match {tuple(self.plate.shape)}")
        self.plate.copy_(plate)

    def mask(self, x: torch.Tensor) -> torch.Tensor:
        """The foreground mask in [0, 1] for input ``x`` (for inspection)."""
        return (self.generator(self._input(x))[:, -1:] + 1) / 2

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        if self.plate.shape[-2:] != x.shape[-2:]:
            raise ValueError(f"input {tuple(x.shape[-2:])} and background plate {tuple(self.plate.shape[-2:])} "
                             "differ in size; the model was trained at another resolution")
        return torch.cat([x, self.plate.to(x.dtype).expand(x.shape[0], -1, -1, -1)], dim=1)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = self.generator(self._input(x), return_features=return_features)
        raw, feats = out if return_features else (out, None)
        image, m = raw[:, :-1], (raw[:, -1:] + 1) / 2
        plate = self.plate.to(image.dtype)
        composed = m * image + (1 - m) * plate
        return (composed, feats) if return_features else composed
