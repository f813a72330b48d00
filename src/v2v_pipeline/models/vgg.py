"""VGG19 perceptual loss (pix2pixHD ``VGGLoss``) with weights loaded from a local file.

No weights are downloaded: the caller passes the path of torchvision's VGG19 ImageNet
``state_dict`` (the full model's, or only its ``features.*`` entries). To obtain it on a
machine with internet access::

    python -c "import torch, torchvision; torch.save(torchvision.models.vgg19(weights='IMAGENET1K_V1').state_dict(), 'vgg19.pth')"

or download ``https://download.pytorch.org/models/vgg19-dcbb9e9d.pth`` (the same tensors).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from v2v_pipeline import weights

VGG19_URL = weights.get("vgg19").url
VGG19_EXPORT_COMMAND = weights.get("vgg19").export
#: ``features`` indices ending each slice: relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
SLICE_ENDS: tuple[int, ...] = (2, 7, 12, 21, 30)
#: pix2pixHD weights of the five slices.
LAYER_WEIGHTS: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)

log = logging.getLogger(__name__)


def _missing_message(path: Path | None) -> str:
    return weights.missing_message("vgg19", path)


def load_vgg19_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a VGG19 ``state_dict`` and return its ``features`` entries without the prefix."""
    state = weights.load_state_dict("vgg19", path)
    if any(k.startswith("features.") for k in state):
        state = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    # keep only the layers up to relu5_1
    return {k: v for k, v in state.items() if k.split(".")[0].isdigit() and int(k.split(".")[0]) < SLICE_ENDS[-1]}


class SlicedFeatures(nn.Module):
    """Frozen torchvision VGG ``features`` (built on the meta device, tensors taken from ``state_dict``) split
    into slices ending at ``slice_ends``; ``forward`` returns each slice's output. Used by VGG19 (this module)
    and VGG16 (:mod:`~v2v_pipeline.models.perceptual`)."""

    def __init__(self, builder, slice_ends: Sequence[int], state_dict: dict[str, torch.Tensor], what: str) -> None:
        super().__init__()
        with torch.device("meta"):  # architecture only; tensors come from the state dict
            features = builder(weights=None).features[: slice_ends[-1]]
        try:
            features.load_state_dict(state_dict, assign=True)
        except RuntimeError as err:
            raise ValueError(f"not a {what} state_dict: {self.describe_error(err)}") from err
        starts = (0, *slice_ends[:-1])
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(starts, slice_ends, strict=True))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def describe_error(err: Exception) -> str:
        return str(err)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for s in self.slices:
            x = s(x)
            outs.append(x)
        return outs


class VGG19Features(SlicedFeatures):
    """Frozen VGG19 ``features[:30]`` split into five slices ending at relu1_1 ... relu5_1."""

    def __init__(self, state_dict: dict[str, torch.Tensor]) -> None:
        super().__init__(torchvision.models.vgg19, SLICE_ENDS, state_dict, "torchvision VGG19")


class VGGLoss(nn.Module):
    """``sum_k w_k * L1(vgg_k(x), vgg_k(y))`` over relu1_1..relu5_1 (pix2pixHD ``VGGLoss``).

    ``x`` (generated) and ``y`` (target) are images in [-1, 1]; they are mapped to
    ImageNet normalisation first (``normalize_input=False`` feeds [-1, 1] unchanged, as
    pix2pixHD's code does). The target's features are computed without gradient.
    Multiply by ``lambda_feat`` (10 in pix2pixHD) in the trainer.
    """

    def __init__(
        self,
        weights_path: str | Path,
        layer_weights: Sequence[float] = LAYER_WEIGHTS,
        normalize_input: bool = True,
    ) -> None:
        super().__init__()
        if len(layer_weights) != len(SLICE_ENDS):
            raise ValueError(f"VGGLoss needs {len(SLICE_ENDS)} layer weights, got {len(layer_weights)}")
        self.vgg = VGG19Features(load_vgg19_state_dict(weights_path))
        self.layer_weights = tuple(float(w) for w in layer_weights)
        self.normalize_input = normalize_input
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> VGGLoss:  # the VGG always stays in eval mode
        super().train(mode)
        self.vgg.eval()
        return self

    def _prep(self, x: torch.Tensor) -> torch.Tensor:
        if not self.normalize_input:
            return x
        return ((x + 1) * 0.5 - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.vgg(self._prep(x))
        with torch.no_grad():
            fy = self.vgg(self._prep(y))
        terms = [w * F.l1_loss(a.float(), b.float()) for w, a, b in zip(self.layer_weights, fx, fy, strict=True)]
        return torch.stack(terms).sum()


def load_vgg_loss_or_none(
    path: str | Path | None, logger: logging.Logger | None = None, **kwargs: object
) -> VGGLoss | None:
    """:class:`VGGLoss` from ``path``, or ``None`` with a warning when the file is absent.

    The trainer then disables the perceptual term and should say so in its logs.
    """
    logger = logger or log
    if path is None or not Path(path).is_file():
        logger.warning(
            "VGG perceptual loss disabled: %s",
            _missing_message(None if path is None else Path(path)),
        )
        return None
    return VGGLoss(path, **kwargs)  # type: ignore[arg-type]
