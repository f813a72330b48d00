"""What every GAN recipe shares: generator-side GAN + feature matching, reconstruction, the D step.

A recipe (one module per family) says how its generator runs on a training batch, which
discriminators score what (``d_items``: name, fake input, real input) and how the family
generates at inference. The loop (:mod:`v2v_pipeline.training.loop`) does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from v2v_pipeline.models.factory import Models
from v2v_pipeline.models.losses import GANLoss, feature_matching_loss
from v2v_pipeline.params import LossWeights

DItem = tuple[str, torch.Tensor, torch.Tensor]  # discriminator name, fake input, real input


class BaseRecipe:
    """What the generator families share: their loss terms and training parameters, the module that runs
    the generator's part of a step (``Runner``: one call, so DDP syncs once) and one image discriminator."""

    name = ""
    batchable = False  # frames are independent (pix2pixHD), so inference may run a batch of them
    Runner: type[nn.Module]

    def __init__(self, terms: LossTerms, p):
        self.terms, self.p = terms, p

    def runner(self, generator: nn.Module) -> nn.Module:
        return self.Runner(generator)

    def discriminators(self, nets: Models) -> dict[str, nn.Module]:
        return {"D": nets.discriminator}


@dataclass
class LossTerms:
    """The loss functions and weights of a run (VGG only when its weights were found)."""

    gan: GANLoss
    weights: LossWeights
    vgg: nn.Module | None = None

    def reconstruction(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        if self.vgg is not None and self.weights.vgg > 0:
            out["G_vgg"] = self.vgg(fake.float(), real.float()) * self.weights.vgg
        if self.weights.l1 > 0:
            out["G_l1"] = F.l1_loss(fake.float(), real.float()) * self.weights.l1
        return out

    def adversarial(self, D: nn.Module, fake_in: torch.Tensor, real_in: torch.Tensor, prefix: str,
                    gan_weight: float, share: float = 1.0) -> dict[str, torch.Tensor]:
        """Generator-side GAN (x ``gan_weight``) and feature matching (x ``loss.feat``), both x ``share``
        (the part of the batch's terms this discriminator call stands for, e.g. 1/pairs)."""
        with torch.no_grad():
            real_feats = [[f.detach() for f in scale] for scale in D(real_in)]
        fake_feats = D(fake_in)
        losses = {f"{prefix}_gan": self.gan(fake_feats, True, for_discriminator=False) * gan_weight * share}
        if self.weights.feat > 0:
            losses[f"{prefix}_feat"] = feature_matching_loss(fake_feats, real_feats, weight=self.weights.feat) * share
        return losses


@dataclass
class GeneratorLosses:
    """Collects a step's generator losses and the discriminator inputs they used."""

    terms: LossTerms
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    d_items: list[DItem] = field(default_factory=list)

    def adversarial(self, name: str, D: nn.Module, fake_in, real_in, prefix: str, weight: float,
                    share: float = 1.0) -> None:
        for k, v in self.terms.adversarial(D, fake_in, real_in, prefix, weight, share).items():
            self.losses[k] = self.losses.get(k, 0) + v
        self.d_items.append((name, fake_in, real_in))

    def reconstruction(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        self.losses.update(self.terms.reconstruction(fake, real))

    def result(self) -> tuple[dict[str, torch.Tensor], list[DItem]]:
        return self.losses, self.d_items


class DiscriminatorStep(nn.Module):
    """All discriminators of a stage, scored in one call on ``[fake; real]`` batches (one DDP sync)."""

    def __init__(self, discriminators: dict[str, nn.Module]):
        super().__init__()
        self.nets = nn.ModuleDict(discriminators)

    def forward(self, inputs: list[tuple[str, torch.Tensor]]) -> list:
        return [self.nets[name](x) for name, x in inputs]


def discriminator_losses(d_step: nn.Module, d_items: list[DItem], gan: GANLoss) -> dict[str, torch.Tensor]:
    """``D_loss`` (and ``Dt_loss`` for temporal discriminators) on detached fakes."""
    outputs = d_step([(name, torch.cat([f.detach(), r], 0)) for name, f, r in d_items])
    terms: dict[str, torch.Tensor] = {}
    for (name, f, _), preds in zip(d_items, outputs):
        n = f.shape[0]
        fake_p = [[x[:n] for x in scale] for scale in preds]
        real_p = [[x[n:] for x in scale] for scale in preds]
        key = "D" if name == "D" else "Dt"
        terms[key] = terms.get(key, 0) + 0.5 * (gan(fake_p, False) + gan(real_p, True))
    return terms
