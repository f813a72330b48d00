"""LPIPS: hand-checked layer arithmetic and the weight-loading paths (random weights)."""

import logging

import numpy as np
import pytest
import torch
import torchvision

from v2v_pipeline.metrics import (
    LPIPS,
    images_to_tensor,
    load_lpips,
    load_lpips_or_none,
    lpips_from_features,
    normalize_channels,
)

ALEX_CHANNELS = (64, 192, 384, 256, 256)


def test_layer_arithmetic_by_hand():
    # layer 1: 2 channels, 1x2 pixels. pixel 0: (3,4) vs (0,5) -> unit vectors (.6,.8) vs (0,1)
    # -> squared diff (.36,.04), weighted by (1,2) -> .44; pixel 1 equal directions -> 0; mean .22
    fx1 = torch.tensor([[[[3.0, 1.0]], [[4.0, 0.0]]]])
    fy1 = torch.tensor([[[[0.0, 2.0]], [[5.0, 0.0]]]])
    w1 = torch.tensor([1.0, 2.0]).view(1, 2, 1, 1)
    # layer 2: 1 channel, 1 pixel: 2 vs -3 -> +1 vs -1 -> 4, weight .5 -> 2
    fx2, fy2, w2 = torch.full((1, 1, 1, 1), 2.0), torch.full((1, 1, 1, 1), -3.0), torch.full((1, 1, 1, 1), 0.5)
    d = lpips_from_features([fx1, fx2], [fy1, fy2], [w1, w2])
    assert d.shape == (1,)
    assert d.item() == pytest.approx(0.22 + 2.0, abs=1e-6)
    # channel normalisation makes the distance invariant to feature magnitude
    assert lpips_from_features([7 * fx1], [fy1], [w1]).item() == pytest.approx(0.22, abs=1e-6)
    np.testing.assert_allclose(normalize_channels(fx1)[0, :, 0, 0].numpy(), [0.6, 0.8], atol=1e-7)


def _save_alex_weights(tmp_path, layout: str):
    torch.manual_seed(0)
    feats = torchvision.models.alexnet(weights=None).features.state_dict()
    if layout == "torchvision":  # full-model keys; a tiny stand-in for the (big) classifier
        backbone = {f"features.{k}": v for k, v in feats.items()} | {"classifier.1.weight": torch.zeros(2, 2)}
    elif layout == "features":
        backbone = dict(feats)
    else:  # official LPIPS full state dict: net.sliceK.N.*, slices end at 2, 5, 8, 10, 12
        slice_of = lambda n: 1 + sum(n >= e for e in (2, 5, 8, 10))  # noqa: E731
        backbone = {f"net.slice{slice_of(int(k.split('.')[0]))}.{k}": v for k, v in feats.items()}
    lins = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(ALEX_CHANNELS)}
    torch.save(backbone, tmp_path / "alexnet.pth")
    torch.save(lins, tmp_path / "alex.pth")
    return feats, lins


@pytest.mark.parametrize("layout", ["torchvision", "features", "lpips"])
def test_load_alex_and_distances(tmp_path, layout):
    feats, lins = _save_alex_weights(tmp_path, layout)
    model = load_lpips(tmp_path / "alexnet.pth", tmp_path / "alex.pth", net="alex")
    torch.testing.assert_close(model.features[3].weight, feats["3.weight"])
    torch.testing.assert_close(model.lins[4].weight, lins["lin4.model.1.weight"])

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 40, a.shape), 0, 255).astype(np.uint8)
    assert model.distance(a, a) == pytest.approx(0.0, abs=1e-7)
    d_ab = model.distance(a, b)
    assert d_ab > 0
    # independent reference: torchvision AlexNet slices + LPIPS scaling, by hand
    alex = torchvision.models.alexnet(weights=None).features.eval()
    alex.load_state_dict(feats)
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    outs = []
    with torch.no_grad():
        for x in (images_to_tensor(a), images_to_tensor(b)):
            h, fs = (x - shift) / scale, []
            for start, end in zip((0, 2, 5, 8, 10), (2, 5, 8, 10, 12)):
                h = alex[start:end](h)
                fs.append(h)
            outs.append(fs)
        ref = sum(
            (w * (normalize_channels(f0) - normalize_channels(f1)) ** 2).sum(1).mean()
            for f0, f1, w in zip(*outs, lins.values())
        )
    assert d_ab == pytest.approx(ref.item(), rel=1e-4)
    # batched forward gives one value per pair
    xb = images_to_tensor(np.stack([a, a]))
    yb = images_to_tensor(np.stack([a, b]))
    got = model(xb, yb)
    assert got.shape == (2,) and got[0].item() == pytest.approx(0.0, abs=1e-7)
    assert got[1].item() == pytest.approx(d_ab, rel=1e-5)


def test_load_vgg_features_only(tmp_path):
    torch.manual_seed(0)
    torch.save(torchvision.models.vgg16(weights=None).features.state_dict(), tmp_path / "vgg16.pth")
    lins = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate((64, 128, 256, 512, 512))}
    torch.save(lins, tmp_path / "vgg.pth")
    model = load_lpips(tmp_path / "vgg16.pth", tmp_path / "vgg.pth", net="vgg")
    a = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert model.distance(a, a) == pytest.approx(0.0, abs=1e-7)
    assert model.distance(a, 255 - a) > 0


def test_missing_and_wrong_files(tmp_path, caplog):
    _save_alex_weights(tmp_path, "features")
    with pytest.raises(FileNotFoundError, match=r"nope\.pth.*alexnet-owt-7be5be79"):
        load_lpips(tmp_path / "nope.pth", tmp_path / "alex.pth")
    with pytest.raises(FileNotFoundError, match=r"missing\.pth.*PerceptualSimilarity"):
        load_lpips(tmp_path / "alexnet.pth", tmp_path / "missing.pth")
    # lin file with a layer missing
    torch.save({"lin0.model.1.weight": torch.rand(1, 64, 1, 1)}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="partial.pth"):
        load_lpips(tmp_path / "alexnet.pth", tmp_path / "partial.pth")
    # the backbone file of the other architecture
    with pytest.raises(ValueError, match="does not match"):
        load_lpips(tmp_path / "alexnet.pth", tmp_path / "alex.pth", net="vgg")
    with pytest.raises(ValueError, match="backbone must be one of"):
        LPIPS("squeeze")
    with caplog.at_level(logging.WARNING):
        assert load_lpips_or_none(tmp_path / "nope.pth", tmp_path / "alex.pth") is None
        assert load_lpips_or_none(None, None) is None
    assert "LPIPS skipped" in caplog.text and "nope.pth" in caplog.text
    assert load_lpips_or_none(tmp_path / "alexnet.pth", tmp_path / "alex.pth") is not None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_lpips_on_cuda_matches_cpu(tmp_path):
    _save_alex_weights(tmp_path, "features")
    cpu = load_lpips(tmp_path / "alexnet.pth", tmp_path / "alex.pth")
    gpu = load_lpips(tmp_path / "alexnet.pth", tmp_path / "alex.pth", device="cuda")
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2))
    assert gpu.distance(a, b) == pytest.approx(cpu.distance(a, b), rel=2e-2)  # convs may run in TF32


def test_bit_exact_with_the_official_lpips_package(tmp_path):
    """Against richzhang/PerceptualSimilarity's own ``lpips.LPIPS`` (the package ships the real v0.1 lin
    layers; the AlexNet backbone is random, ``pnet_rand``): same weights file -> identical numbers."""
    lpips = pytest.importorskip("lpips", reason="the reference implementation (pip install lpips==0.1.4)")
    torch.manual_seed(0)
    official = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False).eval()
    torch.save(official.state_dict(), tmp_path / "official.pth")  # net.sliceK.N.* and lin{k}.model.1.weight
    ours = load_lpips(tmp_path / "official.pth", tmp_path / "official.pth", net="alex")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 64, 96, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 30, a.shape), 0, 255).astype(np.uint8)
    x, y = images_to_tensor(a), images_to_tensor(b)
    with torch.no_grad():
        want = official(x, y).flatten()
        got = ours(x, y)
    assert want.min() > 0
    assert torch.equal(got, want), (got, want)
