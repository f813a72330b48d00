"""Validation during training: the one function that computes image metrics of a generated clip.

It generates the validation clip with the same :class:`~v2v_pipeline.inference.FrameGenerator`
that transfer uses and scores it with the evaluation's rules (SSIM/PSNR on the frame and the
person box, warping error); the baseline is the mean training frame, as in the evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from v2v_pipeline.boxes import box_from_row
from v2v_pipeline.inference import FrameGenerator
from v2v_pipeline.metrics.engine import mean_frame, score_frames
from v2v_pipeline.schema import PERSON_BOX, resize_flow, resize_image, resize_valid
from v2v_pipeline.training.data import FrameTensors


def validation_frames(val: FrameTensors | None, val_frames: int) -> np.ndarray:
    """Positions of the first contiguous run of validation frames (up to ``val_frames``)."""
    if val is None or len(val.frames) == 0:
        return np.zeros(0, int)
    breaks = np.flatnonzero(np.diff(val.frames) != 1)
    end = breaks[0] + 1 if len(breaks) else len(val.frames)
    return np.arange(min(end, val_frames))


def resized_uint8(images: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """uint8 ``(N, 3, H, W)`` tensor -> uint8 ``(N, h, w, 3)`` at ``size=(w, h)`` (antialiased)."""
    x = images.float()
    if x.shape[-2:] != (size[1], size[0]):
        x = F.interpolate(x, size=(size[1], size[0]), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def clip_scores(fakes: list[np.ndarray] | np.ndarray, val: FrameTensors, pos: np.ndarray, size: tuple[int, int],
                prefix: str = "val_") -> dict[str, float]:
    """THE metric computation of training: per-frame image scores (frame and person box) averaged, and the
    warping errors (Lai et al. ``warp_error`` and ``warp_l1_255``) for the validation clip, by the
    evaluation engine's :func:`~v2v_pipeline.metrics.engine.score_frames`. ``fakes``: uint8 ``(N, h, w, 3)`` at ``size`` for frames ``pos``."""
    reals = resized_uint8(val.images[pos], size)
    scale = (size[0] / val.images.shape[-1], size[1] / val.images.shape[-2])
    boxes = [box_from_row(dict(zip(PERSON_BOX, row)), "person", scale) for row in val.person_boxes[pos].tolist()]
    flows = valid = None
    if prefix == "val_":
        flows = [resize_flow(f, size) for f in val.flows[pos[1:]].float().permute(0, 2, 3, 1).numpy()]
        valid = [resize_valid(v[0], size) for v in val.valid[pos[1:]].numpy()]
    return {f"{prefix}{k}": v for k, v in score_frames(list(fakes), list(reals), boxes, flows, valid).items()}


@torch.no_grad()
def validate(model_file: dict, val: FrameTensors, pos: np.ndarray, device, precision: str):
    """Metrics of the validation clip generated from ``model_file`` and the label | generated | real grid."""
    gen = FrameGenerator(model_file, device=str(device), precision=precision)
    labels = val.labels[pos].permute(0, 2, 3, 1).numpy()
    fakes = np.stack(list(gen.generate_clip(labels, val.face_boxes[pos].numpy())))
    return clip_scores(fakes, val, pos, gen.size), sample_grid(labels[:4], fakes[:4],
                                                               resized_uint8(val.images[pos[:4]], gen.size))


def baseline(train_images, val: FrameTensors, pos: np.ndarray, size: tuple[int, int]) -> dict[str, float]:
    """The trivial baseline: the mean training frame for every validation frame."""
    mean = mean_frame(lambda i: train_images[i].permute(1, 2, 0).numpy(), range(len(train_images)))
    mean = resize_image(mean, size)
    return clip_scores([mean] * len(pos), val, pos, size, prefix="baseline_")


def sample_grid(labels: np.ndarray, fakes: np.ndarray, reals: np.ndarray) -> np.ndarray:
    """Rows of ``label | generated | real`` (uint8 RGB), labels resized to the output size."""
    import cv2

    rows = []
    for lab, fake, real in zip(labels, fakes, reals):
        lab = lab[..., :3] if lab.ndim == 3 else np.repeat(lab[..., None], 3, axis=2)
        if lab.shape[:2] != fake.shape[:2]:
            lab = cv2.resize(lab, (fake.shape[1], fake.shape[0]), interpolation=cv2.INTER_AREA)
        rows.append(np.concatenate([lab, fake, real], axis=1))
    return np.concatenate(rows, axis=0)
