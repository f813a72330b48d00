"""VGG19 perceptual loss: loading from a file, values, missing-file behaviour."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torchvision

from v2v_pipeline.models import VGG19_URL, VGGLoss, load_vgg_loss_or_none


@pytest.fixture(scope="module")
def vgg_random(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A randomly initialised torchvision VGG19 ``features`` saved with torchvision's key names.

    (The classifier, 480 MB of the full state dict, is replaced by one small tensor to check
    that classifier entries are ignored.)
    """
    torch.manual_seed(0)
    features = torchvision.models.vgg19(weights=None).features.eval()
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.0.bias"] = torch.zeros(4096)
    path = tmp_path_factory.mktemp("vgg") / "vgg19.pth"
    torch.save(state, path)
    return path, features


def test_loads_torchvision_weights(vgg_random: tuple[Path, torch.nn.Module]) -> None:
    path, features = vgg_random
    loss = VGGLoss(path)
    x = torch.rand(1, 3, 32, 64) * 2 - 1
    ours = loss.vgg(x)
    assert [f.shape[1] for f in ours] == [64, 128, 256, 512, 512]
    with torch.no_grad():
        torch.testing.assert_close(ours[-1], features[:30](x))
        torch.testing.assert_close(ours[0], features[:2](x))
    assert not any(p.requires_grad for p in loss.parameters())


def test_vgg_loss_values(vgg_random: tuple[Path, torch.nn.Module]) -> None:
    loss = VGGLoss(vgg_random[0])
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 32, 64, generator=gen) * 2 - 1
    y = torch.rand(1, 3, 32, 64, generator=gen) * 2 - 1
    assert loss(x, x).item() == 0.0
    assert loss(x, y).item() > 0
    # gradient reaches the generated image, not the target
    x.requires_grad_(True)
    y.requires_grad_(True)
    loss(x, y).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and y.grad is None
    # pix2pixHD feeds [-1, 1] unnormalised: a different loss value
    raw = VGGLoss(vgg_random[0], normalize_input=False)
    assert raw(x, y).item() != pytest.approx(loss(x, y).item())


def test_vgg_loss_bf16_channels_last(vgg_random: tuple[Path, torch.nn.Module]) -> None:
    loss = VGGLoss(vgg_random[0]).to(memory_format=torch.channels_last)
    x = (torch.rand(1, 3, 32, 64) * 2 - 1).contiguous(memory_format=torch.channels_last)
    y = x.flip(-1)
    ref = loss(x, y)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        val = loss(x, y)
    assert val.dtype == torch.float32 and val.item() == pytest.approx(ref.item(), rel=0.1)


def test_missing_weights_error_names_path_and_remedy(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "vgg19.pth"
    with pytest.raises(FileNotFoundError) as err:
        VGGLoss(missing)
    msg = str(err.value)
    assert str(missing) in msg and VGG19_URL in msg and "IMAGENET1K_V1" in msg


def test_wrong_file_content(tmp_path: Path) -> None:
    path = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="VGG19"):
        VGGLoss(path)


def test_load_or_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, vgg_random: tuple[Path, torch.nn.Module]
) -> None:
    logger = logging.getLogger("test_vgg")
    with caplog.at_level(logging.WARNING, logger="test_vgg"):
        assert load_vgg_loss_or_none(tmp_path / "absent.pth", logger) is None
    assert "disabled" in caplog.text and "absent.pth" in caplog.text
    assert isinstance(load_vgg_loss_or_none(vgg_random[0], logger), VGGLoss)
