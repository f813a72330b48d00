"""Building model families from dict configs; parameter and FLOP counting."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.models import (
    FaceResidualGenerator,
    GlobalGenerator,
    LocalEnhancer,
    SequentialGenerator,
    TemporalDiscriminator,
    TemporalGenerator,
    build_models,
    count_flops,
    count_parameters,
    edn_discriminator_input,
    resolve_config,
)

SMALL = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "ndf": 8}


def test_pix2pixhd_defaults_are_faithful() -> None:
    c = resolve_config({"model": "pix2pixhd"})
    assert (c["ngf"], c["n_downsampling"], c["n_blocks"], c["norm"], c["upsampling"]) == (
        64,
        4,
        9,
        "instance",
        "transpose",
    )
    assert (c["ndf"], c["n_layers_D"], c["num_D"], c["norm_D"]) == (64, 3, 2, "instance")
    assert resolve_config({"model": "vid2vid"})["n_downsampling"] == 3


def test_build_pix2pixhd_global_and_local() -> None:
    m = build_models({"model": "pix2pixhd", **SMALL})
    assert isinstance(m.generator, GlobalGenerator) and m.temporal_discriminator is None
    x = torch.rand(1, 3, 32, 64)
    y = m.generator(x)
    assert len(m.discriminator(torch.cat([x, y], 1))) == 2

    local = build_models({"model": "pix2pixhd", **SMALL, "local_enhancer": True, "n_blocks_local": 1})
    assert isinstance(local.generator, LocalEnhancer) and local.generator.ngf == 4
    assert local.generator(x).shape == (1, 3, 32, 64)


def test_build_edn_with_face_gan() -> None:
    m = build_models({"model": "edn", **SMALL, "face_gan": True, "face_ngf": 8, "face_n_downsampling": 2})
    assert isinstance(m.generator, TemporalGenerator) and isinstance(m.face_generator, FaceResidualGenerator)
    assert m.discriminator.in_ch == 12 and m.face_discriminator.num_D == 1
    assert set(m.named()) == {"generator", "discriminator", "face_generator", "face_discriminator"}
    frames = m.generator.generate_sequence(torch.rand(1, 2, 3, 32, 64))
    labels = torch.rand(1, 2, 3, 32, 64)
    assert len(m.discriminator(edn_discriminator_input(labels[:, 0], labels[:, 1], frames[:, 0], frames[:, 1]))) == 2
    prev_label = build_models({"model": "edn", **SMALL, "use_prev_label": True})
    assert prev_label.generator.generator.in_ch == 9


def test_build_vid2vid() -> None:
    m = build_models({"model": "vid2vid", **SMALL, "n_scales_temporal": 3, "num_D_temporal": 1})
    assert isinstance(m.generator, SequentialGenerator)
    assert isinstance(m.temporal_discriminator, TemporalDiscriminator)
    assert len(m.temporal_discriminator.scales) == 3 and m.temporal_discriminator.scales[0].num_D == 1
    out = m.generator(torch.rand(1, 3, 3, 32, 64), torch.rand(1, 2, 3, 32, 64))
    assert out.image.shape == (1, 3, 32, 64)


def test_unknown_key_is_named() -> None:
    with pytest.raises(ValueError, match="ngff"):
        build_models({"model": "pix2pixhd", "ngff": 32})
    with pytest.raises(ValueError, match=r"n_frames_G.*only used by model vid2vid"):
        build_models({"model": "pix2pixhd", "n_frames_G": 3})
    with pytest.raises(ValueError, match="'model' must be one of"):
        build_models({"model": "spade"})
    with pytest.raises(ValueError, match="'model' must be one of"):
        build_models({"ngf": 32})


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("ngf", "64", "ngf must be a positive integer"),
        ("ngf", 0, "ngf must be a positive integer"),
        ("num_D", True, "num_D must be a positive integer"),
        ("n_blocks", -1, "n_blocks must be a non-negative integer"),
        ("norm", "layer", "norm must be one of"),
        ("upsampling", "pixelshuffle", "upsampling must be one of"),
        ("local_enhancer", "yes", "local_enhancer must be true or false"),
    ],
)
def test_bad_values_are_rejected(key: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build_models({"model": "pix2pixhd", key: value})


def test_counts() -> None:
    g = GlobalGenerator(3, 3, ngf=8, n_downsampling=2, n_blocks=1)
    n = count_parameters(g)
    assert n == sum(p.numel() for p in g.parameters())
    g.head.requires_grad_(False)
    assert count_parameters(g, trainable_only=True) == n - sum(p.numel() for p in g.head.parameters())
    # first 7x7 conv alone: 2 * (3*49) * 8 output channels * H * W multiply-adds
    flops = count_flops(g, (1, 3, 32, 64))
    assert flops > 2 * 3 * 49 * 8 * 32 * 64
    assert count_flops(g, (1, 3, 64, 128)) == 4 * flops  # fully convolutional: scales with pixels


def test_typed_network_config_is_resolved_once_and_round_trips() -> None:
    from v2v_pipeline.models.factory import EDNConfig, Vid2VidConfig, network_config

    edn = network_config({"model": "edn", **SMALL, "background": True})
    assert isinstance(edn, EDNConfig) and edn.model == "edn" and edn.norm_D == "instance"
    assert network_config(edn) is edn  # already resolved: no second pass
    assert edn.to_dict() == resolve_config({"model": "edn", **SMALL, "background": True})
    assert network_config(edn.to_dict()) == edn  # the dict in model files and checkpoints gives it back
    sized = edn.with_training_size(64, 32)
    assert (sized.background_width, sized.background_height) == (64, 32) and edn.background_width == 0
    assert edn.size_factor == 4
    assert network_config({"model": "pix2pixhd", **SMALL, "local_enhancer": True}).size_factor == 8
    v = network_config({"model": "vid2vid"})
    assert isinstance(v, Vid2VidConfig) and v.n_downsampling == 3 and v.num_D_temporal == v.num_D
    assert v.with_training_size(64, 32) is v  # no background plate


def test_typed_network_config_keeps_unknown_keys_errors() -> None:
    from v2v_pipeline.models.factory import network_config

    message = r"unknown key\(s\) \['n_frames_G'\] for model 'edn' \(only used by model vid2vid\)"
    with pytest.raises(ValueError, match=message):
        network_config({"model": "edn", "n_frames_G": 3})
    with pytest.raises(ValueError, match="ngf must be a positive integer"):
        network_config({"model": "pix2pixhd", "ngf": 0})
