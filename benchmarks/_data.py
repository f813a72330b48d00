"""In-memory synthetic clips for the benchmarks: both the project path and the plain baseline train on these.

A coloured block (the "person") moves over a smooth gradient with a little noise; the label map is
the block's silhouette on white. Flows are the block's true backward motion, so the vid2vid flow and
warp losses have something to learn. Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Clip:
    labels: torch.Tensor  # uint8 (N, 3, H, W)
    images: torch.Tensor  # uint8 (N, 3, H, W)
    flows: torch.Tensor  # float16 (N, 2, H, W): backward flow t -> t-1 in pixels (frame 0: zeros)
    valid: torch.Tensor  # uint8 (N, 1, H, W): 255 where the flow is reliable

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return int(self.labels.shape[-1]), int(self.labels.shape[-2])


def synthetic_clip(n: int, size: tuple[int, int], seed: int = 0) -> Clip:
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    background = np.stack([xx * 255 // max(w, 1), yy * 255 // max(h, 1), np.full_like(xx, 90)], -1).astype(np.int16)
    bw, bh = max(2, w // 8), max(2, h // 2)
    y0 = h // 4
    speed = max(1, w // 64)
    labels = np.full((n, h, w, 3), 255, np.uint8)
    images = np.empty((n, h, w, 3), np.uint8)
    flows = np.zeros((n, 2, h, w), np.float32)
    for t in range(n):
        x0 = (t * speed) % max(1, w - bw)
        labels[t, y0 : y0 + bh, x0 : x0 + bw] = (255, 0, 0)
        labels[t, y0 : y0 + bh // 3, x0 : x0 + bw] = (0, 0, 255)
        img = background + rng.integers(-4, 5, background.shape)
        img[y0 : y0 + bh, x0 : x0 + bw] = (200, 160, 60)
        images[t] = np.clip(img, 0, 255).astype(np.uint8)
        if t:
            flows[t, 0, y0 : y0 + bh, x0 : x0 + bw] = -float(speed)
    valid = np.full((n, 1, h, w), 255, np.uint8)
    valid[0] = 0
    return Clip(torch.from_numpy(labels).permute(0, 3, 1, 2).contiguous(),
                torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(),
                torch.from_numpy(flows).half(), torch.from_numpy(valid))


def sample_order(n_samples: int, steps: int, batch: int, seed: int) -> list[list[int]]:
    """Which samples each step uses: shuffled epochs from a seeded generator (the same for both paths)."""
    g = torch.Generator().manual_seed(seed)
    order: list[int] = []
    while len(order) < steps * batch:
        order += torch.randperm(n_samples, generator=g).tolist()
    return [order[i * batch : (i + 1) * batch] for i in range(steps)]
