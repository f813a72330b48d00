"""Background composite: the plate is an input, and where the mask is 0 the output is the plate exactly."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.models.factory import build_models

CFG = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "background": True, "background_width": 32,
       "background_height": 16}


@pytest.mark.parametrize("model", ["pix2pixhd", "edn"])
def test_zero_mask_returns_the_plate_and_full_mask_the_image(model):
    nets = build_models({"model": model, **CFG})
    g = nets.generator
    bg = g if model == "pix2pixhd" else g.generator
    plate = torch.rand(1, 3, 16, 32) * 2 - 1
    bg.set_plate(plate)
    head = bg.generator.head[-2]  # the last conv before tanh: channels 0-2 image, 3 mask
    torch.nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.5, 0.5, 0.5, -30.0]))  # mask -> 0
    x = torch.rand(2, 3, 16, 32)
    torch.testing.assert_close(g(x), plate.expand(2, -1, -1, -1))
    with torch.no_grad():
        head.bias[3] = 30.0  # mask -> 1: the generated image (tanh(0.5)) everywhere
    torch.testing.assert_close(g(x), torch.full((2, 3, 16, 32), float(torch.tanh(torch.tensor(0.5)))))
    assert any(k.endswith("plate") for k in g.state_dict())  # travels with the model file


def test_plate_size_must_match_and_cannot_combine_with_local_enhancer():
    g = build_models({"model": "pix2pixhd", **CFG}).generator
    with pytest.raises(ValueError, match="does not match"):
        g.set_plate(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="differ in size"):
        g(torch.zeros(1, 3, 32, 64))
    with pytest.raises(ValueError, match="cannot be combined"):
        build_models({"model": "pix2pixhd", **CFG, "local_enhancer": True})
