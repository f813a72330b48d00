"""`kedro run --pipelines=transfer` in a scratch project on synthetic inputs, and on real EDN label maps."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import shared_file
from tests.evaluate.synthetic import SIZE, label, model_file, write_project_data
from v2v_pipeline.config import ConfigError
from v2v_pipeline.inference import INT8_CALIBRATION_FRAMES
from v2v_pipeline.storage import Archive, encode_png
from v2v_pipeline.video.io import iter_frames, probe_video


def _newest(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"nothing matches {pattern}"
    return found[-1]


def _mlflow_run(root: Path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    try:
        return mlflow.search_runs(experiment_names=["v2v_pipeline"]).iloc[0]
    finally:
        mlflow.set_tracking_uri(None)


def test_transfer_from_a_source_video_writes_playable_h264_videos(kedro_project):
    root = kedro_project.root
    write_project_data(root, n_source=12, family="edn", face=True)
    kedro_project("transfer", params={"transfer": {"source": {"video": "source"}, "device": "cpu", "precision": "fp32"}})
    video = _newest(root, "data/07_model_output/transfer.mp4/*/transfer.mp4")
    side = _newest(root, "data/08_reporting/transfer_side_by_side.mp4/*/transfer_side_by_side.mp4")
    info, side_info = probe_video(video), probe_video(side)
    assert (info.codec, info.frame_count, info.width, info.height) == ("h264", 12, *SIZE)
    assert info.fps == pytest.approx(10.0)
    # source | label | output, each 32 px high (+ a caption strip), with 2-px gutters
    assert (side_info.codec, side_info.frame_count) == ("h264", 12)
    assert side_info.width == 3 * SIZE[0] + 2 * 2 and side_info.height == SIZE[1] + 16
    # the video holds the generated frames (up to H.264 loss, large on the random net's noise-like output)
    archive = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/transfer_frames.zip"))
    luma = lambda img: cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(float).ravel()  # noqa: E731 (chroma is 4:2:0)
    decoded = [luma(f.image) for f in iter_frames(video)]
    for i in (0, 11):
        assert np.corrcoef(decoded[i], luma(archive.read(f"output/{i:06d}")))[0, 1] > 0.9
    meta = archive.read("meta")
    assert meta["source"] == "source" and meta["source_frames"] == list(range(12)) and meta["model"]["face_generator"]
    run = _mlflow_run(root)
    assert run["metrics.transfer/frames"] == 12 and run["metrics.transfer/fps"] > 0
    assert run["tags.transfer.model_family"] == "edn"


def test_transfer_from_a_label_folder(kedro_project, tmp_path):
    root = kedro_project.root
    write_project_data(root)
    folder = tmp_path / "labels"
    folder.mkdir()
    for i in range(7):  # natural order: frame2 before frame10; twice the model size, resized on read
        (folder / f"frame{i * 4 + 2}.png").write_bytes(encode_png(label(i, (128, 64))))
    params = {"transfer": {"source": {"video": None, "label_folder": str(folder), "fps": 7.5}, "device": "cpu"}}
    kedro_project("transfer", params=params)
    video = probe_video(_newest(root, "data/07_model_output/transfer.mp4/*/transfer.mp4"))
    side = probe_video(_newest(root, "data/08_reporting/transfer_side_by_side.mp4/*/transfer_side_by_side.mp4"))
    assert (video.codec, video.frame_count, video.width, video.height) == ("h264", 7, *SIZE)
    assert video.fps == pytest.approx(7.5)
    assert side.frame_count == 7 and side.width == 2 * SIZE[0] + 2  # label | output
    archive = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/transfer_frames.zip"))
    assert archive.read("label/000000").shape == (SIZE[1], SIZE[0], 3)  # resized to the model size


def test_transfer_in_int8_records_the_precision_and_its_difference_from_fp32(kedro_project):
    pytest.importorskip("onnxruntime")
    root = kedro_project.root
    write_project_data(root, n_source=20, family="edn", face=True)
    kedro_project("transfer", params={"transfer": {"source": {"video": "source"}, "device": "cpu", "precision": "int8"}})
    assert probe_video(_newest(root, "data/07_model_output/transfer.mp4/*/transfer.mp4")).frame_count == 20
    run = _mlflow_run(root)
    assert run["params.transfer/runtime/precision"] == "int8"
    assert "ONNX Runtime int8" in run["params.transfer/runtime/precision_reason"]
    assert run["metrics.transfer/int8_calibration_frames"] == INT8_CALIBRATION_FRAMES
    assert 0 < run["metrics.transfer/int8_mean_abs_diff"] <= run["metrics.transfer/int8_max_abs_diff"]


def test_transfer_in_fp32_on_a_cpu_without_native_bf16_points_at_int8(kedro_project, monkeypatch, caplog):
    from v2v_pipeline import runtime

    monkeypatch.setattr(runtime, "cpu_native_bf16", lambda cpuinfo="/proc/cpuinfo": (False, "mocked query"))
    write_project_data(kedro_project.root, n_source=3)
    with caplog.at_level("INFO", logger="v2v_pipeline.transfer"):
        kedro_project("transfer", params={"transfer": {"device": "cpu", "precision": "auto"}})
    assert "transfer.precision: int8 (ONNX Runtime)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="v2v_pipeline.transfer"):  # an explicit choice gets no advice
        kedro_project("transfer", params={"transfer": {"device": "cpu", "precision": "fp32"}})
    assert "transfer.precision: int8" not in caplog.text


def test_transfer_source_parameters_are_checked_before_any_work(kedro_project):
    write_project_data(kedro_project.root)
    with pytest.raises(ConfigError, match="exactly one of 'video'"):
        kedro_project("transfer", params={"transfer": {"source": {"video": "source", "label_folder": "x"}}})
    with pytest.raises(Exception, match="not an ingested video"):
        kedro_project("transfer", params={"transfer": {"source": {"video": "nobody"}}})
    assert not list(kedro_project.root.glob("data/07_model_output/transfer.mp4/*/*.mp4"))


@pytest.mark.realdata
def test_transfer_on_real_edn_label_maps(kedro_project):
    folder = shared_file("edn_subject4", "openpose")
    root = kedro_project.root
    write_project_data(root, family="pix2pixhd", model_size=(128, 64))
    params = {"transfer": {"source": {"video": None, "label_folder": str(folder), "fps": 7.5}, "max_frames": 20,
                           "device": "cpu", "batch_size": 4}}
    kedro_project("transfer", params=params)
    info = probe_video(_newest(root, "data/07_model_output/transfer.mp4/*/transfer.mp4"))
    assert (info.codec, info.frame_count, info.width, info.height) == ("h264", 20, 128, 64)
    archive = Archive(_newest(root, "data/07_model_output/transfer_frames.zip/*/transfer_frames.zip"))
    lab = archive.read("label/000000")
    assert lab.shape == (64, 128, 3) and lab.min() < 200 < lab.max()  # a stick figure on white, downscaled
    assert probe_video(_newest(root, "data/08_reporting/transfer_side_by_side.mp4/*/*.mp4")).frame_count == 20


def test_model_from_a_file_path(kedro_project, tmp_path):
    import torch

    write_project_data(kedro_project.root, n_source=5)
    torch.save(model_file("vid2vid", size=(32, 16)), tmp_path / "other.pt")
    kedro_project("transfer", params={"transfer": {"model": str(tmp_path / "other.pt"), "device": "cpu"}})
    info = probe_video(_newest(kedro_project.root, "data/07_model_output/transfer.mp4/*/transfer.mp4"))
    assert (info.frame_count, info.width, info.height) == (5, 32, 16)
