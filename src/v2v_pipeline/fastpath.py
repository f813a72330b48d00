"""Inference fast paths that stay close to fp32: autocast precision, memory format and torch.compile.

:func:`optimize_for_inference` wraps a generator (any module whose tensor inputs are images
``(N, C, H, W)`` or stacks of them) so that calls run in eval mode under the chosen autocast
precision, with 4-D inputs in ``channels_last`` when asked, optionally compiled with inductor,
and with float32 outputs. The wrapped module keeps the generator's call signature, so
:class:`~v2v_pipeline.inference.FrameGenerator` can use it in place of the plain generator.

Measured with ``benchmarks/bench_suite.py`` (see docs/performance.md for the numbers and the
tolerance each option keeps against eager fp32).
"""

from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "fp16")


def _dtype(precision: str) -> torch.dtype | None:
    if precision not in PRECISIONS:
        raise ValueError(f"fastpath precision must be one of {PRECISIONS} (resolve 'auto' first), got {precision!r}")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def _to_float(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, (list, tuple)):
        return type(out)(_to_float(o) for o in out)
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return dataclasses.replace(out, **{f.name: _to_float(getattr(out, f.name)) for f in dataclasses.fields(out)})
    return out


class InferenceModule(nn.Module):
    """``module`` called under autocast (``dtype``) with 4-D tensor inputs in ``memory_format``; float32 outputs.

    ``cast``: the module's weights were cast to ``dtype`` once, and floating inputs are cast to it here,
    instead of autocast re-casting every weight on every call.
    """

    def __init__(self, module: nn.Module, device_type: str, dtype: torch.dtype | None, channels_last: bool,
                 cast: bool = False):
        super().__init__()
        self.module, self.device_type, self.dtype, self.cast = module, device_type, dtype, cast
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def _arg(self, a: Any) -> Any:
        if isinstance(a, torch.Tensor):
            if self.cast and a.is_floating_point():
                a = a.to(self.dtype)
            if a.dim() == 4:
                return a.contiguous(memory_format=self.memory_format)
        return a

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        args = tuple(self._arg(a) for a in args)
        kwargs = {k: self._arg(v) for k, v in kwargs.items()}
        use_autocast = self.dtype is not None and not self.cast
        ctx = torch.autocast(self.device_type, dtype=self.dtype) if use_autocast else nullcontext()
        with ctx:
            return _to_float(self.module(*args, **kwargs))


def optimize_for_inference(module: nn.Module, device: torch.device | str, precision: str = "fp32",
                           channels_last: bool | None = None, compile: bool = False,
                           cast: bool = False) -> nn.Module:
    """The generator ready for fast inference on ``device``.

    Args:
        module: the generator (its parameters are moved to ``device`` and set to eval mode; gradients off).
        precision: ``fp32``, ``bf16`` or ``fp16`` (autocast; resolve ``auto`` with the project's precision rule
            first; fp16 needs CUDA).
        channels_last: weights and 4-D inputs in NHWC; ``None`` = on for CUDA, off on the CPU (where the
            suite measured no gain with these instance-norm networks).
        compile: ``torch.compile`` (inductor) the wrapped call; the first call compiles (tens of seconds on a
            small CPU), so use it for long clips only.
        cast: with bf16/fp16, cast the weights once and run the whole network in that dtype instead of
            autocast (which re-casts every weight on every call: ~15% of bf16 inference time on the CPU in
            the profile). Modules that must stay in float32 (vid2vid's warp) call ``.float()`` themselves.
    """
    device = torch.device(device)
    dtype = _dtype(precision)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fastpath precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if channels_last is None:
        channels_last = device.type == "cuda"
    module = module.to(device).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    if cast and dtype is None:
        raise ValueError("fastpath cast=True needs precision bf16 or fp16 (fp32 weights are already fp32)")
    if cast:
        module = module.to(dtype)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    wrapped: nn.Module = InferenceModule(module, device.type, dtype, channels_last, cast).eval()
    if compile:
        wrapped = torch.compile(wrapped, dynamic=False)
    return wrapped
