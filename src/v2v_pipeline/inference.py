"""Generate frames from label maps with a trained model, carrying the temporal state it needs.

A *model file* is the dict written at the end of training (``data/06_models/generator.pt``
and the MLflow run's ``model/`` artifact)::

    {"format": "v2v_pipeline/generator-v1", "model_config": {...factory config...},
     "generator": state_dict, "face_generator": state_dict | None, "face_crop": int,
     "size": [width, height], "label_channels": int, "step": int, "dataset_sha256": str, ...}

:class:`FrameGenerator` runs each family with its recipe's step (:mod:`v2v_pipeline.recipes`), the
same step training uses: pix2pixHD frame by frame (batchable), EDN with its own previous
output, vid2vid with the last ``n_frames_G`` labels and ``n_frames_G - 1`` outputs, and the
EDN face GAN on the same crops as in training. Device and precision come from
:mod:`v2v_pipeline.runtime` (``pick_device`` and friends are re-exported here).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from v2v_pipeline.fastpath import CompiledModule, InferenceModule, optimize_for_inference
from v2v_pipeline.models.factory import build_models
from v2v_pipeline.runtime import autocast_for, choose_precision, pick_device, resolve_precision
from v2v_pipeline.recipes import FAMILIES
from v2v_pipeline.recipes.face import refine_faces

__all__ = ["FORMAT", "FrameGenerator", "ModelFileError", "autocast_for", "load_model_file", "mlflow_run_id",
           "pick_device", "resolve_precision", "to_tensor", "to_uint8"]

log = logging.getLogger(__name__)

FORMAT = "v2v_pipeline/generator-v1"
INT8_CALIBRATION_FRAMES = 8  # precision int8: the clip's first frames that calibrate the quantiser


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

    def __init__(self, model: dict[str, Any], device: str = "auto", precision: str = "auto", compile: bool = False,
                 on_compile_fallback: Callable[[str], None] | None = None):
        """``compile``: torch.compile (inductor) the body generator (:func:`v2v_pipeline.runtime.choose_compile`
        says whether this machine can; a compile that fails at the first frame runs eagerly with a warning and
        calls ``on_compile_fallback(reason)``)."""
        self.model_file = model
        self.config = model["model_config"]
        self.family = self.config["model"]
        self.recipe = FAMILIES[self.family]
        self.size = tuple(model["size"])  # (width, height)
        self.device = pick_device(device)
        self.precision, self.precision_reason = choose_precision(self.device, precision)
        self.compile = compile
        nets = build_models(self.config)
        self.generator = nets.generator
        self.generator.load_state_dict(model["generator"])
        self.generator.to(self.device).eval()
        self.int8_check: dict[str, float] = {}  # precision int8: the quantised network against fp32, once calibrated
        if self.precision == "int8":
            from v2v_pipeline.int8 import require_onnxruntime

            if self.family == "vid2vid":
                raise ValueError("precision int8 supports pix2pixhd and edn models; vid2vid's flow head must stay in "
                                 "floating point: use precision auto")
            if compile:
                raise ValueError("compile does not apply to precision int8 (ONNX Runtime runs the network); "
                                 "set compile: false")
            require_onnxruntime()  # fail now, before any frame is read, when it is not installed
        cast = self.precision in ("bf16", "fp16") and self.family != "vid2vid"
        if self.precision != "int8":  # (int8: ONNX Runtime runs the network, see quantize)
            # channels_last, and weights cast once instead of autocast re-casting them on every call
            # (benchmarks/bench_suite.py: 1.8-1.95x eager fp32 vs 1.6x with autocast; vid2vid's flow head must stay
            # fp32, so it keeps the autocast of generate)
            self.generator = optimize_for_inference(self.generator, self.device, self.precision if cast else "fp32",
                                                    cast=cast, compile=compile, on_fallback=on_compile_fallback)
        self.face_generator = None
        if model.get("face_generator") is not None and nets.face_generator is not None:
            self.face_generator = nets.face_generator
            self.face_generator.load_state_dict(model["face_generator"])
            self.face_generator.to(self.device).eval()
        self.face_crop = int(model.get("face_crop", 64))
        self.reset()

    @property
    def quantized(self) -> bool:
        return bool(self.int8_check)

    def _network_slot(self) -> tuple[Any, str]:
        """Where the body network sits: EDN wraps it (the input concatenation stays outside), inside the
        fast-path wrapper of :func:`optimize_for_inference` when there is one."""
        return (self.network, "generator") if self.family == "edn" else (self, "generator")

    @property
    def network(self) -> torch.nn.Module:
        """The generator module itself (its state dict is the model file's), without the fast-path wrapper."""
        g = self.generator
        while isinstance(g, (InferenceModule, CompiledModule)):
            g = g.module
        return g

    def quantize(self, labels: list[np.ndarray]) -> dict[str, float]:
        """precision int8: quantise the body network with the inputs it sees on ``labels`` (the clip's first
        frames, generated in fp32 from a cold start), check the int8 network against fp32 on those inputs,
        and use it from now on. Returns (and keeps in :attr:`int8_check`) that check, in 0-255 units."""
        from v2v_pipeline.int8 import quantize

        if self.precision != "int8" or self.quantized:
            return self.int8_check
        start = time.perf_counter()
        owner, attr = self._network_slot()
        net = getattr(owner, attr)
        seen: list[np.ndarray] = []
        outs: list[np.ndarray] = []

        def keep(module, args, output):
            seen.append(args[0].detach().float().cpu().numpy().copy())
            outs.append(output.detach().float().cpu().numpy().copy())

        hook = net.register_forward_hook(keep)
        try:
            self.reset()
            for label in labels:  # one at a time: EDN needs its previous output, and so a pix2pixHD batch of 1
                self.generate(label)
        finally:
            hook.remove()
            self.reset()
        int8 = quantize(net, seen, threads=torch.get_num_threads())
        with torch.inference_mode():
            diff = np.concatenate([np.abs(np.clip(int8(torch.from_numpy(x)).numpy(), -1, 1) - np.clip(y, -1, 1)).ravel()
                                   for x, y in zip(seen, outs)]) * 127.5
        setattr(owner, attr, int8)
        self.int8_check = {"int8_calibration_frames": float(len(seen)), "int8_max_abs_diff": float(diff.max()),
                           "int8_mean_abs_diff": float(diff.mean()), "int8_quantize_s": time.perf_counter() - start}
        log.info("precision int8: %s, quantised in %.1f s; one step on those frames against fp32: max %.1f, mean %.2f "
                 "of 255", int8.source, self.int8_check["int8_quantize_s"], self.int8_check["int8_max_abs_diff"],
                 self.int8_check["int8_mean_abs_diff"])
        return self.int8_check

    @property
    def batchable(self) -> bool:
        return self.recipe.Recipe.batchable

    def reset(self) -> None:
        """Drop the temporal state (previous outputs and labels)."""
        self._state = self.recipe.new_state(self.config)

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
            out, self._state = self.recipe.generate(self.generator, x, self._state)
            out = out.float()
            if self.face_generator is not None and face_boxes is not None:
                boxes = np.asarray(face_boxes, np.float64).reshape(-1, 4)
                (w, h), label_hw = self.size, labels.shape[-3:-1]
                boxes = boxes * np.array([w / label_hw[1], h / label_hw[0]] * 2)
                side = int(self.model_file.get("face_side") or self.face_crop)  # the crop size used in training
                out = refine_faces(self.face_generator, x, out, boxes, side, self.face_crop)
        return to_uint8(out)

    def generate_clip(self, labels: Iterable[np.ndarray], face_boxes: Iterable | None = None,
                      batch_size: int = 8, resets: Iterable[bool] | None = None) -> Iterator[np.ndarray]:
        """Frames for a whole clip (streamed; batched for pix2pixHD).

        ``resets``: one flag per frame; the temporal state (previous outputs) is dropped before
        each flagged frame, e.g. around frames where the source has no person, so that a bad
        frame does not leak into the frames after it.
        """
        if self.precision == "int8" and not self.quantized:  # calibrate on the clip's own first frames
            labels = iter(labels)
            head = list(islice(labels, INT8_CALIBRATION_FRAMES))
            if head:
                self.quantize(head)
            labels = chain(head, labels)
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
            n = len(buf)
            if self.compile and n < batch_size:  # pad: a compiled generator would recompile for a new batch size
                buf, bbuf = buf + buf[-1:] * (batch_size - n), bbuf + bbuf[-1:] * (batch_size - n)
            yield from self.generate(np.stack(buf), np.asarray(bbuf) if bbuf else None)[:n]
