"""LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features"), version 0.1.

A torchvision backbone (AlexNet or VGG16, built with ``weights=None``) gives five feature
maps; each is unit-normalised along channels, the squared difference of the two images'
maps is weighted per channel by a learned non-negative 1x1 convolution ("lin" layer),
averaged over space and summed over layers. Inputs are RGB in [-1, 1], first shifted and
scaled by the fixed LPIPS ``ScalingLayer`` constants.

Both weight files come from the caller:

- backbone: a torchvision state dict (``features.*`` keys, classifier keys are ignored), a
  state dict of ``.features`` alone, or a full official LPIPS state dict
  (``net.sliceK.N.*`` keys);
- lin layers: the official ``lpips/weights/v0.1/{alex,vgg}.pth`` of
  richzhang/PerceptualSimilarity (keys ``lin{k}.model.1.weight``, shape ``(1, C, 1, 1)``),
  or any state dict with ``lin{k}.model.{j}.weight`` / ``lins.{k}.weight`` keys.

The numbers equal the official ``lpips.LPIPS(net=..., version='0.1')`` given the same
weights (same slicing, normalisation eps 1e-10 and spatial mean).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision
from torch import nn

from v2v_pipeline import weights

from .image import images_to_tensor

log = logging.getLogger(__name__)

# name -> (torchvision constructor, exclusive end of each of the 5 slices of ``.features``,
#          channels of each slice's output); the weights files are in v2v_pipeline.weights
_BACKBONES: dict[str, tuple[Callable[..., nn.Module], tuple[int, ...], tuple[int, ...]]] = {
    # AlexNet: relu1 | pool conv2 relu2 | pool conv3 relu3 | conv4 relu4 | conv5 relu5
    "alex": (
        torchvision.models.alexnet,
        (2, 5, 8, 10, 12),
        (64, 192, 384, 256, 256),
    ),
    # VGG16: relu1_2 | relu2_2 | relu3_3 | relu4_3 | relu5_3
    "vgg": (
        torchvision.models.vgg16,
        (4, 9, 16, 23, 30),
        (64, 128, 256, 512, 512),
    ),
}


def normalize_channels(feat: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Divide each pixel's feature vector (dim 1) by its L2 norm (+ ``eps``), as LPIPS does."""
    return feat / (feat.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


def lpips_from_features(
    feats_x: Sequence[torch.Tensor], feats_y: Sequence[torch.Tensor], lin_weights: Sequence[torch.Tensor]
) -> torch.Tensor:
    """LPIPS distance ``(N,)`` from per-layer features ``(N, C_l, H_l, W_l)`` and lin weights ``(1, C_l, 1, 1)``.

    ``sum_l mean_hw( sum_c w_lc * (n(x_l) - n(y_l))_c^2 )`` with ``n`` = :func:`normalize_channels`.
    """
    total = None
    for fx, fy, w in zip(feats_x, feats_y, lin_weights, strict=True):
        d = (normalize_channels(fx) - normalize_channels(fy)).pow(2)
        layer = nn.functional.conv2d(d, w).mean(dim=(1, 2, 3))
        total = layer if total is None else total + layer
    assert total is not None, "lpips_from_features needs at least one layer"
    return total


class LPIPS(nn.Module):
    """LPIPS v0.1 metric; ``forward(x, y)`` on ``(N, 3, H, W)`` tensors in [-1, 1] returns ``(N,)``.

    Build with :func:`load_lpips` (weights from files); the bare constructor has random weights.
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in _BACKBONES:
            raise ValueError(f"LPIPS backbone must be one of {sorted(_BACKBONES)}, got {net!r}")
        ctor, ends, chans = _BACKBONES[net]
        self.net = net
        self.ends = ends
        with torch.device("meta"):  # skip allocating/initialising the unused classifier
            features = ctor(weights=None).features[: ends[-1]]
        self.features = features.to_empty(device="cpu")
        for m in self.features.modules():
            if isinstance(m, nn.Conv2d):
                m.reset_parameters()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, kernel_size=1, bias=False) for c in chans)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def layer_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five backbone feature maps of ``x`` (in [-1, 1]) after the LPIPS scaling layer."""
        h = (x - self.shift) / self.scale
        feats, start = [], 0
        for end in self.ends:
            for i in range(start, end):
                h = self.features[i](h)
            feats.append(h)
            start = end
        return feats

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape or x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(
                "LPIPS: expected two (N, 3, H, W) tensors of equal shape, "
                f"got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        fx, fy = self.layer_features(x), self.layer_features(y)
        return lpips_from_features(fx, fy, [lin.weight for lin in self.lins])

    @torch.no_grad()
    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        """LPIPS of two RGB uint8 images ``(H, W, 3)``."""
        dev = self.shift.device
        return float(self(images_to_tensor(a, dev), images_to_tensor(b, dev))[0])

    # -- loading ---------------------------------------------------------------------
    def load_backbone(self, path: str | Path) -> None:
        """Load backbone weights (torchvision, ``.features``-only or official LPIPS layout)."""
        name = f"lpips_{self.net}_backbone"
        state = weights.load_state_dict(name, path)
        feats: dict[str, torch.Tensor] = {}
        for key, value in state.items():
            m = re.fullmatch(r"(?:features\.|net\.slice\d+\.)?(\d+)\.(weight|bias)", key)
            if m and int(m.group(1)) < self.ends[-1]:
                feats[f"{m.group(1)}.{m.group(2)}"] = value
        weights.load_strict(self.features, feats, name, path, what=f"torchvision {self.net} .features")

    def load_lins(self, path: str | Path) -> None:
        """Load the five learned 1x1 layer weights (official ``lin{k}.model.1.weight`` layout)."""
        name = f"lpips_{self.net}_lin"
        state = weights.load_state_dict(name, path)
        lins: dict[str, torch.Tensor] = {}
        for key, value in state.items():
            m = re.search(r"(?:^|\.)lins?\.?(\d+)(?:\.model\.\d+)?\.weight$", key)
            if m:
                lins[f"{m.group(1)}.weight"] = value
        weights.load_strict(self.lins, lins, name, path, what=f"LPIPS {self.net} lin layers")


def load_lpips(
    backbone_path: str | Path, lin_path: str | Path, net: str = "alex", device: torch.device | str = "cpu"
) -> LPIPS:
    """Build :class:`LPIPS` and load both weight files; raises ``FileNotFoundError``/``ValueError``."""
    model = LPIPS(net)
    model.load_backbone(backbone_path)
    model.load_lins(lin_path)
    return model.to(device)


def load_lpips_or_none(
    backbone_path: str | Path | None,
    lin_path: str | Path | None,
    net: str = "alex",
    device: torch.device | str = "cpu",
) -> LPIPS | None:
    """Like :func:`load_lpips`, but log the reason and return ``None`` when the weights are unusable."""
    if backbone_path is None or lin_path is None:
        log.warning("LPIPS skipped: no %s backbone and/or lin-layer weight path configured.", net)
        return None
    try:
        return load_lpips(backbone_path, lin_path, net, device)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("LPIPS skipped: %s", exc)
        return None
