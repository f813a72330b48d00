"""Generate frames from label maps with a trained model, carrying the temporal state it needs.

A *model file* is the dict written at the end of training (``data/06_models/generator.pt``
and the MLflow run's ``model/`` artifact)::

    {"format": "v2v_pipeline/generator-v1", "model_config": {...factory config...},
     "generator": state_dict, "face_generator": state_dict | None, "face_crop": int,
     "size": [width, height], "label_channels": int, "step": int, "dataset_sha256": str, ...}

:class:`FrameGenerator` is the one place that knows how each model family runs at
inference time: pix2pixHD frame by frame (batchable), EDN with its own previous output,
vid2vid with the last ``n_frames_G`` labels and ``n_frames_G - 1`` outputs.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from v2v_pipeline.models.edn import crop_boxes, paste_boxes, square_boxes
from v2v_pipeline.models.factory import build_models
from v2v_pipeline.models.vid2vid import stack_history

log = logging.getLogger(__name__)

FORMAT = "v2v_pipeline/generator-v1"


class ModelFileError(RuntimeError):
    """A model file is missing, corrupt, or not a v2v_pipeline generator."""


def mlflow_run_id(spec: str) -> str | None:
    """The MLflow run of a ``runs:/`` or ``models:/`` model spec (see :mod:`v2v_pipeline.model_uri`); else None."""
    from v2v_pipeline.model_uri import model_run_id

    return model_run_id(spec)


def load_model_file(source: str | Path | dict) -> dict[str, Any]:
    """A model dict from a dict, a ``.pt`` path, ``runs:/<run_id>`` or ``models:/...`` (downloaded from MLflow)."""
    if isinstance(source, dict):
        model = source
    else:
        source = str(source)
        from v2v_pipeline.model_uri import ModelSpecError, download_model_file, is_mlflow_spec

        if is_mlflow_spec(source):  # runs:/<id> or models:/<name>/<version> | models:/<name>@<alias>
            try:
                source = download_model_file(source)
            except ModelSpecError as e:
                raise ModelFileError(str(e)) from e
        path = Path(source)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist; train one with `kedro run --pipelines=train` "
                                 "or point transfer.model / evaluate.model at an existing file or runs:/<run_id>")
        try:
            model = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            raise ModelFileError(f"model file {path} cannot be read ({e}); it is corrupt or not a torch file") from e
    if not isinstance(model, dict) or model.get("format") != FORMAT:
        raise ModelFileError(f"{source if not isinstance(source, dict) else 'model'} is not a {FORMAT} model file")
    return model


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` (CUDA when available), ``cuda`` (an error naming the fix when there is none) or ``cpu``."""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' was asked for but no CUDA GPU is visible; set the device to auto or cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_precision(device: torch.device, precision: str) -> str:
    """``auto`` -> bf16 on the CPU and on GPUs with bf16, fp16 on older GPUs; fp16 needs a GPU."""
    if precision == "auto":
        return "bf16" if device.type == "cpu" or torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA GPU (on the CPU use bf16 or fp32)")
    return precision


def autocast_for(device: torch.device, precision: str):
    """Autocast context for ``precision`` in {auto, fp32, bf16, fp16} (see :func:`resolve_precision`)."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` or ``(H, W, C)`` -> float ``(N, C, H, W)`` in [-1, 1]."""
    if images.ndim == 3:
        images = images[None]
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float ``(N, 3, H, W)`` in [-1, 1] -> uint8 ``(N, H, W, 3)``."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class FrameGenerator:
    """Stateful frame-by-frame generation: call :meth:`reset` at the start of every clip."""

    def __init__(self, model: dict[str, Any], device: str = "auto", precision: str = "auto"):
        self.model_file = model
        self.config = model["model_config"]
        self.family = self.config["model"]
        self.size = tuple(model["size"])  # (width, height)
        self.device = pick_device(device)
        self.precision = precision
        nets = build_models(self.config)
        self.generator = nets.generator
        self.generator.load_state_dict(model["generator"])
        self.generator.to(self.device).eval()
        self.face_generator = None
        if model.get("face_generator") is not None and nets.face_generator is not None:
            self.face_generator = nets.face_generator
            self.face_generator.load_state_dict(model["face_generator"])
            self.face_generator.to(self.device).eval()
        self.face_crop = int(model.get("face_crop", 64))
        self.reset()

    @property
    def batchable(self) -> bool:
        return self.family == "pix2pixhd"

    def reset(self) -> None:
        self._prev: torch.Tensor | None = None
        self._prev_label: torch.Tensor | None = None
        n = self.config.get("n_frames_G", 3)
        self._labels: deque[torch.Tensor] = deque(maxlen=n)
        self._outputs: deque[torch.Tensor] = deque(maxlen=max(n - 1, 1))

    def _prepare(self, labels: np.ndarray) -> torch.Tensor:
        channels = labels.shape[-1] if labels.ndim >= 3 else 1
        expected = int(self.model_file.get("label_channels", channels))
        if channels != expected:
            raise ValueError(f"the model was trained on {expected}-channel label maps but got {channels} channels; "
                             "render the source labels with the same label.render settings as the training data")
        x = to_tensor(labels).to(self.device)
        w, h = self.size
        if x.shape[-2:] != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        return x

    @torch.inference_mode()
    def generate(self, labels: np.ndarray, face_boxes: np.ndarray | None = None) -> np.ndarray:
        """Next frame(s): ``labels`` uint8 ``(H, W, C)`` or, for pix2pixHD, a batch ``(N, H, W, C)``.

        ``face_boxes`` ``(N, 4)`` pixel boxes (x0, y0, x1, y1) in label coordinates, NaN where
        there is no face; used by the EDN face GAN when the model has one.
        """
        x = self._prepare(labels)
        if x.shape[0] > 1 and not self.batchable:
            raise ValueError(f"{self.family} generates frame by frame (it needs its previous output); pass one label")
        with autocast_for(self.device, self.precision):
            if self.family == "pix2pixhd":
                out = self.generator(x)
            elif self.family == "edn":
                out = self.generator(x, self._prev, self._prev_label)
                self._prev, self._prev_label = out.float(), x
            else:
                out = self._vid2vid_step(x)
            out = out.float()
            if self.face_generator is not None and face_boxes is not None:
                out = self._refine_faces(x, out, face_boxes, labels.shape[-3:-1])
        return to_uint8(out)

    def _vid2vid_step(self, x: torch.Tensor) -> torch.Tensor:
        self._labels.append(x)
        n = self._labels.maxlen
        out = self.generator(stack_history(list(self._labels), n), stack_history(list(self._outputs), n - 1)).image
        self._outputs.append(out.float())
        return out

    def _refine_faces(self, x: torch.Tensor, out: torch.Tensor, boxes: np.ndarray, label_hw) -> torch.Tensor:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        w, h = self.size
        scale = np.array([w / label_hw[1], h / label_hw[0]] * 2)
        keep = np.flatnonzero(np.isfinite(boxes).all(axis=1))
        if len(keep) == 0:
            return out
        b = boxes[keep] * scale
        centers = torch.tensor((b[:, :2] + b[:, 2:]) / 2)
        side = min(int(self.model_file.get("face_side") or self.face_crop), h, w)  # the crop size used in training
        sq = square_boxes(centers, side, h, w)
        face_label = crop_boxes(x[keep], sq, self.face_crop)
        face = crop_boxes(out[keep], sq, self.face_crop)
        refined = self.face_generator(face_label, face).float().clamp(-1, 1)
        out = out.clone()
        out[keep] = paste_boxes(out[keep], refined, sq)
        return out

    def generate_clip(self, labels: Iterable[np.ndarray], face_boxes: Iterable | None = None,
                      batch_size: int = 8, resets: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        """Frames for a whole clip (streamed; batched for pix2pixHD).

        ``resets``: one flag per frame; the temporal state (previous outputs) is dropped before
        each flagged frame, e.g. around frames where the source has no person, so that a bad
        frame does not leak into the frames after it.
        """
        self.reset()
        boxes = iter(face_boxes) if face_boxes is not None else None
        if not self.batchable:
            flags = iter(resets) if resets is not None else None
            for label in labels:
                if flags is not None and next(flags):
                    self.reset()
                box = None if boxes is None else np.asarray(next(boxes), np.float64)[None]
                yield self.generate(label, box)[0]
            return
        buf, bbuf = [], []
        for label in labels:
            buf.append(label)
            if boxes is not None:
                bbuf.append(next(boxes))
            if len(buf) == batch_size:
                yield from self.generate(np.stack(buf), np.asarray(bbuf) if bbuf else None)
                buf, bbuf = [], []
        if buf:
            yield from self.generate(np.stack(buf), np.asarray(bbuf) if bbuf else None)
