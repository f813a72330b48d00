"""A tiny synthetic 'video' for training tests: a coloured square moving over a gradient."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from v2v_pipeline.training.build import find_sequences
from v2v_pipeline.training.data import FrameTensors


def synthetic_frames(n: int = 24, size: tuple[int, int] = (32, 16), seed: int = 0) -> FrameTensors:
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    labels, images, flows = [], [], []
    for t in range(n):
        x0 = 2 + (t * 2) % (w - 10)
        lab = np.full((h, w, 3), 255, np.uint8)
        lab[4:12, x0 : x0 + 6] = (255, 0, 0)
        img = np.stack([xx * 255 // w, yy * 255 // h, np.full_like(xx, 60)], -1).astype(np.uint8)
        img[4:12, x0 : x0 + 6] = (200, 180, 40)
        img = np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
        labels.append(lab.transpose(2, 0, 1))
        images.append(img.transpose(2, 0, 1))
        flow = np.zeros((2, h, w), np.float32)
        flow[0, 4:12, x0 : x0 + 6] = -2.0 if t else 0.0
        flows.append(flow)
    boxes = np.tile(np.array([[2, 2, 14, 14]], np.float32), (n, 1))
    return FrameTensors(
        frames=np.arange(n),
        labels=torch.from_numpy(np.stack(labels)),
        images=torch.from_numpy(np.stack(images)),
        flows=torch.from_numpy(np.stack(flows)).half(),
        valid=torch.full((n, 1, h, w), 255, dtype=torch.uint8),
        face_boxes=torch.from_numpy(boxes),
        person_boxes=torch.from_numpy(np.tile(np.array([[0, 0, w, h]], np.float32), (n, 1))),
    )


def synthetic_sequences(n: int, length: int, split: str = "train") -> pd.DataFrame:
    table = pd.DataFrame({"frame": np.arange(n), "split": split, "found": True})
    return find_sequences(table, length)


def write_dataset_archive(path, data: FrameTensors) -> None:
    """``data`` as the dataset pipeline stores it: label, image, flow and valid members per frame."""
    from v2v_pipeline.storage import ArchiveWriter

    with ArchiveWriter(path) as w:
        for i in range(len(data.frames)):
            w.add_image(f"label/{i:06d}", data.labels[i].permute(1, 2, 0).numpy())
            w.add_image(f"image/{i:06d}", data.images[i].permute(1, 2, 0).numpy())
            w.add_array(f"flow/{i:06d}", data.flows[i].permute(1, 2, 0).numpy())
            w.add_image(f"valid/{i:06d}", data.valid[i, 0].numpy())
