"""Background-residual generator: the plate is an input and the base of the output, and it is saved."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.models.factory import build_models

CFG = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "background": True, "background_width": 32,
       "background_height": 16}


@pytest.mark.parametrize("model", ["pix2pixhd", "edn"])
def test_zero_residual_returns_the_plate(model):
    nets = build_models({"model": model, **CFG})
    g = nets.generator
    bg = g if model == "pix2pixhd" else g.generator
    plate = torch.rand(1, 3, 16, 32) * 2 - 1
    bg.set_plate(plate)
    head = bg.generator.head[-2]  # the last conv before tanh
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    out = g(torch.rand(2, 3, 16, 32))
    torch.testing.assert_close(out, plate.expand(2, -1, -1, -1))
    assert "plate" in "".join(g.state_dict())  # travels with the model file


def test_plate_size_must_match_and_cannot_combine_with_local_enhancer():
    g = build_models({"model": "pix2pixhd", **CFG}).generator
    with pytest.raises(ValueError, match="does not match"):
        g.set_plate(torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="differ in size"):
        g(torch.zeros(1, 3, 32, 64))
    with pytest.raises(ValueError, match="cannot be combined"):
        build_models({"model": "pix2pixhd", **CFG, "local_enhancer": True})
