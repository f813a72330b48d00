"""Fréchet Inception Distance (Heusel et al. 2017) and Kernel Inception Distance (Bińkowski et al. 2018).

Features are the 2048-d pool3 activations of the standard FID-Inception network
(:class:`~v2v_pipeline.metrics.inception.FIDInceptionV3`, TensorFlow's Inception graph as
ported by pytorch-fid), loaded from ``pt_inception-2015-12-05-6726825d.pth``. Images go in as
RGB in [-1, 1] and are resized to 299x299 bilinearly, as pytorch-fid does, so with that
weights file our FID is the FID papers report (up to the image resizing done before it).

FID is biased for small sample sizes: with N images the covariance has rank at most N - 1
(below the 2048 feature dimensions unless N > 2048), and its expected value falls as N grows.
KID (unbiased MMD with the cubic polynomial kernel) has no such bias and is reported next to
it; :func:`fid_sample_warning` says when N is too small for FID.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from scipy import linalg

from v2v_pipeline import weights

from .image import images_to_tensor
from .inception import FIDInceptionV3

log = logging.getLogger(__name__)

FID_MIN_SAMPLES = 2048
"""Below this many images per set FID is strongly biased (pytorch-fid's advice: at least 2048, the feature size)."""


class InceptionFeatureExtractor(FIDInceptionV3):
    """FID-Inception pool3 features with file loading and batched extraction from uint8 images.

    Build with :meth:`from_file`; the bare constructor has random weights.
    """

    @classmethod
    def from_file(cls, path: str | Path, device: torch.device | str = "cpu") -> InceptionFeatureExtractor:
        """Load ``pt_inception-2015-12-05-6726825d.pth`` (its ``fc`` classifier is ignored)."""
        state = weights.load_state_dict("fid_inception", path)
        fc = state.get("fc.weight")
        if fc is not None and fc.shape[0] == 1000:
            raise ValueError(
                f"'{path}' holds torchvision's ImageNet Inception-v3 (a 1000-class classifier), not the "
                "FID-Inception network (1008 classes): its FIDs are not comparable with published ones. "
                + weights.get("fid_inception").how(path))
        state = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
        model = cls()
        weights.load_strict(model, state, "fid_inception", path)
        return model.to(device)

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
        log.warning("FID skipped: %s", weights.missing_message("fid_inception", None))
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


def fid_sample_warning(n: int, dims: int = InceptionFeatureExtractor.dims) -> str | None:
    """A warning when ``n`` images per set are too few for a meaningful FID, else ``None``."""
    if n >= FID_MIN_SAMPLES and n > dims:
        return None
    rank = f"; the {dims}x{dims} covariance has rank at most {n - 1}" if n <= dims else ""
    return (f"FID on {n} frames is biased (it falls as the number of frames grows){rank}: compare FIDs only "
            f"between runs on the same frames, quote KID, and use at least {max(FID_MIN_SAMPLES, dims + 1)} frames "
            "for a FID comparable with published ones")


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel ``k(x, y) = (x . y / d + 1) ** 3`` between the rows of ``x`` ``(n, d)`` and ``y`` ``(m, d)``."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid_from_features(features1: np.ndarray, features2: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """KID: mean and standard deviation over random subsets of the unbiased MMD^2 (polynomial kernel).

    Each of ``subsets`` draws ``m = min(subset_size, M1, M2)`` rows of each set without
    replacement and computes ``mean_{i!=j} k(x_i, x_j) + mean_{i!=j} k(y_i, y_j) -
    2 mean_{i,j} k(x_i, y_j)`` (as torch-fidelity, clean-fid and the KID paper). Unbiased for
    any ``m >= 2``. When both sets have ``m`` rows one subset (both whole sets) is used. The sampling is seeded (``seed``) so results are reproducible.
    """
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"kid_from_features needs two (M >= 2, D) arrays with the same D, got {x.shape} and {y.shape}")
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"kid_from_features: subsets must be >= 1 and subset_size >= 2, got {subsets}, {subset_size}")
    m = min(subset_size, len(x), len(y))
    if m == len(x) == len(y):
        subsets = 1  # every subset is the whole of both sets: one value, std 0
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    for s in range(subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = polynomial_kernel(a, a), polynomial_kernel(b, b), polynomial_kernel(a, b)
        off = m * (m - 1)
        values[s] = ((kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off
                     - 2 * kxy.sum() / (m * m))
    return float(values.mean()), float(values.std())
