"""EDN's face GAN: a residual generator refines the face crop of the (frozen) body generator's output.

Trained in the last stage of the budget on crops around the face box; the discriminator sees
``concat(face label, face)``; the reconstruction is pixel L1 (x10, keeps the face in place)
plus VGG when available. The body runs through EDN's own step (:func:`.edn.generate_sequence`),
and inference pastes the refined crops back with the same crop geometry.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from v2v_pipeline.models.edn import crop_boxes, paste_boxes, square_boxes
from v2v_pipeline.models.factory import Models
from v2v_pipeline.recipes.edn import generate_sequence as edn_sequence
from v2v_pipeline.recipes.base import GeneratorLosses, LossTerms


def square_crops(centers: torch.Tensor, side: int, crop: int, *images: torch.Tensor):
    """Square boxes of ``side`` pixels around ``centers`` (inside the frame) and the crops of ``images``
    resampled to ``crop x crop``."""
    h, w = images[0].shape[-2:]
    sq = square_boxes(centers, min(side, h, w), h, w)
    return sq, [crop_boxes(x, sq, crop) for x in images]


def refine_faces(face_generator: nn.Module, labels: torch.Tensor, images: torch.Tensor, boxes: np.ndarray,
                 side: int, crop: int) -> torch.Tensor:
    """Inference: ``images`` with the faces in pixel ``boxes`` (x0, y0, x1, y1; NaN = no face) refined."""
    keep = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    if len(keep) == 0:
        return images
    b = boxes[keep]
    sq, (face_label, face) = square_crops(torch.tensor((b[:, :2] + b[:, 2:]) / 2), side, crop, labels[keep],
                                          images[keep])
    refined = face_generator(face_label, face).float().clamp(-1, 1)
    out = images.clone()
    out[keep] = paste_boxes(out[keep], refined, sq)
    return out


class Runner(nn.Module):
    def __init__(self, face_generator: nn.Module):
        super().__init__()
        self.face_generator = face_generator

    def forward(self, face_label: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return self.face_generator(face_label, face)


class Recipe:
    """The face stage: the body is the exported body generator (the EMA copy when there is one)."""

    name = "face"

    def __init__(self, terms: LossTerms, p, face_side: int):
        self.terms, self.p, self.face_side = terms, p, face_side

    def runner(self, face_generator: nn.Module) -> nn.Module:
        return Runner(face_generator)

    def discriminators(self, nets: Models) -> dict[str, nn.Module]:
        return {"D": nets.face_discriminator}

    def generator_losses(self, run: nn.Module, D: nn.Module, networks, batch, step: int):
        boxes = batch["face_box"][:, -1]
        keep = torch.isfinite(boxes).all(dim=1)
        if not keep.any() or self.face_side < 8:
            return None  # no face in this batch: the step is skipped
        labels, reals = batch["label"][keep], batch["image"][keep]
        with torch.no_grad():
            body_out = edn_sequence(networks.body(), labels[:, -2:])[:, -1]
        bx = boxes[keep]
        _, (face_label, face_fake, face_real) = square_crops(((bx[:, :2] + bx[:, 2:]) / 2).cpu(), self.face_side,
                                                             self.p.face.crop, labels[:, -1], body_out.float(),
                                                             reals[:, -1])
        refined = run(face_label, face_fake)
        out = GeneratorLosses(self.terms)
        out.adversarial("D", D, torch.cat([face_label, refined], 1), torch.cat([face_label, face_real], 1), "F",
                        self.terms.weights.gan)
        rec = F.l1_loss(refined.float(), face_real.float()) * 10.0
        if self.terms.vgg is not None:
            rec = rec + self.terms.vgg(refined.float(), face_real.float()) * self.terms.weights.vgg
        out.losses["F_rec"] = rec * self.terms.weights.face
        return out.result()
