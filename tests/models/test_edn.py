"""Everybody Dance Now temporal generator, face residual GAN and crop/paste helpers."""

from __future__ import annotations

import pytest
import torch

from v2v_pipeline.models import (
    FaceResidualGenerator,
    GlobalGenerator,
    LocalEnhancer,
    MultiscaleDiscriminator,
    TemporalGenerator,
    crop_boxes,
    edn_discriminator_input,
    paste_boxes,
    square_boxes,
)

LABEL_CH = 3


def _temporal(use_prev_label: bool = False) -> TemporalGenerator:
    in_ch = LABEL_CH * (2 if use_prev_label else 1) + 3
    return TemporalGenerator(
        GlobalGenerator(in_ch, 3, ngf=8, n_downsampling=2, n_blocks=1), LABEL_CH, 3, use_prev_label
    )


@pytest.mark.parametrize(("w", "h"), [(64, 32), (128, 64)])
@pytest.mark.parametrize("use_prev_label", [False, True])
def test_temporal_generator_sequence(w: int, h: int, use_prev_label: bool) -> None:
    g = _temporal(use_prev_label)
    labels = torch.rand(2, 3, LABEL_CH, h, w) * 2 - 1
    out = g.generate_sequence(labels)
    assert out.shape == (2, 3, 3, h, w)
    # frame 0 = G(label_0, zeros [, label_0]); frame 1 = G(label_1, frame 0 [, label_0])
    torch.testing.assert_close(out[:, 0], g(labels[:, 0]))
    torch.testing.assert_close(out[:, 1], g(labels[:, 1], out[:, 0], labels[:, 0]))
    first = g.generator_input(labels[:, 0], None)
    assert first.shape[1] == g.in_ch and torch.all(first[:, -3:] == 0)
    if use_prev_label:
        torch.testing.assert_close(first[:, LABEL_CH : 2 * LABEL_CH], labels[:, 0])


def test_temporal_generator_gradient_through_previous_output() -> None:
    g = _temporal()
    labels = torch.rand(1, 2, LABEL_CH, 32, 64)
    g.generate_sequence(labels)[:, 1].mean().backward()
    assert all(p.grad is not None for p in g.parameters())
    first = g(labels[:, 0]).requires_grad_(True)
    assert g(labels[:, 1], first).mean().requires_grad
    detached = g.generate_sequence(labels, detach_prev=True)
    assert detached.shape == (1, 2, 3, 32, 64)


def test_temporal_generator_with_local_enhancer_and_channel_check() -> None:
    enh = LocalEnhancer(LABEL_CH + 3, 3, ngf=4, n_blocks_local=1, n_downsampling_global=2, n_blocks_global=1)
    g = TemporalGenerator(enh, LABEL_CH)
    image, feats = g(torch.rand(1, LABEL_CH, 32, 64), return_features=True)
    assert image.shape == (1, 3, 32, 64) and feats.shape == (1, 4, 32, 64)
    with pytest.raises(ValueError, match="9 input channels"):
        TemporalGenerator(enh, LABEL_CH, use_prev_label=True)


def test_edn_discriminator_input_order() -> None:
    parts = [torch.full((1, c, 4, 8), float(i)) for i, c in enumerate([LABEL_CH, LABEL_CH, 3, 3])]
    x = edn_discriminator_input(*parts)
    assert x.shape == (1, 2 * LABEL_CH + 6, 4, 8)
    assert x[0, :, 0, 0].tolist() == [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    d = MultiscaleDiscriminator(x.shape[1], ndf=8)
    assert len(d(x.repeat(1, 1, 8, 8))) == 2


def test_face_residual_generator() -> None:
    face_g = FaceResidualGenerator(LABEL_CH, 3, ngf=8, n_downsampling=2, n_blocks=1)
    face_label, face = torch.rand(2, LABEL_CH, 32, 32), torch.rand(2, 3, 32, 32) * 2 - 1
    refined, residual = face_g(face_label, face, return_residual=True)
    assert refined.shape == face.shape == residual.shape
    torch.testing.assert_close(refined, face + residual)
    assert residual.abs().max() <= 1
    face_d = MultiscaleDiscriminator(LABEL_CH + 3, ndf=8, num_D=1, norm="batch")
    assert len(face_d(torch.cat([face_label, refined], 1))) == 1


def test_crop_paste_roundtrip_exact_for_native_size() -> None:
    images = torch.rand(2, 3, 32, 64)
    boxes = torch.tensor([[10, 4, 26, 20], [40, 10, 56, 26]])
    crops = crop_boxes(images, boxes, 16)
    torch.testing.assert_close(crops[0], images[0, :, 4:20, 10:26])
    torch.testing.assert_close(crops[1], images[1, :, 10:26, 40:56])
    torch.testing.assert_close(paste_boxes(images, crops, boxes), images)
    edited = paste_boxes(images, torch.zeros_like(crops), boxes)
    assert torch.all(edited[0, :, 4:20, 10:26] == 0) and torch.equal(edited[0, :, :4], images[0, :, :4])


def test_crop_resizes_and_paste_clips_to_image() -> None:
    images = torch.ones(1, 3, 32, 64)
    crops = crop_boxes(images, torch.tensor([[0, 0, 32, 32]]), (8, 8))
    assert crops.shape == (1, 3, 8, 8)
    torch.testing.assert_close(crops, torch.ones_like(crops))
    # a box hanging over the right edge: only its in-image part is written
    out = paste_boxes(torch.zeros(1, 3, 32, 64), torch.ones(1, 3, 8, 8), torch.tensor([[56, 0, 72, 16]]))
    assert out[..., :16, 56:].min() == 1 and out.sum() == 3 * 16 * 8
    with pytest.raises(ValueError, match="empty box"):
        crop_boxes(images, torch.tensor([[5, 5, 5, 9]]), 4)


def test_face_pipeline_is_differentiable() -> None:
    """generated frame -> crop -> residual refinement -> paste: gradients reach generator and face G."""
    g = GlobalGenerator(LABEL_CH, 3, ngf=8, n_downsampling=2, n_blocks=1)
    face_g = FaceResidualGenerator(LABEL_CH, 3, ngf=8, n_downsampling=2, n_blocks=1)
    label = torch.rand(1, LABEL_CH, 64, 128)
    boxes = square_boxes(torch.tensor([[100.0, 10.0]]), 32, 64, 128)
    assert boxes.tolist() == [[84, 0, 116, 32]]  # shifted inside the image
    frame = g(label)
    face = face_g(crop_boxes(label, boxes, 32), crop_boxes(frame, boxes, 32))
    out = paste_boxes(frame, face, boxes)
    out.mean().backward()
    assert all(p.grad is not None for p in g.parameters())
    assert all(p.grad is not None for p in face_g.parameters())


def test_edn_bf16_autocast() -> None:
    g = _temporal().to(memory_format=torch.channels_last)
    face_g = FaceResidualGenerator(LABEL_CH, 3, ngf=8, n_downsampling=2, n_blocks=1)
    labels = torch.rand(1, 2, LABEL_CH, 32, 64)
    boxes = torch.tensor([[8, 0, 24, 16]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = g.generate_sequence(labels)
        crop = crop_boxes(out[:, 1], boxes, 16)
        refined = face_g(crop_boxes(labels[:, 1], boxes, 16), crop)
        pasted = paste_boxes(out[:, 1], refined, boxes)
    assert pasted.shape == (1, 3, 32, 64) and torch.isfinite(pasted.float()).all()
    pasted.float().mean().backward()
    assert all(p.grad is not None for p in face_g.parameters())
