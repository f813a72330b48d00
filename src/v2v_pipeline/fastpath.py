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
import logging
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

log = logging.getLogger(__name__)

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


def _compile_errors() -> tuple[type[BaseException], ...]:
    """What a call of a compiled module raises when compiling (not the model) fails."""
    errors: list[type[BaseException]] = []
    try:
        from torch._dynamo import exc

        errors += [getattr(exc, n) for n in ("BackendCompilerFailed", "InternalTorchDynamoError", "Unsupported")
                   if isinstance(getattr(exc, n, None), type)]
    except ImportError:
        pass
    return tuple(errors) or (RuntimeError,)


class CompiledModule(nn.Module):
    """``torch.compile(module)`` (inductor) that runs ``module`` eagerly, with a warning, when compiling fails.

    torch.compile is lazy: the first call compiles (minutes on a small CPU, so that is logged), and a missing
    C++ compiler or an unsupported op only shows there. Any error of the first compiled call is retried
    eagerly: when eager works, the compile was at fault (warning, eager from then on, ``on_fallback(reason)``);
    when eager fails too, that error is the model's and is raised. Later calls fall back only on compile errors
    (a recompile for a new input shape). Training, where the backward is compiled at the first backward,
    uses :meth:`use_eager` / :meth:`fall_back` around its first step the same way.

    ``status``: ``pending`` (not called yet), ``compiled`` or ``eager (<why>)``. The eager module is
    ``self.module`` (parameters shared with the compiled one; state dicts are unchanged).
    """

    def __init__(self, module: nn.Module, what: str = "model", on_fallback: Callable[[str], None] | None = None,
                 **options: Any):
        super().__init__()
        self.module, self.what, self.on_fallback = module, what, on_fallback
        self.status = "pending"
        try:
            self._compiled: list[Callable] = [torch.compile(module, **options)]  # a list: not a registered submodule
        except Exception as e:  # noqa: BLE001 - e.g. "not supported on this Python"
            self._compiled = []
            self.fall_back(e)
            return
        log.info("torch.compile (inductor): %s compiles on its first call (can take minutes on a small CPU)", what)

    @property
    def compiled(self) -> bool:
        return self.status == "compiled"

    def use_eager(self) -> Callable[[], None]:
        """Run eagerly from now on (without a warning; see :meth:`fall_back`); returns a function that undoes it."""
        previous, self._compiled = self._compiled, []

        def undo() -> None:
            self._compiled = previous
        return undo

    def fall_back(self, error: BaseException | str) -> None:
        """Eager from now on, with a warning naming the compile error."""
        first = (str(error).strip().splitlines() or [""])[0][:300]
        why = f"{type(error).__name__}: {first}" if isinstance(error, BaseException) else str(error)
        self._compiled, self.status = [], f"eager (torch.compile failed: {why})"
        log.warning("torch.compile of %s failed, running it eagerly instead (%s)", self.what, why)
        if self.on_fallback is not None:
            self.on_fallback(self.status)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not self._compiled:
            return self.module(*args, **kwargs)
        if self.status == "pending":
            try:
                out = self._compiled[0](*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - told apart below by running eagerly
                undo = self.use_eager()
                try:
                    out = self.module(*args, **kwargs)
                except Exception:
                    undo()  # the model's error (eager fails too), not the compile's
                    raise
                self.fall_back(e)
                return out
            self.status = "compiled"
            log.info("torch.compile (inductor): %s compiled", self.what)
            return out
        try:
            return self._compiled[0](*args, **kwargs)
        except _compile_errors() as e:
            self.fall_back(e)
            return self.module(*args, **kwargs)


def optimize_for_inference(module: nn.Module, device: torch.device | str, precision: str = "fp32",
                           channels_last: bool | None = None, compile: bool = False,
                           cast: bool = False, on_fallback: Callable[[str], None] | None = None) -> nn.Module:
    """The generator ready for fast inference on ``device``.

    Args:
        module: the generator (its parameters are moved to ``device`` and set to eval mode; gradients off).
        precision: ``fp32``, ``bf16`` or ``fp16`` (autocast; resolve ``auto`` with the project's precision rule
            first; fp16 needs CUDA).
        channels_last: weights and 4-D inputs in NHWC; ``None`` = on (CUDA and CPU). On the CPU the
            convolutions skip oneDNN's reorders to and from NHWC (a fifth of a bf16 generator's time), and
            :class:`~v2v_pipeline.models.networks.InstanceNorm2d` keeps its norms fast in that layout: on a
            2-core Xeon with AMX the EDN generator at 256x128 ran 1.46x its contiguous speed in bf16 (weights
            cast), pix2pixHD 1.08-1.30x, and fp32 channels-last 1.03-1.18x eager fp32 (docs/performance.md).
        compile: ``torch.compile`` (inductor) the wrapped call (:class:`CompiledModule`: eager with a warning when
            compiling fails); the first call compiles (minutes on a small CPU), so use it for long clips only.
            Whether this machine can compile at all is :func:`v2v_pipeline.runtime.choose_compile`'s question.
        on_fallback: called with the reason when the compile fails and the module runs eagerly instead.
        cast: with bf16/fp16, cast the weights once and run the whole network in that dtype instead of
            autocast (which re-casts every weight on every call: ~15% of bf16 inference time on the CPU in
            the profile). Modules that must stay in float32 (vid2vid's warp) call ``.float()`` themselves.
    """
    device = torch.device(device)
    dtype = _dtype(precision)
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fastpath precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if channels_last is None:
        channels_last = True
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
        wrapped = CompiledModule(wrapped, f"the {type(module).__name__} generator", on_fallback, dynamic=False)
    return wrapped
