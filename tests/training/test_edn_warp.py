"""EDN's warp loss (``train.loss.edn_warp``, 10 by default): vid2vid's temporal consistency on each generated pair."""

from __future__ import annotations

import torch

from tests.training.test_trainer import make_trainer, params
from v2v_pipeline.flow.warp import warp
from v2v_pipeline.models.losses import GANLoss
from v2v_pipeline.params import LossWeights
from v2v_pipeline.recipes import edn
from v2v_pipeline.recipes.base import LossTerms


class _D(torch.nn.Module):  # one scale, one score map: enough for the adversarial terms
    def forward(self, x):
        return [[x.mean(1, keepdim=True)]]


def _losses(fakes: torch.Tensor, flow: torch.Tensor, valid: torch.Tensor, weight: float) -> dict:
    terms = LossTerms(GANLoss("lsgan"), LossWeights(feat=0.0, l1=0.0, edn_warp=weight))
    recipe = edn.Recipe(terms, params("edn"))
    batch = {"label": torch.zeros(1, 2, 3, 16, 32), "image": torch.zeros_like(fakes),
             "flow": flow, "valid": valid}
    losses, _ = recipe.generator_losses(lambda labels: fakes, _D(), None, batch, step=1)
    return losses


def _pair(moved: bool):
    torch.manual_seed(0)
    first = torch.rand(1, 3, 16, 32) * 2 - 1
    flow = torch.zeros(1, 2, 2, 16, 32)
    flow[:, 1, 0] = -2.0  # frame 1 samples frame 0 two pixels to its left: the content moved right by 2
    second = warp(first, flow[:, 1]) if moved else first
    return torch.stack([first, second], 1), flow


def test_warp_loss_is_zero_for_frames_that_follow_the_real_flow_and_positive_otherwise():
    valid = torch.ones(1, 2, 1, 16, 32)
    follows, flow = _pair(moved=True)
    still, _ = _pair(moved=False)
    assert _losses(follows, flow, valid, 10.0)["G_warp"].item() < 1e-6
    assert _losses(still, flow, valid, 10.0)["G_warp"].item() > 0.05


def test_warp_loss_ignores_pixels_where_the_flow_is_invalid_and_is_off_at_weight_zero():
    still, flow = _pair(moved=False)
    assert _losses(still, flow, torch.zeros(1, 2, 1, 16, 32), 10.0)["G_warp"].item() == 0.0
    assert "G_warp" not in _losses(still, flow, torch.ones(1, 2, 1, 16, 32), 0.0)


def test_edn_training_with_the_warp_loss_logs_it_every_step(tmp_path):
    trainer = make_trainer(params("edn", max_steps=4, log_every=1, val_every=1000, loss={"edn_warp": 10.0}), tmp_path)
    history = trainer.fit().history
    assert "G_warp" in history.columns
    assert history["G_warp"].notna().all() and (history["G_warp"] > 0).all()
