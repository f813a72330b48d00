"""Fréchet Inception Distance (Heusel et al. 2017).

Features are the 2048-d "pool3" activations (global average pool after ``Mixed_7c``) of a
torchvision ``inception_v3`` built with ``weights=None`` and ``transform_input=False``,
loaded from a caller-given state dict. Images go in as RGB in [-1, 1] and are resized to
299x299 bilinearly (``align_corners=False``), as pytorch-fid does.

Honest caveat: published FID numbers use the TensorFlow Inception graph, which
pytorch-fid reproduces with its own port (``FIDInceptionA/C/E`` blocks: average pools
that exclude padding, a max pool in the last block) and its own weights file
``pt_inception-2015-12-05-6726825d.pth``. This extractor uses torchvision's blocks
unchanged. It loads either weights file (``fc``/``AuxLogits`` keys are ignored), but its
values are **not** comparable with published FIDs; use them to compare our own models
with each other under one fixed weights file.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
import torchvision
from scipy import linalg
from torch import nn

from ._weights import load_state_dict_file, load_strict
from .image import images_to_tensor

log = logging.getLogger(__name__)

_BLOCKS = (
    "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
    "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
    "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c", "avgpool",
)  # fmt: skip
_HOW = (
    "Download torchvision's Inception-v3 weights from "
    "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth (or, on a machine "
    "with internet: python -c \"import torch, torchvision; torch.save(torchvision.models."
    "inception_v3(weights='IMAGENET1K_V1').state_dict(), 'inception_v3.pth')\"), or "
    "pytorch-fid's https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
    "pt_inception-2015-12-05-6726825d.pth."
)


class InceptionFeatureExtractor(nn.Module):
    """Inception-v3 pool3 features: ``forward(x)`` on ``(N, 3, H, W)`` in [-1, 1] -> ``(N, 2048)``.

    Build with :meth:`from_file`; the bare constructor has random weights.
    """

    dims = 2048

    def __init__(self) -> None:
        super().__init__()
        net = torchvision.models.inception_v3(
            weights=None, aux_logits=False, transform_input=False, init_weights=False
        )
        self.blocks = nn.Sequential(OrderedDict((name, getattr(net, name)) for name in _BLOCKS))
        self.requires_grad_(False)
        self.eval()

    @classmethod
    def from_file(cls, path: str | Path, device: torch.device | str = "cpu") -> InceptionFeatureExtractor:
        """Load torchvision or pytorch-fid Inception-v3 weights (classifier and aux head ignored)."""
        state = load_state_dict_file(path, what="Inception-v3", how=_HOW)
        state = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
        model = cls()
        load_strict(model.blocks, state, what="Inception-v3", path=path, how=_HOW)
        return model.to(device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"InceptionFeatureExtractor: expected (N, 3, H, W) input, got {tuple(x.shape)}")
        if x.shape[-2:] != (299, 299):
            x = nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return self.blocks(x).flatten(1)

    @torch.no_grad()
    def extract(self, images: Iterable[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """Features ``(M, 2048)`` float64 of RGB uint8 images ``(H, W, 3)``, in batches."""
        device = next(self.parameters()).device
        out: list[np.ndarray] = []
        batch: list[np.ndarray] = []
        for img in images:
            batch.append(img)
            if len(batch) == batch_size:
                out.append(self(images_to_tensor(np.stack(batch), device)).double().cpu().numpy())
                batch = []
        if batch:
            out.append(self(images_to_tensor(np.stack(batch), device)).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dims))


def load_inception_or_none(
    path: str | Path | None, device: torch.device | str = "cpu"
) -> InceptionFeatureExtractor | None:
    """:meth:`InceptionFeatureExtractor.from_file`, or ``None`` with a logged reason."""
    if path is None:
        log.warning("FID skipped: no Inception-v3 weight path configured.")
        return None
    try:
        return InceptionFeatureExtractor.from_file(path, device)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("FID skipped: %s", exc)
        return None


def activation_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (unbiased, as pytorch-fid) of features ``(M, D)``."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"activation_statistics needs an (M >= 2, D) array, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrtm(a: np.ndarray) -> np.ndarray:
    # pytorch-fid calls sqrtm(..., disp=False): no singularity warning, the result is checked below
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(a)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + tr(sigma1 + sigma2 - 2 sqrtm(sigma1 sigma2))``. As in pytorch-fid: if
    the square root is not finite (near-singular product) ``eps * I`` is added to both
    covariances; a complex result whose diagonal has imaginary parts above 1e-3 raises
    ``ValueError``, smaller ones (round-off) are dropped.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"frechet_distance: inconsistent shapes mu {mu1.shape}/{mu2.shape}, sigma {sigma1.shape}/{sigma2.shape}"
        )
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        log.warning("frechet_distance: singular product of covariances; adding %g to the diagonals", eps)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"frechet_distance: sqrtm has imaginary component {np.abs(covmean.imag).max():.3g}")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """FID between two feature sets ``(M1, D)`` and ``(M2, D)``."""
    return frechet_distance(*activation_statistics(features1), *activation_statistics(features2))
