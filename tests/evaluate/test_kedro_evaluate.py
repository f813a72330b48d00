"""`kedro run --pipelines=evaluate` in a scratch project on synthetic inputs: table, MLflow, videos, report."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

from tests.evaluate.synthetic import SIZE, write_project_data
from v2v_pipeline.config import parse
from v2v_pipeline.params import EvaluateParams
from v2v_pipeline.storage import Archive
from v2v_pipeline.video.io import probe_video

FAST = {"device": "cpu", "precision": "fp32"}


def _newest(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"nothing matches {pattern}"
    return found[-1]


def _mlflow_runs(root: Path) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    try:
        return mlflow.search_runs(experiment_names=["v2v_pipeline"])
    finally:
        mlflow.set_tracking_uri(None)


def _report_parts(report: Path) -> tuple[str, list[bytes], list[Path]]:
    html = report.read_text()
    images = [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    videos = [(report.parent / src).resolve() for src in re.findall(r'<video[^>]*src="([^"]+)"', html)]
    return html, images, videos


def test_evaluate_end_to_end_without_pretrained_weights(kedro_project):
    root = kedro_project.root
    write_project_data(root, n_target=40, family="edn")
    kedro_project("evaluate", params={"evaluate": {**FAST, "strides": [1, 2]}})
    df = pd.read_parquet(_newest(root, "data/08_reporting/evaluation_per_frame.parquet/*/*.parquet"))
    assert df.frame.tolist() == [30, 31, 32, 33, 34, 36, 37, 38, 39]  # the test split, with its gap
    for col in ("ssim", "psnr", "ssim_person", "psnr_person", "baseline_ssim", "baseline_ssim_person",
                "warp_error", "warp_error_real", "warp_l1_255", "warp_l1_255_real", "tof", "pose_distance"):
        assert col in df, col
    assert "lpips" not in df  # no weights: skipped, not faked
    assert df.ssim.between(-1, 1).all() and (df.psnr > 0).all()
    assert df.warp_l1_255_real.max() < 0.01 and (df.dropna(subset=["warp_l1_255"]).warp_l1_255 > 1).all()
    assert df.warp_error_real.max() < 1e-6 and (df.dropna(subset=["warp_error"]).warp_error > 1e-4).all()
    summary = json.loads(_newest(root, "data/08_reporting/evaluation_summary.json/*/*.json").read_text())
    assert any(n.startswith("LPIPS skipped") for n in summary["notes"])
    assert summary["metric_status"]["fid"].startswith("skipped")
    run = _mlflow_runs(root).iloc[0]
    assert run["metrics.eval/ssim_mean"] == pytest.approx(df.ssim.mean())
    assert run["metrics.eval/ssim_person_mean"] == pytest.approx(df.ssim_person.mean())  # NaN row left out
    assert "metrics.eval/baseline_ssim_mean" in run and run["metrics.eval/generation/frames"] == 9 + 5  # + stride 2
    assert run["tags.eval.lpips"].startswith("skipped") and run["tags.eval.model_family"] == "edn"
    video = probe_video(_newest(root, "data/08_reporting/evaluation_side_by_side.mp4/*/*.mp4"))
    assert (video.codec, video.frame_count, video.width) == ("h264", 9, 3 * SIZE[0] + 4)
    # the report: embedded images (sample strips, metric and training plots) and a working video link
    report = root / "data/08_reporting/report.html"
    html, images, videos = _report_parts(report)
    assert len(images) >= 2 + 4 and all(img.startswith(b"\x89PNG") for img in images)
    assert len(videos) == 1 and videos[0].is_file() and videos[0].name == "evaluation_side_by_side.mp4"
    assert "No transfer video yet" in html and "LPIPS skipped" in html and "SSIM (person box)" in html
    # fast motion: the EDN model ran again on every 2nd label of each segment, and its rows are logged and shown
    strided = pd.read_parquet(_newest(root, "data/08_reporting/evaluation_per_frame_strides.parquet/*/*.parquet"))
    assert strided.stride.eq(2).all() and strided.frame.tolist() == [30, 32, 34, 36, 38]
    frames = Archive(_newest(root, "data/07_model_output/evaluation_frames.zip/*/*.zip"))
    assert frames.read("meta")["strides"] == {"2": "generated"} and "output/stride2/000032" in frames
    assert run["metrics.eval/stride2/ssim_person_mean"] == pytest.approx(strided.ssim_person.mean())
    assert "pose_distance" in strided and "metrics.eval/stride2/warp_error_mean" in run  # (pose: NaN, not logged)
    assert "Fast motion: the split subsampled by a stride" in html
    assert "Worst frames (stride 1): lowest SSIM (person box)" in html and "Worst frames (stride 2)" in html
    assert "Not ranked, no person box (1 frame): 39." in html
    assert (root / "data/08_reporting/evaluation_metrics.png").is_file()
    assert (root / "data/08_reporting/training_curves.png").is_file()


def test_report_covers_training_history_and_the_newest_transfer(kedro_project, tmp_path):
    root = kedro_project.root
    history = [{"step": float(s), "G_gan": 2 - s / 100, "D_loss": 1 - s / 200, "val_ssim": 0.1 + s / 300}
               for s in range(0, 100, 10)]
    write_project_data(root, n_target=40, n_source=6, history=history)
    # the newest training run's history belongs to another model: the report must not show it
    other = pd.DataFrame({"step": [0, 5], "G_gan": [9.0, 9.0]})
    path = root / "data/07_model_output/training_history.parquet/2020-01-01T00.00.00.000Z/training_history.parquet"
    path.parent.mkdir(parents=True)
    other.to_parquet(path)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).features.state_dict(), tmp_path / "alexnet.pth")
    torch.save({f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate((64, 192, 384, 256, 256))},
               tmp_path / "lin.pth")
    kedro_project("transfer", params={"transfer": {"device": "cpu"}})
    params = {**FAST, "lpips": {"backbone": str(tmp_path / "alexnet.pth"), "lin": str(tmp_path / "lin.pth")},
              "fid": {"inception": str(tmp_path / "missing.pth")}, "pose": {"enabled": False}}
    kedro_project("evaluate", params={"evaluate": params})
    df = pd.read_parquet(_newest(root, "data/08_reporting/evaluation_per_frame.parquet/*/*.parquet"))
    assert "lpips" in df and (df.lpips > 0).all() and "pose_distance" not in df
    run = _mlflow_runs(root).iloc[0]  # newest: the evaluate run
    assert run["tags.eval.lpips"] == "computed" and run["tags.eval.fid"].startswith("skipped")
    assert run["metrics.eval/lpips_mean"] == pytest.approx(df.lpips.mean())
    html, images, videos = _report_parts(root / "data/08_reporting/report.html")
    names = sorted(v.name for v in videos)
    assert names == ["evaluation_side_by_side.mp4", "transfer.mp4", "transfer_side_by_side.mp4"]
    assert all(v.is_file() for v in videos)
    assert "No transfer video yet" not in html and "no training history" not in html
    stored = Archive(_newest(root, "data/07_model_output/evaluation_frames.zip/*/*.zip")).read("meta")
    assert stored["training_history"]["step"] == [h["step"] for h in history]
    assert "FID and KID skipped" in html and "pose distance skipped" in html


def test_metric_networks_load_from_files_or_are_skipped_with_a_reason(tmp_path):
    from v2v_pipeline.metrics import InceptionFeatureExtractor
    from v2v_pipeline.report.evaluate import load_metric_models

    torch.save(InceptionFeatureExtractor().state_dict(), tmp_path / "inception.pth")
    p = parse(EvaluateParams, {"fid": {"inception": str(tmp_path / "inception.pth")},
                               "lpips": {"backbone": str(tmp_path / "none.pth")}, "pose": {"enabled": False}},
              "evaluate")
    models, status = load_metric_models(p, torch.device("cpu"))
    assert isinstance(models.inception, InceptionFeatureExtractor) and status["fid"] == "computed"
    assert models.lpips is None and "none.pth" in status["lpips"] and status["pose"] == "skipped: disabled"
    assert any("LPIPS skipped" in n for n in models.notes)


def test_latest_file_dataset_finds_the_newest_version_or_none(tmp_path):
    from v2v_pipeline.datasets import LatestFileDataset

    ds = LatestFileDataset(str(tmp_path / "v.mp4"))
    assert ds.load() is None
    for version in ("2024-01-02T00.00.00.000Z", "2024-01-10T00.00.00.000Z", "2024-01-03T00.00.00.000Z"):
        (tmp_path / "v.mp4" / version).mkdir(parents=True)
        (tmp_path / "v.mp4" / version / "v.mp4").write_bytes(b"x")
    (tmp_path / "v.mp4" / "2024-02-01T00.00.00.000Z").mkdir()  # an interrupted save: no file inside
    assert ds.load() == tmp_path / "v.mp4" / "2024-01-10T00.00.00.000Z" / "v.mp4"
    ds.save(12)  # a no-op: only orders nodes
    assert ds.load().parent.name == "2024-01-10T00.00.00.000Z"
