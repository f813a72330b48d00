"""``precision: int8`` for inference: the body network in ONNX Runtime, statically quantised to int8.

The network (pix2pixHD's generator, or the network inside EDN's temporal generator) is exported to ONNX
with ``torch.onnx.export``, quantised by ONNX Runtime's own static quantiser (``quantize_static``: QDQ, the
convolutions only, per-channel int8 weights, uint8 activations with min-max ranges measured on calibration
inputs) and run by an ONNX Runtime CPU session. Everything around it stays in torch fp32: EDN's input
concatenation and previous-output feedback, the face GAN, the colour conversion. ONNX Runtime's int8
convolutions use the CPU's integer dot products (AVX-512 VNNI / AVX-VNNI) where it has them, so this path
does not need bf16 hardware: on the 2-core AMD EPYC it ran a trained EDN generator at 1.97x fp32 (bf16:
1.66x; 1.91x with oneDNN capped below bf16), 23 of 255 from fp32 at worst and 0.33 on average over 80
free-running test frames, person SSIM 0.6927 vs 0.6934 in fp32 (``benchmarks/bench_trained.py``,
docs/performance.md).

The quantiser is ONNX Runtime's; this module only hands it the network and the inputs and wraps the
session as an ``nn.Module`` with the network's call signature. Optional dependencies:
``pip install 'v2v_pipeline[onnx]'`` (``onnxruntime``; ``onnx==1.17.0``, the last release whose generated
code runs on the protobuf 4.25 that mediapipe and opentelemetry-proto pin).
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'v2v_pipeline[onnx]' (onnxruntime and onnx==1.17.0)"
OPSET = 17


def require_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or an ImportError that says how to install it or what to use instead."""
    try:
        import onnx  # noqa: F401 - the exporter and the quantiser need it
        import onnxruntime
    except ImportError as e:
        raise ImportError(f"precision: int8 runs the generator in ONNX Runtime, which cannot be imported here ({e}); "
                          f"{INSTALL_HINT}, or set precision: auto") from e
    return onnxruntime


class Int8Network(nn.Module):
    """An ONNX Runtime session behind the network's call: float32 ``(N, C, H, W)`` in, float32 image out."""

    def __init__(self, session: Any, source: str):
        super().__init__()
        self.session, self.source = session, source
        self.input_name = session.get_inputs()[0].name

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        if return_features:
            raise ValueError("an int8 network returns images only (no features); train and validate in torch")
        y = self.session.run(None, {self.input_name: x.detach().to("cpu", torch.float32).contiguous().numpy()})[0]
        return torch.from_numpy(y).to(x.device)


@contextmanager
def _quiet_root_logger():
    """The quantiser reports through the root logger (``logging.warning``: per-channel axes that do not apply
    to the norms' 1-D constants, and so on); those notes are not the user's to act on."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def export_onnx(net: nn.Module, example: torch.Tensor, path: Path) -> None:
    """``net`` traced on ``example`` to ONNX at ``path``, with a free batch dimension."""
    with warnings.catch_warnings():  # tracer notes on Python branches over static shapes: expected here
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), (example,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          opset_version=OPSET, dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})


def quantize(net: nn.Module, inputs: list[np.ndarray], threads: int = 1, **options: Any) -> Int8Network:
    """``net`` quantised to int8 with ``inputs`` (float32 ``(1, C, H, W)`` arrays, what it sees at inference)
    as the calibration data, as an :class:`Int8Network` on ``threads`` CPU threads. ``options`` go to
    ``onnxruntime.quantization.quantize_static`` (e.g. ``op_types_to_quantize``, ``calibrate_method``)."""
    ort = require_onnxruntime()
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    if not inputs:
        raise ValueError("int8 calibration needs at least one input")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{"x": np.ascontiguousarray(a, np.float32)} for a in inputs])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="v2v-int8-") as tmp:
        src, out = Path(tmp) / "net.onnx", Path(tmp) / "net_int8.onnx"
        export_onnx(net, torch.from_numpy(np.ascontiguousarray(inputs[0], np.float32)), src)
        with warnings.catch_warnings(), _quiet_root_logger():
            warnings.simplefilter("ignore")
            # no quant_pre_process (shape inference, graph clean-up): 0.7 s of the start at 256x128 and the same speed
            # and outputs for these all-convolution networks
            # only Conv: quantising ConvTranspose (pix2pixHD's upsampling) too raised the mean difference from fp32 of
            # a trained pix2pixHD from 1.4 to 6.3 of 255 (person SSIM -0.075) at no gain in speed, and leaving
            # Add/Mul/InstanceNorm in float was also closer and faster on a trained EDN (0.33 vs 0.55 of 255)
            settings = {"op_types_to_quantize": ["Conv"], **options}
            quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, **settings)
        model = out.read_bytes()
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = max(1, int(threads)), 1
    session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    return Int8Network(session, f"onnxruntime {ort.__version__} int8 (QDQ, per-channel, {len(inputs)} calibration "
                                "inputs)")
