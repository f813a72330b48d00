"""Device, precision, autocast and threads: the one place that decides them.

Training, transfer, evaluation and the benchmarks all call :func:`resolve` (or the small
helpers below) so that every entry point makes the same choice on the same machine.

``precision: auto`` picks bf16 autocast only where the hardware does bf16 natively:

- CPU: torch's own ISA query (``torch.cpu._is_avx512_bf16_supported`` / AMX) when this torch
  has it, else the ``avx512_bf16`` / ``amx_bf16`` flags of ``/proc/cpuinfo``. Without them
  bf16 is emulated and slower than fp32 (issue 12: 2.4x fewer steps on a 2-core Xeon), so
  ``auto`` is fp32 there. With them, native is not always faster: an Intel core with avx512_bf16
  but without AMX (oneDNN capped at AVX512_CORE_BF16 on an AMX Xeon) trained at 0.82x fp32, while
  the AMD EPYC's avx512_bf16 gave 1.6x and AMX 2x. So ``auto`` also times one convolution forward
  and backward in fp32 and in bf16 on this machine (:func:`cpu_bf16_speedup`, a fraction of a second,
  once per process) and keeps bf16 only when it is at least :data:`BF16_MIN_SPEEDUP` times faster.
- CUDA: compute capability 8.0 or newer (Ampere); older GPUs get fp16 with a grad scaler.

The choice and its reason are logged and returned (:class:`Runtime`), so the trainer records
them in MLflow (``runtime/precision``, ``runtime/precision_reason``).

``torch.compile`` (inductor; ``train.compile`` / ``transfer.compile``, off by default: see
docs/performance.md) is decided here the same way (:func:`choose_compile`: on only when asked for and this
machine can compile: dynamo supported, a C++ compiler on the CPU, triton on CUDA) and recorded as
``runtime/compile`` and ``runtime/compile_reason``; a compile that still fails at its first call
falls back to eager with a warning (:class:`v2v_pipeline.fastpath.CompiledModule`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# inference only (transfer, evaluate): the body network in ONNX Runtime int8 (v2v_pipeline.int8), the rest in fp32
INFERENCE_PRECISIONS = (*PRECISIONS, "int8")
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class Runtime:
    """Where and how a model runs: device, resolved precision (fp32 | bf16 | fp16), why, and CPU threads."""

    device: torch.device
    precision: str
    reason: str
    threads: int
    compile: bool = False  # torch.compile (inductor) the model; see choose_compile
    compile_reason: str = "compile: false"

    def autocast(self):
        return autocast_for(self.device, self.precision)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A grad scaler that is active only for fp16 (bf16 and fp32 need none)."""
        return torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")

    def mlflow_params(self, prefix: str = "runtime") -> dict[str, str]:
        return {f"{prefix}/device": str(self.device), f"{prefix}/precision": self.precision,
                f"{prefix}/precision_reason": self.reason, f"{prefix}/threads": str(self.threads),
                f"{prefix}/compile": str(self.compile).lower(), f"{prefix}/compile_reason": self.compile_reason[:500]}

    def describe(self) -> str:
        """``cpu in bf16 (reason); torch.compile off (reason)``: the start line of a run."""
        return (f"{self.device} in {self.precision} ({self.reason}); torch.compile "
                f"{'on' if self.compile else 'off'} ({self.compile_reason})")


# ----------------------------------------------------------------------------- device
def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` (CUDA when available), ``cuda[:i]`` (an error naming the fix when there is none) or ``cpu``."""
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' was asked for but no CUDA GPU is visible; set the device to auto or cpu")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ----------------------------------------------------------------------------- precision
def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The ISA flags of the first CPU in ``cpuinfo`` (empty where the file does not exist, e.g. macOS)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


# oneDNN ISA caps (ONEDNN_MAX_CPU_ISA, docs of oneDNN's CPU dispatcher control) below avx512_core_bf16: with one of
# these set, oneDNN emulates bf16 (a 256->256 3x3 convolution, forward + backward, in bf16 took 2.4x fp32's time
# under AVX512_CORE_VNNI on the AMD EPYC, and 0.52x without the cap)
ONEDNN_ISA_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


def onednn_isa_cap() -> str | None:
    """The oneDNN ISA cap set in the environment (``ONEDNN_MAX_CPU_ISA`` or the older ``DNNL_MAX_CPU_ISA``)."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        value = os.environ.get(name, "").strip().upper()
        if value:
            return f"{name}={value}"
    return None


def cpu_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> tuple[bool, str]:
    """Whether this CPU computes bf16 natively, and how that was found out (a oneDNN ISA cap below bf16 in the
    environment counts as no: oneDNN then emulates bf16, as on a CPU without it)."""
    cap = onednn_isa_cap()
    if cap is not None and cap.split("=", 1)[1] in ONEDNN_ISA_WITHOUT_BF16:
        return False, f"{cap} caps oneDNN below avx512_core_bf16"
    query = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if all(callable(q) for q in query):
        found = [name for name, q in zip(("avx512_bf16", "amx"), query) if q()]
        return bool(found), f"torch.cpu reports {' and '.join(found) if found else 'neither avx512_bf16 nor amx'}"
    flags = cpu_flags(cpuinfo) & set(CPU_BF16_FLAGS)
    return bool(flags), f"{cpuinfo} flags: {' '.join(sorted(flags)) if flags else 'no avx512_bf16 / amx_bf16'}"


# bf16 must beat fp32 by this much in the probe for ``auto`` to pick it: measured convolution ratios were 2.2-5.4x
# with AMX, about 1.7x on the AMD EPYC's avx512_bf16 and 0.7-0.95x on an Intel core with avx512_bf16 but no AMX
BF16_MIN_SPEEDUP = 1.15


@functools.lru_cache(maxsize=8)
def _bf16_speedup(threads: int) -> float:
    g = torch.Generator().manual_seed(0)  # a private generator: the caller's random state is left as it was
    x = torch.randn(1, 128, 32, 64, generator=g, requires_grad=True)
    w = (torch.randn(128, 128, 3, 3, generator=g) * 0.03).requires_grad_()

    def run(bf16: bool) -> float:
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = torch.nn.functional.conv2d(x, w, padding=1)
        y.float().sum().backward()
        return time.perf_counter() - start

    for bf16 in (False, True, False, True):  # oneDNN creates its primitives on the first calls
        run(bf16)
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(5):  # interleaved, best of each: a busy neighbour slows both alike
        for bf16 in (False, True):
            times[bf16].append(run(bf16))
    return min(times[False]) / min(times[True])


def cpu_bf16_speedup() -> float:
    """How many times faster a convolution's forward and backward (128->128 channels, 3x3, 64x32, batch 1: a
    residual block's) runs under bf16 autocast than in fp32 on this CPU, with torch's current threads; measured
    once per process and thread count (about 0.1-0.3 s)."""
    return _bf16_speedup(torch.get_num_threads())


def cuda_capability(device: torch.device) -> tuple[int, int]:
    return tuple(torch.cuda.get_device_capability(device))  # type: ignore[return-value]


def choose_precision(device: torch.device, precision: str = "auto") -> tuple[str, str]:
    """The precision to run in (fp32 | bf16 | fp16 | int8) and the reason, for ``precision`` in
    :data:`INFERENCE_PRECISIONS` (``int8`` only for inference: training's parameters do not accept it)."""
    if precision not in INFERENCE_PRECISIONS:
        raise ValueError(f"precision must be one of {INFERENCE_PRECISIONS}, got {precision!r}")
    if precision == "int8":
        if device.type != "cpu":
            raise ValueError(f"precision int8 is a CPU path (ONNX Runtime on the CPU), not for {device.type}; "
                             "set device: cpu, or precision: auto on the GPU")
        return "int8", ("set explicitly: the body network in ONNX Runtime int8, calibrated on the clip's first "
                        "frames; everything else in fp32")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision fp16 needs a CUDA GPU (on the CPU use bf16 or fp32)")
    if precision != "auto":
        return precision, "set explicitly"
    if device.type == "cuda":
        major, minor = cuda_capability(device)
        if major >= 8:
            return "bf16", f"auto: CUDA compute capability {major}.{minor} >= 8.0 has native bf16"
        return "fp16", f"auto: CUDA compute capability {major}.{minor} < 8.0 (no native bf16): fp16 + grad scaler"
    if device.type == "cpu":
        native, how = cpu_native_bf16()
        if not native:
            return "fp32", f"auto: the CPU has no native bf16 ({how}); emulated bf16 is slower than fp32"
        speedup = cpu_bf16_speedup()
        if speedup >= BF16_MIN_SPEEDUP:
            return "bf16", f"auto: the CPU has native bf16 ({how}); a bf16 convolution ran {speedup:.2f}x fp32 here"
        return "fp32", (f"auto: the CPU has native bf16 ({how}) but a bf16 convolution ran only {speedup:.2f}x fp32 "
                        f"here (below {BF16_MIN_SPEEDUP}x: no AMX, or the CPU is busy); set precision: bf16 to force it")
    return "fp32", f"auto: fp32 on {device.type}"


def resolve_precision(device: torch.device, precision: str) -> str:
    """The precision only (see :func:`choose_precision`)."""
    return choose_precision(device, precision)[0]


def autocast_for(device: torch.device, precision: str):
    """Autocast context for ``precision`` in {auto, fp32, bf16, fp16, int8}; ``nullcontext`` for fp32 (and for
    int8, whose torch parts run in fp32)."""
    precision = resolve_precision(device, precision)
    if precision in ("fp32", "int8"):
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


# ----------------------------------------------------------------------------- torch.compile
def cpp_compiler() -> str | None:
    """The C++ compiler inductor would use on the CPU (``$CXX``, else c++ / g++ / clang++ on the PATH), or None."""
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and (found := shutil.which(name)):
            return found
    return None


def choose_compile(device: torch.device, requested: bool) -> tuple[bool, str]:
    """Whether to ``torch.compile`` (inductor) and why: only when ``requested`` and this machine can compile.

    Checked up front: dynamo supports this Python, and inductor's code generator exists (a C++ compiler on
    the CPU, triton on CUDA). Anything else that fails (an unsupported op, a compiler error) is found at the
    first call, where :class:`v2v_pipeline.fastpath.CompiledModule` falls back to eager with a warning.
    """
    if not requested:
        return False, "compile: false"
    try:
        from torch._dynamo.eval_frame import is_dynamo_supported

        supported = is_dynamo_supported()
    except Exception:  # noqa: BLE001 - a torch without this private helper: let the first call tell
        supported = True
    if not supported:
        return False, f"asked for, but torch.compile does not support this Python/platform ({torch.__version__}); eager"
    if device.type == "cpu":
        cxx = cpp_compiler()
        if cxx is None:
            return False, "asked for, but no C++ compiler found ($CXX, c++, g++, clang++): inductor needs one; eager"
        return True, f"compile: true; inductor with the C++ compiler {cxx}"
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return False, "asked for, but triton is not installed (inductor needs it on CUDA); eager"
    return True, f"compile: true; inductor on {device.type}"


# ----------------------------------------------------------------------------- threads and seeds
def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def compute_threads(threads: int | None = None) -> int:
    """torch threads: ``threads`` when set, else one per CPU of the affinity mask (never more: busy-waiting
    threads on an oversubscribed machine run slower than fewer threads)."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1 or null, got {threads}")
        return threads
    return available_cpus()


def data_workers(requested: int, threads: int) -> int:
    """DataLoader workers that do not compete with compute: at most the CPUs the torch threads leave free."""
    return max(0, min(requested, available_cpus() - threads))


def split_cpus(threads: int | None, workers: int, need_workers: bool) -> tuple[int, int]:
    """(torch threads, data workers) for this process's CPUs: without data to read from disk every CPU
    computes; with it, ``threads: null`` leaves up to half the CPUs (at most ``workers``) to the readers."""
    if not need_workers:
        return compute_threads(threads), 0
    if threads is None:
        cpus = available_cpus()
        workers = max(0, min(workers, cpus // 2))
        return max(1, cpus - workers), workers
    return compute_threads(threads), data_workers(workers, threads)


def busy_cpus(samples: int = 5, interval_s: float = 0.02, loadavg: str = "/proc/loadavg") -> float | None:
    """CPUs that other processes keep busy right now: the kernel's count of runnable tasks (the 4th field
    of ``/proc/loadavg``, which includes the task reading it) minus one, averaged over a few samples, so
    that a spike does not count and the load average's minute-long lag does not either. ``None`` where the
    file does not exist (not Linux). Machine-wide: inside a container it also counts the host's tasks."""
    import time

    seen = []
    for i in range(samples):
        try:
            with open(loadavg) as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return None
        seen.append(max(0, running - 1))
        if i + 1 < samples:
            time.sleep(interval_s)
    return sum(seen) / len(seen)


def contention_warning(threads: int, requested: int | None, busy: float | None, cpus: int) -> str | None:
    """A warning when the chosen torch threads and the other busy tasks together oversubscribe the CPUs.

    Measured on a 2-core AMD EPYC beside a busy torch process (benchmarks/results/wait-policy-amd-epyc.md):
    2 spinning threads trained 0.32 steps/s, 1 thread 1.11, 2 threads with OMP_WAIT_POLICY=PASSIVE 0.70;
    quiet, 2 threads did 1.75 and PASSIVE 1.33. So the default stays one thread per CPU, and a busy
    machine gets this hint instead of a guess that would be wrong once the neighbour stops.
    """
    if busy is None or threads <= 1 or busy < 0.75 or threads + busy <= cpus + 0.25:
        return None
    free = max(1, int(cpus - busy + 0.5))
    how = "" if requested is None else f" (threads: {requested} was set)"
    return (f"{busy:.1f} of this machine's CPUs are busy with other processes and {threads} torch thread(s) would "
            f"share {cpus}{how}: spinning OpenMP threads then slow down several-fold. For this run set "
            f"threads: {free} (train.threads, transfer.threads), or export "
            f"OMP_WAIT_POLICY=PASSIVE before starting (docs/performance.md, threads under load).")


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (see :func:`compute_threads`) and return the number."""
    n = compute_threads(threads)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (the entry point's job, not a constructor's)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve(device: str | torch.device = "auto", precision: str = "auto", threads: int | None = None,
            what: str = "run", compile: bool = False) -> Runtime:
    """Pick the device, precision and torch.compile, set the CPU threads, log the choices and the reasons."""
    dev = device if isinstance(device, torch.device) else pick_device(device)
    chosen, reason = choose_precision(dev, precision)
    compiled, compile_reason = choose_compile(dev, compile)
    if compile and not compiled:
        log.warning("%s: torch.compile %s", what, compile_reason)
    n = set_threads(threads)
    rt = Runtime(dev, chosen, reason, n, compiled, compile_reason)
    log.info("%s on %s; %d CPU thread(s)", what, rt.describe(), n)
    if dev.type == "cpu":
        warn_if_contended(n, threads, what)
    return rt


def warn_if_contended(threads: int, requested: int | None, what: str) -> None:
    """Log :func:`contention_warning` for this machine now (CPU runs; the caller knows the device)."""
    hint = contention_warning(threads, requested, busy_cpus(), available_cpus())
    if hint:
        log.warning("%s: %s", what, hint)
