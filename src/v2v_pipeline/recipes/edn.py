"""Everybody Dance Now (Chan et al. 2019): ``G(label_t, output_{t-1})`` trained on pairs.

The discriminator sees ``concat(label_{t-1}, label_t, img_{t-1}, img_t)``; the gradient flows
through the first frame of the pair into the second. ``loss.edn_warp`` (10, on by default) adds
vid2vid's warp loss: each generated frame against the previous generated frame warped by the real
flow (masked by the flow's validity, target detached). The optional background plate lives in
the generator (``models/background.py``); the face GAN is :mod:`.face`.
"""

from __future__ import annotations

import torch
from torch import nn

from v2v_pipeline.models.edn import edn_discriminator_input
from v2v_pipeline.models.losses import warp_loss
from v2v_pipeline.recipes.base import BaseRecipe, GeneratorLosses


def new_state(config=None) -> tuple[None, None]:
    return None, None  # (previous output, previous label)


def generate(g: nn.Module, x: torch.Tensor, state=(None, None)) -> tuple[torch.Tensor, tuple]:
    """One frame from its label and the previous output: the step that training and inference share."""
    prev, prev_label = state
    out = g(x, prev, prev_label)
    return out, (out.float(), x)


def generate_sequence(g: nn.Module, labels: torch.Tensor) -> torch.Tensor:
    """Frames ``(N, T, 3, H, W)`` of labels ``(N, T, C, H, W)`` from a cold start (gradients kept)."""
    outs, state = [], new_state()
    for t in range(labels.shape[1]):
        out, state = generate(g, labels[:, t], state)
        outs.append(out)
    return torch.stack(outs, 1)


class Runner(nn.Module):
    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return generate_sequence(self.generator, labels)


class Recipe(BaseRecipe):
    name = "edn"
    batchable = False
    Runner = Runner

    def generator_losses(self, run: nn.Module, D: nn.Module, networks, batch, step: int):
        labels, reals = batch["label"], batch["image"]
        out = GeneratorLosses(self.terms)
        fakes = run(labels)
        n_pairs = labels.shape[1] - 1
        for t in range(1, labels.shape[1]):
            fake_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], fakes[:, t - 1], fakes[:, t])
            real_in = edn_discriminator_input(labels[:, t - 1], labels[:, t], reals[:, t - 1], reals[:, t])
            out.adversarial("D", D, fake_in, real_in, "G", self.terms.weights.gan, 1.0 / n_pairs)
        out.reconstruction(fakes.flatten(0, 1), reals.flatten(0, 1))
        if self.terms.weights.edn_warp > 0:  # vid2vid's temporal consistency: frame t vs t-1 warped by the real flow
            out.losses["G_warp"] = warp_loss(fakes[:, 1:].flatten(0, 1), fakes[:, :-1].flatten(0, 1),
                                             batch["flow"][:, 1:].flatten(0, 1),
                                             batch["valid"][:, 1:].flatten(0, 1)) * self.terms.weights.edn_warp
        return out.result()

    def images_per_sample(self, sequence_length: int, generator: nn.Module) -> int:
        return sequence_length
