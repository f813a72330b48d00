"""Everybody Dance Now: temporally smoothed generator, face residual GAN, face crop/paste.

Follows carolineec/EverybodyDanceNow (``pix2pixHD_model_fullts.py``):

* the generator input is ``concat(label_t, previous_output)`` (``in_ch = label_ch + 3``);
  the first frame of a sequence gets zeros as previous output. ``use_prev_label=True``
  also feeds ``label_{t-1}`` (``in_ch = 2 * label_ch + 3``; an extension, not EDN's);
  at the first frame the missing previous label is ``label_t`` duplicated (no motion);
* the (temporal) discriminator sees ``concat(label_{t-1}, label_t, img_{t-1}, img_t)``;
* the face GAN: a small generator predicts a residual from ``concat(face label crop,
  generated face crop)`` which is added to the generated crop; a single-scale PatchGAN
  judges ``concat(face label crop, face crop)``.

Face boxes are ``(x0, y0, x1, y1)`` pixel edges (``x1``/``y1`` exclusive), rounded to
integers, so an integer box of the crop size is an exact copy both ways.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

from v2v_pipeline.models.networks import GlobalGenerator, Norm, Upsampling


class TemporalGenerator(nn.Module):
    """EDN's temporally smoothed generator around a pix2pixHD generator.

    ``generator`` (a :class:`GlobalGenerator` or :class:`LocalEnhancer`) must take
    ``label_ch + 3`` input channels (``2 * label_ch + 3`` with ``use_prev_label``).
    """

    def __init__(self, generator: nn.Module, label_ch: int, out_ch: int = 3, use_prev_label: bool = False) -> None:
        super().__init__()
        self.generator, self.label_ch, self.out_ch = generator, label_ch, out_ch
        self.use_prev_label = use_prev_label
        expected = label_ch * (2 if use_prev_label else 1) + out_ch
        got = getattr(generator, "in_ch", expected)
        if got != expected:
            raise ValueError(
                f"TemporalGenerator(label_ch={label_ch}, use_prev_label={use_prev_label}) needs a generator "
                f"with {expected} input channels, got {got}"
            )

    @property
    def in_ch(self) -> int:
        return self.label_ch * (2 if self.use_prev_label else 1) + self.out_ch

    def generator_input(
        self, label: torch.Tensor, prev_output: torch.Tensor | None, prev_label: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The concatenated input; ``None`` previous output -> zeros, previous label -> ``label``."""
        if prev_output is None:
            n, _, h, w = label.shape
            prev_output = label.new_zeros(n, self.out_ch, h, w)
        parts = [label]
        if self.use_prev_label:
            parts.append(label if prev_label is None else prev_label)
        parts.append(prev_output.to(label.dtype))
        return torch.cat(parts, dim=1)

    def forward(
        self,
        label: torch.Tensor,
        prev_output: torch.Tensor | None = None,
        prev_label: torch.Tensor | None = None,
        return_features: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return self.generator(self.generator_input(label, prev_output, prev_label), return_features=return_features)

    def generate_sequence(self, labels: torch.Tensor, detach_prev: bool = False) -> torch.Tensor:
        """Run frame by frame over ``labels`` ``(N, T, C, H, W)``; returns ``(N, T, 3, H, W)``.

        EDN trains on pairs and lets the gradient flow through the first output into the
        second (``detach_prev=False``); detach for long sequences to bound memory.
        """
        outputs: list[torch.Tensor] = []
        prev = prev_label = None
        for t in range(labels.shape[1]):
            out = self(labels[:, t], prev, prev_label)
            outputs.append(out)
            prev = out.detach() if detach_prev else out
            prev_label = labels[:, t]
        return torch.stack(outputs, dim=1)


def edn_discriminator_input(
    label_prev: torch.Tensor, label: torch.Tensor, image_prev: torch.Tensor, image: torch.Tensor
) -> torch.Tensor:
    """EDN discriminator input ``concat(label_{t-1}, label_t, img_{t-1}, img_t)`` (channels)."""
    return torch.cat([label_prev, label, image_prev.to(label.dtype), image.to(label.dtype)], dim=1)


class FaceResidualGenerator(nn.Module):
    """EDN face residual generator: ``refined = face + G(concat(face_label, face))``.

    The residual network is a small pix2pixHD global generator (EDN's ``faceGtype
    global``: ngf 64, 3 downsamplings, 5 residual blocks), whose tanh output is the
    residual. The refined face is not clamped (as EDN).
    """

    def __init__(
        self,
        label_ch: int = 3,
        out_ch: int = 3,
        ngf: int = 64,
        n_downsampling: int = 3,
        n_blocks: int = 5,
        norm: Norm = "instance",
        upsampling: Upsampling = "transpose",
    ) -> None:
        super().__init__()
        self.label_ch, self.out_ch = label_ch, out_ch
        self.net = GlobalGenerator(label_ch + out_ch, out_ch, ngf, n_downsampling, n_blocks, norm, upsampling)

    def forward(
        self, face_label: torch.Tensor, face: torch.Tensor, return_residual: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        residual = self.net(torch.cat([face_label, face.to(face_label.dtype)], dim=1))
        refined = face + residual.to(face.dtype)
        return (refined, residual) if return_residual else refined


def _int_boxes(boxes: torch.Tensor) -> torch.Tensor:
    boxes = torch.as_tensor(boxes).detach().to("cpu", torch.float64).round().long()
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (N, 4) x0, y0, x1, y1 in pixels, got shape {tuple(boxes.shape)}")
    if (boxes[:, 2] <= boxes[:, 0]).any() or (boxes[:, 3] <= boxes[:, 1]).any():
        raise ValueError(f"empty box (x1 <= x0 or y1 <= y0) in {boxes.tolist()}")
    return boxes


def crop_boxes(images: torch.Tensor, boxes: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop box ``i`` of image ``i`` and resample it to ``size`` (``(h, w)`` or square).

    ``images`` ``(N, C, H, W)``, ``boxes`` ``(N, 4)``. Uses ``roi_align`` (bilinear, with
    area averaging when shrinking): differentiable w.r.t. ``images``; parts of a box
    outside the image read as zeros.
    """
    boxes_i = _int_boxes(boxes)
    if boxes_i.shape[0] != images.shape[0]:
        raise ValueError(f"crop_boxes: {boxes_i.shape[0]} boxes for {images.shape[0]} images")
    size = (size, size) if isinstance(size, int) else tuple(size)
    rois = torch.cat([torch.arange(len(boxes_i))[:, None], boxes_i], dim=1)
    dtype = images.dtype if images.dtype in (torch.float32, torch.float64) else torch.float32
    with torch.autocast(images.device.type, enabled=False):
        crops = roi_align(images.to(dtype), rois.to(images.device, dtype), size, 1.0, -1, aligned=True)
    return crops.to(images.dtype)


def paste_boxes(images: torch.Tensor, crops: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`crop_boxes`: resize crop ``i`` to box ``i`` and write it into image ``i``.

    Returns a new tensor; gradients flow to both ``images`` (outside the boxes) and
    ``crops``. Box parts outside the image are dropped.
    """
    boxes_i = _int_boxes(boxes)
    if not (len(boxes_i) == len(crops) == len(images)):
        raise ValueError(f"paste_boxes: {len(images)} images, {len(crops)} crops, {len(boxes_i)} boxes")
    h, w = images.shape[-2:]
    out = images.clone()
    for i, (x0, y0, x1, y1) in enumerate(boxes_i.tolist()):
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 <= cx0 or cy1 <= cy0:
            continue  # box entirely outside the image
        crop = crops[i : i + 1].to(images.dtype)
        if crop.shape[-2:] != (y1 - y0, x1 - x0):
            crop = F.interpolate(crop, size=(y1 - y0, x1 - x0), mode="bilinear", align_corners=False)
        out[i : i + 1, :, cy0:cy1, cx0:cx1] = crop[..., cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
    return out


def square_boxes(centers: torch.Tensor, side: int, height: int, width: int) -> torch.Tensor:
    """``(N, 4)`` integer square boxes of ``side`` pixels around ``centers`` ``(N, 2)`` x, y,
    shifted to lie inside an image of ``height`` x ``width`` (EDN/vid2vid fixed-size face crops)."""
    if side > min(height, width):
        raise ValueError(f"face box side {side} exceeds the image size {width}x{height}")
    c = torch.as_tensor(centers, dtype=torch.float64).reshape(-1, 2)
    x0 = (c[:, 0] - side / 2).round().clamp(0, width - side)
    y0 = (c[:, 1] - side / 2).round().clamp(0, height - side)
    return torch.stack([x0, y0, x0 + side, y0 + side], dim=1).long()
