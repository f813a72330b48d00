"""FID and KID: Fréchet distance on Gaussians known in closed form, KID against a direct restatement, the
FID-Inception network against pytorch-fid's with the same random weights, loading from files."""

import logging

import numpy as np
import pytest
import torch

from v2v_pipeline.metrics import (
    InceptionFeatureExtractor,
    activation_statistics,
    fid_from_features,
    fid_sample_warning,
    frechet_distance,
    kid_from_features,
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


@pytest.fixture(scope="module")
def random_fid_weights(tmp_path_factory):
    """A pytorch-fid-layout weights file (1008-class fc included) with random O(1)-activation weights."""
    torch.manual_seed(0)
    model = InceptionFeatureExtractor()
    for m in model.modules():  # default init makes the activations vanish through 20 blocks
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.normal_(m.weight, std=0.05)
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(m.running_mean, -0.1, 0.1)
            torch.nn.init.uniform_(m.running_var, 0.5, 1.5)
            torch.nn.init.uniform_(m.bias, -0.1, 0.1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state |= {"fc.weight": torch.randn(1008, 2048) * 0.01, "fc.bias": torch.zeros(1008)}
    path = tmp_path_factory.mktemp("fid") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    return path, state


def test_features_equal_pytorch_fid_with_the_same_weights(random_fid_weights, monkeypatch):
    pytorch_fid_inception = pytest.importorskip("pytorch_fid.inception")
    path, state = random_fid_weights
    # pytorch-fid downloads its weights in fid_inception_v3(); hand it our random file instead
    monkeypatch.setattr(pytorch_fid_inception, "load_state_dict_from_url", lambda *a, **k: torch.load(path))
    reference = pytorch_fid_inception.InceptionV3([3], resize_input=True, normalize_input=False).eval()
    ours = InceptionFeatureExtractor.from_file(path)
    torch.manual_seed(1)
    for shape in ((2, 3, 299, 299), (2, 3, 96, 128)):  # native size, and resized inside (bilinear)
        x = torch.rand(shape) * 2 - 1
        with torch.no_grad():
            want = reference(x)[0].flatten(1)
            got = ours(x)
        assert got.shape == (2, 2048) and want.abs().max() > 1e-2  # features are not degenerate
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # torchvision's blocks with the same weights give different features: the FID-Inception patches matter
    import torchvision

    tv = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008).eval()
    tv.load_state_dict(state)
    tv.fc = torch.nn.Identity()
    tv.dropout = torch.nn.Identity()
    with torch.no_grad():
        x = torch.rand(2, 3, 299, 299) * 2 - 1
        rel = (tv(x) - ours(x)).norm() / ours(x).norm()
    assert rel > 0.01


def test_inception_loading_and_extraction(random_fid_weights, tmp_path, caplog):
    path, state = random_fid_weights
    loaded = InceptionFeatureExtractor.from_file(path)
    torch.testing.assert_close(loaded.Mixed_7c.branch1x1.conv.weight, state["Mixed_7c.branch1x1.conv.weight"])
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (64, 48, 3), dtype=np.uint8), np.full((64, 48, 3), 30, np.uint8)]
    feats = loaded.extract([*images, images[0]], batch_size=2)  # batches of 2 and 1
    assert feats.shape == (3, 2048) and np.isfinite(feats).all() and (feats >= 0).all()
    assert np.abs(feats[0] - feats[1]).max() > 1e-3 * np.abs(feats).max()
    np.testing.assert_allclose(feats[2], feats[0], rtol=1e-4, atol=1e-6)  # batch-independent

    with pytest.raises(FileNotFoundError, match=r"(?s)absent\.pth.*pt_inception-2015-12-05-6726825d\.pth.*evaluate\.fid"):
        InceptionFeatureExtractor.from_file(tmp_path / "absent.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match=r"wrong\.pth.*does not match"):
        InceptionFeatureExtractor.from_file(tmp_path / "wrong.pth")
    tv_like = {k: v for k, v in state.items() if not k.startswith("fc.")} | {"fc.weight": torch.zeros(1000, 2048)}
    torch.save(tv_like, tmp_path / "inception_v3_google.pth")
    with pytest.raises(ValueError, match=r"torchvision's ImageNet Inception-v3.*not comparable"):
        InceptionFeatureExtractor.from_file(tmp_path / "inception_v3_google.pth")
    with caplog.at_level(logging.WARNING):
        assert load_inception_or_none(tmp_path / "absent.pth") is None
        assert load_inception_or_none(None) is None
    assert "FID skipped" in caplog.text and "evaluate.fid.inception" in caplog.text


def _kid_restated(x: np.ndarray, y: np.ndarray) -> float:
    """Bińkowski et al. 2018, eq. (3) with k(a, b) = (a.b / d + 1)^3, written out with loops."""
    d, m, n = x.shape[1], len(x), len(y)
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_equals_a_direct_restatement():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, 1.2, size=(12, 5))
    mean, std = kid_from_features(x, y)  # whole sets: one subset
    assert mean == pytest.approx(_kid_restated(x, y), rel=1e-10) and std == 0
    # subsets: each is the restated MMD of the rows it drew (same generator, same draws)
    mean, std = kid_from_features(x, y, subsets=7, subset_size=5, seed=3)
    draw = np.random.default_rng(3)
    values = []
    for _ in range(7):
        a, b = x[draw.choice(12, 5, replace=False)], y[draw.choice(12, 5, replace=False)]
        values.append(_kid_restated(a, b))
    assert mean == pytest.approx(np.mean(values), rel=1e-10) and std == pytest.approx(np.std(values), rel=1e-8)
    assert std > 0


def test_kid_is_unbiased_for_small_sets_where_fid_is_not():
    rng = np.random.default_rng(1)
    kids, fids = [], []
    for _ in range(40):  # two samples of the same distribution: true distance 0
        x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
        kids.append(kid_from_features(x, y)[0])
        fids.append(fid_from_features(x, y))
    assert abs(np.mean(kids)) < 3 * np.std(kids) / np.sqrt(len(kids))  # centred on 0
    assert np.mean(fids) > 5 * np.std(fids) / np.sqrt(len(fids))  # FID's small-sample bias: well above 0
    with pytest.raises(ValueError, match="same D"):
        kid_from_features(np.zeros((4, 3)), np.zeros((4, 2)))


def test_fid_sample_size_warning():
    assert "rank at most 79" in fid_sample_warning(80)
    assert "2049" in fid_sample_warning(2048) and fid_sample_warning(5000) is None
    assert "rank" not in fid_sample_warning(100, dims=8)
