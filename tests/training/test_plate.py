"""The background plate is the scene without the person (issue 14: a plain median kept the person
where they stand most of the time, and the generator's composite showed that figure as a ghost)."""

from __future__ import annotations

import numpy as np
import torch

from v2v_pipeline.training.data import FrameTensors
from v2v_pipeline.training.trainer import median_plate

W, H = 48, 32


def _scene() -> np.ndarray:
    """A static background: a horizontal gradient with a bright stripe (uint8, H x W x 3)."""
    bg = np.tile(np.linspace(60, 200, W, dtype=np.float32)[None, :, None], (H, 1, 3))
    bg[20:23] = 240
    return bg.astype(np.uint8)


def _frames(xs: list[int], boxes: bool = True) -> FrameTensors:
    """A dark 8x14 'person' at column x of each frame, with its box (or none)."""
    images, person = [], []
    for x in xs:
        img = _scene().copy()
        img[6:20, x : x + 8] = 10
        images.append(img.transpose(2, 0, 1))
        person.append([x, 6, x + 8, 20] if boxes else [np.nan] * 4)
    n = len(xs)
    return FrameTensors(frames=np.arange(n), labels=torch.zeros(n, 3, H, W, dtype=torch.uint8),
                        images=torch.from_numpy(np.stack(images)), flows=torch.zeros(n, 2, H, W).half(),
                        valid=torch.full((n, 1, H, W), 255, dtype=torch.uint8),
                        face_boxes=torch.full((n, 4), float("nan")),
                        person_boxes=torch.tensor(person, dtype=torch.float32))


def _uint8(plate: torch.Tensor) -> np.ndarray:
    return ((plate[0].permute(1, 2, 0).numpy() + 1) * 127.5).round()


def test_the_person_who_mostly_stands_in_one_place_is_not_in_the_plate():
    data = _frames([10] * 14 + [30] * 6)  # at x=10 in 70 % of the frames
    plate = _uint8(median_plate(data, (W, H)))
    assert np.abs(plate - _scene()).max() <= 1  # the background, exactly
    plain = _uint8(median_plate(_frames([10] * 14 + [30] * 6, boxes=False), (W, H)))
    assert plain[6:20, 10:18].mean() < 20  # without boxes the median is the person: what the plate must avoid


def test_a_spot_the_person_never_leaves_is_inpainted_from_the_scene():
    plate = _uint8(median_plate(_frames([20] * 10), (W, H)))
    inside = plate[8:18, 22:26]
    assert inside.mean() > 60  # no dark figure: filled from the surrounding background (60..200)
    assert np.abs(plate[:, :12] - _scene()[:, :12]).max() <= 1  # the rest of the scene untouched


def test_a_box_covering_every_frame_whole_keeps_the_plain_median():
    data = _frames([20] * 4)
    data.person_boxes[:] = torch.tensor([0, 0, W, H], dtype=torch.float32)
    full = median_plate(data, (W, H))
    expected = data.images.float().median(dim=0).values[None] / 127.5 - 1.0
    assert torch.equal(full, expected)  # what the golden reference was recorded with
