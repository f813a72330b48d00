"""precision int8 (transfer, evaluate): the body network in ONNX Runtime int8, calibrated on the clip."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from tests.evaluate.synthetic import label, model_file
from v2v_pipeline.inference import INT8_CALIBRATION_FRAMES, FrameGenerator
from v2v_pipeline.params import EvaluateParams, TrainParams, TransferParams
from v2v_pipeline.runtime import choose_precision
from v2v_pipeline.config import ConfigError, parse


def _clip(n: int) -> list[np.ndarray]:
    return [label(t) for t in range(n)]


def test_int8_is_an_inference_precision_on_the_cpu_only():
    assert choose_precision(torch.device("cpu"), "int8")[0] == "int8"
    with pytest.raises(ValueError, match="CPU path"):
        choose_precision(torch.device("cuda"), "int8")
    assert parse(TransferParams, {"precision": "int8"}, "transfer").precision == "int8"
    assert parse(EvaluateParams, {"precision": "int8"}, "evaluate").precision == "int8"
    with pytest.raises(ConfigError, match="precision"):
        parse(TrainParams, {"precision": "int8"}, "train")


def test_missing_onnxruntime_fails_before_any_frame_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    with pytest.raises(ImportError, match=r"v2v_pipeline\[onnx\].*precision: auto"):
        FrameGenerator(model_file("pix2pixhd"), "cpu", "int8")


def test_vid2vid_and_compile_are_refused_with_int8():
    pytest.importorskip("onnxruntime")
    with pytest.raises(ValueError, match="vid2vid"):
        FrameGenerator(model_file("vid2vid"), "cpu", "int8")
    with pytest.raises(ValueError, match="compile"):
        FrameGenerator(model_file("edn"), "cpu", "int8", compile=True)


@pytest.mark.parametrize("family", ["pix2pixhd", "edn"])
def test_int8_generates_close_to_fp32_and_reports_its_own_difference(family):
    pytest.importorskip("onnxruntime")
    from v2v_pipeline.int8 import Int8Network

    model = model_file(family, face=family == "edn")
    labels = _clip(INT8_CALIBRATION_FRAMES + 4)
    ref = np.stack(list(FrameGenerator(model, "cpu", "fp32").generate_clip(labels)))
    gen = FrameGenerator(model, "cpu", "int8")
    out = np.stack(list(gen.generate_clip(labels)))
    assert out.shape == ref.shape and out.dtype == np.uint8
    network = gen.generator.generator if family == "edn" else gen.generator
    assert isinstance(network, Int8Network)  # the body network now runs in ONNX Runtime
    check = gen.int8_check
    assert check["int8_calibration_frames"] == INT8_CALIBRATION_FRAMES
    assert 0 < check["int8_mean_abs_diff"] <= check["int8_max_abs_diff"] < 64  # quantised, not broken
    diff = np.abs(out.astype(int) - ref)
    assert diff.max() > 0  # really another computation
    # random weights amplify rounding (EDN feeds its output back), still far from a wrong image (~64-128)
    assert diff.mean() < (4 if family == "pix2pixhd" else 16)
    # calibrated once: a second clip reuses the quantised network, from a fresh temporal state
    again = np.stack(list(gen.generate_clip(labels)))
    np.testing.assert_array_equal(again, out)


def test_the_face_gan_and_the_batch_path_still_run_around_an_int8_network():
    pytest.importorskip("onnxruntime")
    model = model_file("edn", face=True)
    boxes = np.tile([20.0, 2.0, 44.0, 20.0], (6, 1))
    gen = FrameGenerator(model, "cpu", "int8")
    with_faces = np.stack(list(gen.generate_clip(_clip(6), boxes)))
    without = np.stack(list(gen.generate_clip(_clip(6))))
    assert not np.array_equal(with_faces, without)  # the face GAN (torch, fp32) refined the box
    p2p = FrameGenerator(model_file("pix2pixhd"), "cpu", "int8")
    batched = np.stack(list(p2p.generate_clip(_clip(11), batch_size=4)))  # ONNX batch axis is free
    single = np.stack(list(p2p.generate_clip(_clip(11), batch_size=1)))
    assert batched.shape == single.shape
    assert np.abs(batched.astype(int) - single).max() <= 2  # batching changes at most the rounding
