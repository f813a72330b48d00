"""pix2pixHD (Wang et al. 2018): one frame, ``G(label)``, multiscale D on ``concat(label, image)``."""

from __future__ import annotations

import torch
from torch import nn

from v2v_pipeline.recipes.base import BaseRecipe, GeneratorLosses


def new_state(config=None) -> None:
    return None  # frames are independent


def generate(g: nn.Module, x: torch.Tensor, state=None) -> tuple[torch.Tensor, None]:
    """Inference (and training) step: frames are independent, so ``x`` may be a batch."""
    return g(x), None


class Runner(nn.Module):
    """The generator's part of a training step as one module call (DDP syncs per call)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return generate(self.generator, labels[:, 0])[0][:, None]


class Recipe(BaseRecipe):
    name = "pix2pixhd"
    batchable = True
    Runner = Runner

    def generator_losses(self, run: nn.Module, D: nn.Module, networks, batch, step: int):
        labels, reals = batch["label"], batch["image"]
        out = GeneratorLosses(self.terms)
        fake = run(labels)[:, 0]
        label, real = labels[:, 0], reals[:, 0]
        out.adversarial("D", D, torch.cat([label, fake], 1), torch.cat([label, real], 1), "G", self.terms.weights.gan)
        out.reconstruction(fake, real)
        return out.result()

    def images_per_sample(self, sequence_length: int, generator: nn.Module) -> int:
        return sequence_length
