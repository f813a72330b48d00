"""Adversarial, feature-matching and flow/warp losses (pix2pixHD / vid2vid conventions).

Discriminator outputs are the nested lists returned by
:class:`~v2v_pipeline.models.networks.MultiscaleDiscriminator`: ``[[layer outputs] per
scale]``. Every loss is computed in float32 (safe under bfloat16 autocast).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from v2v_pipeline.flow.warp import warp

GanMode = Literal["lsgan", "hinge", "vanilla"]
GAN_MODES: tuple[str, ...] = ("lsgan", "hinge", "vanilla")
DOutput = torch.Tensor | Sequence[torch.Tensor] | Sequence[Sequence[torch.Tensor]]


def _score_maps(preds: DOutput) -> list[torch.Tensor]:
    """The final score map of each scale: the last element of each inner list."""
    if isinstance(preds, torch.Tensor):
        return [preds]
    if len(preds) and isinstance(preds[0], torch.Tensor):
        return [preds[-1]]  # one discriminator's list of layer outputs
    return [scale[-1] for scale in preds]


class GANLoss(nn.Module):
    """GAN objective summed over discriminator scales (as pix2pixHD, no averaging).

    * ``"lsgan"`` (pix2pixHD default): mean squared error to 1 (real) / 0 (fake);
    * ``"vanilla"``: binary cross-entropy on logits;
    * ``"hinge"``: discriminator ``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``,
      generator ``-mean(D(fake))``.

    Call ``loss(preds, target_is_real, for_discriminator=True)``. For the generator's
    adversarial term use ``target_is_real=True, for_discriminator=False`` (only hinge
    distinguishes the two cases).
    """

    def __init__(self, mode: GanMode = "lsgan", real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"unknown GAN mode {mode!r}; use one of {GAN_MODES}")
        self.mode, self.real_label, self.fake_label = mode, real_label, fake_label

    def _one(self, pred: torch.Tensor, target_is_real: bool, for_discriminator: bool) -> torch.Tensor:
        pred = pred.float()
        if self.mode == "hinge":
            if not for_discriminator:
                if not target_is_real:
                    raise ValueError("hinge generator loss is only defined for target_is_real=True")
                return -pred.mean()
            return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
        target = torch.full_like(pred, self.real_label if target_is_real else self.fake_label)
        if self.mode == "lsgan":
            return F.mse_loss(pred, target)
        return F.binary_cross_entropy_with_logits(pred, target)

    def forward(self, preds: DOutput, target_is_real: bool, for_discriminator: bool = True) -> torch.Tensor:
        maps = _score_maps(preds)
        return torch.stack([self._one(p, target_is_real, for_discriminator) for p in maps]).sum()


def feature_matching_loss(
    fake_feats: Sequence[Sequence[torch.Tensor]],
    real_feats: Sequence[Sequence[torch.Tensor]],
    n_layers: int | None = None,
    num_D: int | None = None,
    weight: float = 10.0,
) -> torch.Tensor:
    """pix2pixHD discriminator feature matching.

    ``sum_i sum_j 4/(n_layers+1) * 1/num_D * weight * L1(fake[i][j], real[i][j].detach())``
    over every scale ``i`` and every layer ``j`` but the last (the score map).
    ``n_layers`` and ``num_D`` default to what the nested lists imply
    (``len(scale) - 2`` and ``len(fake_feats)``).
    """
    if len(fake_feats) != len(real_feats):
        raise ValueError(f"feature_matching_loss: {len(fake_feats)} fake vs {len(real_feats)} real scales")
    num_D = len(fake_feats) if num_D is None else num_D
    n_layers = len(fake_feats[0]) - 2 if n_layers is None else n_layers
    scale = 4.0 / (n_layers + 1) / num_D * weight
    terms = [
        F.l1_loss(f.float(), r.detach().float())
        for fake, real in zip(fake_feats[:num_D], real_feats[:num_D], strict=True)
        for f, r in zip(fake[:-1], real[:-1], strict=True)
    ]
    if not terms:
        raise ValueError("feature_matching_loss needs intermediate features (get_intermediate=True)")
    return scale * torch.stack(terms).sum()


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error, optionally masked (vid2vid ``MaskedL1Loss``).

    ``mask`` is ``(N, 1, H, W)`` (or broadcastable) in [0, 1]; as in vid2vid the mean is
    over *all* pixels (``|pred*m - target*m|``), so a mostly-zero mask gives a small loss.
    """
    pred, target = pred.float(), target.float()
    if mask is not None:
        mask = mask.float()
        pred, target = pred * mask, target * mask
    return F.l1_loss(pred, target)


def flow_loss(pred_flow: torch.Tensor, ref_flow: torch.Tensor, conf: torch.Tensor | None = None) -> torch.Tensor:
    """L1 between predicted and reference flow ``(N, 2, H, W)`` (pixels), masked by confidence."""
    return masked_l1(pred_flow, ref_flow, conf)


def warp_loss(
    output: torch.Tensor,
    prev: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor | None = None,
    detach_target: bool = True,
) -> torch.Tensor:
    """``masked_l1(output, warp(prev, flow), mask)``: temporal consistency with frame t-1.

    ``flow`` is the flow from frame t to t-1 (``warp`` samples ``prev`` at ``x + flow(x)``).
    vid2vid uses the previous *generated* frame warped by the reference flow, detached.
    """
    target = warp(prev.float(), flow.float())
    return masked_l1(output, target.detach() if detach_target else target, mask)
