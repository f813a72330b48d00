"""FID: Fréchet distance on Gaussians known in closed form; Inception loading with random weights."""

import logging

import numpy as np
import pytest
import torch

from v2v_pipeline.metrics import (
    InceptionFeatureExtractor,
    activation_statistics,
    fid_from_features,
    frechet_distance,
    load_inception_or_none,
)


def _spd(d: int, seed: int = 0) -> np.ndarray:
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a @ a.T + d * np.eye(d)


def test_identical_statistics_give_zero():
    mu, sigma = np.arange(4.0), _spd(4)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-8)


def test_shifted_mean_gives_squared_distance():
    mu, sigma, d = np.zeros(3), _spd(3, 1), np.array([1.0, -2.0, 2.0])
    assert frechet_distance(mu, sigma, mu + d, sigma) == pytest.approx(9.0, abs=1e-8)


def test_diagonal_covariances_by_hand():
    # tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(s1) - sqrt(s2))^2 = (1-2)^2 + (2-3)^2 = 2; + |(3, 4)|^2 = 25
    got = frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([3.0, 4.0]), np.diag([4.0, 9.0]))
    assert got == pytest.approx(27.0, abs=1e-8)


def test_scaled_full_covariance():
    # S2 = 4 S1 commutes with S1: tr(S1 + 4 S1 - 2 * 2 S1) = tr(S1)
    s1 = _spd(5, 2)
    got = frechet_distance(np.zeros(5), s1, np.zeros(5), 4 * s1)
    assert got == pytest.approx(np.trace(s1), rel=1e-9)
    assert frechet_distance(np.zeros(5), 4 * s1, np.zeros(5), s1) == pytest.approx(got, rel=1e-9)


def test_singular_covariances_stay_finite():
    got = frechet_distance(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([0.0, 1.0]))
    assert got == pytest.approx(2.0, abs=1e-4)


def test_fid_from_samples_and_validation():
    rng = np.random.default_rng(0)
    f1 = rng.normal(size=(20000, 3))
    f2 = rng.normal(size=(20000, 3)) + np.array([0.0, 3.0, 4.0])
    assert fid_from_features(f1, f2) == pytest.approx(25.0, abs=0.3)
    mu, sigma = activation_statistics(f1)
    assert mu.shape == (3,) and sigma.shape == (3, 3)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="M >= 2"):
        activation_statistics(np.zeros((1, 4)))


def test_inception_loading_and_features(tmp_path, caplog):
    torch.manual_seed(0)
    model = InceptionFeatureExtractor()
    for m in model.modules():  # random weights with O(1) activations (default init makes them vanish)
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=0.05)
    state = {k: v.clone() for k, v in model.blocks.state_dict().items()}
    # torchvision files also hold the classifier and the auxiliary head: they must be ignored
    state |= {"fc.weight": torch.zeros(1000, 2048), "AuxLogits.fc.weight": torch.zeros(1000, 768)}
    torch.save(state, tmp_path / "inception.pth")

    loaded = InceptionFeatureExtractor.from_file(tmp_path / "inception.pth")
    torch.testing.assert_close(loaded.blocks.Mixed_7c.branch1x1.conv.weight, state["Mixed_7c.branch1x1.conv.weight"])
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 48, 3), dtype=np.uint8) for _ in range(2)]
    feats = loaded.extract([*images, images[0]], batch_size=2)  # batches of 2 and 1
    assert feats.shape == (3, 2048) and np.isfinite(feats).all() and (feats >= 0).all()
    assert np.abs(feats[0] - feats[1]).max() > 1e-3 * np.abs(feats).max()
    np.testing.assert_allclose(feats[2], feats[0], rtol=1e-4, atol=1e-6)  # batch-independent

    with pytest.raises(FileNotFoundError, match=r"absent\.pth.*inception_v3_google"):
        InceptionFeatureExtractor.from_file(tmp_path / "absent.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match=r"wrong\.pth.*does not match"):
        InceptionFeatureExtractor.from_file(tmp_path / "wrong.pth")
    with caplog.at_level(logging.WARNING):
        assert load_inception_or_none(tmp_path / "absent.pth") is None
        assert load_inception_or_none(None) is None
    assert "FID skipped" in caplog.text
