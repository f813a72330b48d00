"""GAN, feature-matching, flow and warp losses on hand-computed values."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.models import GANLoss, feature_matching_loss, flow_loss, masked_l1, warp_loss


def _nested(*score_maps: torch.Tensor) -> list[list[torch.Tensor]]:
    """Discriminator-like output: one scale per score map, with a dummy feature before it."""
    return [[torch.full((1, 2, 2, 2), 9.0), s] for s in score_maps]


def test_lsgan_known_values() -> None:
    loss = GANLoss("lsgan")
    ones, zeros = torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4)
    assert loss(_nested(ones, ones), True).item() == 0.0
    assert loss(_nested(zeros), False).item() == 0.0
    # MSE to 1 of 0.5 is 0.25 per scale, summed over 2 scales
    half = torch.full((1, 1, 3, 3), 0.5)
    assert loss(_nested(half, half), True).item() == pytest.approx(0.5)
    # fake target 0: mean((3)^2) = 9; only the last element of each scale counts
    assert loss(_nested(torch.full((1, 1, 2, 2), 3.0)), False).item() == pytest.approx(9.0)
    # a bare tensor and a single list work too
    assert loss(half, True).item() == pytest.approx(0.25)
    assert loss([ones, half], True).item() == pytest.approx(0.25)


def test_hinge_known_values() -> None:
    loss = GANLoss("hinge")
    pred = torch.tensor([-2.0, -0.5, 0.5, 2.0]).view(1, 1, 2, 2)
    # real: relu(1 - p) = [3, 1.5, 0.5, 0] -> mean 1.25
    assert loss(_nested(pred), True).item() == pytest.approx(1.25)
    # fake: relu(1 + p) = [0, 0.5, 1.5, 3] -> mean 1.25
    assert loss(_nested(pred), False).item() == pytest.approx(1.25)
    # generator: -mean(p) = 0, with a second scale of 1s -> -1
    assert loss(_nested(pred, torch.ones(1, 1, 2, 2)), True, for_discriminator=False).item() == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="target_is_real=True"):
        loss(_nested(pred), False, for_discriminator=False)


def test_vanilla_known_values() -> None:
    loss = GANLoss("vanilla")
    zeros = torch.zeros(1, 1, 2, 2)  # sigmoid(0) = 0.5 -> BCE = log 2 either way
    assert loss(_nested(zeros), True).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert loss(_nested(torch.full((1, 1, 2, 2), 20.0)), True).item() < 1e-6


def test_gan_loss_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="wgan"):
        GANLoss("wgan")  # type: ignore[arg-type]


def test_feature_matching_weighting() -> None:
    # 2 scales x (n_layers=3 -> 5 outputs); fake - real = 1 everywhere except the score map
    real = [[torch.zeros(1, 2, 4, 4) for _ in range(5)] for _ in range(2)]
    fake = [[torch.ones(1, 2, 4, 4) for _ in range(4)] + [torch.full((1, 1, 4, 4), 100.0)] for _ in range(2)]
    # each of the 2 * 4 L1 terms is 1, weighted 4/(3+1) * 1/2 * 10 = 5
    assert feature_matching_loss(fake, real, n_layers=3, num_D=2, weight=10.0).item() == pytest.approx(40.0)
    assert feature_matching_loss(fake, real).item() == pytest.approx(40.0)  # inferred sizes
    assert feature_matching_loss(fake, real, weight=1.0).item() == pytest.approx(4.0)
    # n_layers=1 -> weight 4/2 = 2; num_D=1 uses only the first scale: 4 terms * 2 * 1 * 1
    assert feature_matching_loss(fake, real, n_layers=1, num_D=1, weight=1.0).item() == pytest.approx(8.0)


def test_feature_matching_detaches_real_features() -> None:
    real = [[torch.zeros(1, 1, 2, 2, requires_grad=True), torch.zeros(1, 1, 2, 2)]]
    fake = [[torch.ones(1, 1, 2, 2, requires_grad=True), torch.zeros(1, 1, 2, 2)]]
    feature_matching_loss(fake, real).backward()
    assert real[0][0].grad is None and fake[0][0].grad is not None


def test_masked_l1_and_flow_loss() -> None:
    pred, ref = torch.zeros(1, 2, 2, 2), torch.full((1, 2, 2, 2), 2.0)
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).view(1, 1, 2, 2)
    assert masked_l1(pred, ref).item() == pytest.approx(2.0)
    # vid2vid MaskedL1Loss: mean over all 8 values, only 2 are kept -> 4 / 8
    assert flow_loss(pred, ref, mask).item() == pytest.approx(0.5)


def test_warp_loss_zero_when_output_is_warped_prev() -> None:
    prev = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 1.0  # frame t at x shows frame t-1 at x + 1
    shifted = prev.roll(-1, dims=-1)
    mask = torch.ones(1, 1, 8, 8)
    mask[..., -1] = 0  # the last column maps off the image
    assert warp_loss(shifted, prev, flow, mask).item() == pytest.approx(0.0, abs=1e-6)
    assert warp_loss(prev, prev, flow, mask).item() > 0.1
    # the warped target is detached by default
    prev.requires_grad_(True)
    out = shifted.clone().requires_grad_(True)
    warp_loss(out, prev, flow).backward()
    assert prev.grad is None and out.grad is not None
