"""benchmarks/bench_trained.py on a small model file and dataset: the paths, the columns, fp32 as the reference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from tests.evaluate.synthetic import dataset_archive, dataset_frames, model_file
from v2v_pipeline.storage import write_archive

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_bench_trained_writes_every_path_with_fp32_as_its_reference(tmp_path):
    import bench_trained

    torch.save(model_file("edn"), tmp_path / "generator.pt")
    write_archive(tmp_path / "dataset.zip", dataset_archive(40))
    dataset_frames(40).to_parquet(tmp_path / "dataset_frames.parquet")
    assert bench_trained.main(["--model", str(tmp_path / "generator.pt"), "--dataset", str(tmp_path / "dataset.zip"),
                               "--repeats", "1", "--out", str(tmp_path / "res")]) == 0
    res = json.loads(next((tmp_path / "res").glob("trained-edn-*.json")).read_text())
    rows = {r["path"]: r for r in res["rows"]}
    assert res["frames"] == sum(dataset_frames(40)["split"] == "test") and res["batch"] == 1
    assert rows["project fp32"]["max_abs_diff"] == 0 and rows["project fp32"]["ratio_vs_fp32"] == 1
    assert any(k.startswith("project auto") for k in rows)
    for r in rows.values():
        assert r["frames_per_s"] > 0 and 0 <= r["ssim_person"] <= 1 and r["mean_abs_diff"] <= r["max_abs_diff"]
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        assert "project int8" not in rows and res["notes"]["int8"].startswith("not measured")
    else:
        assert rows["project int8"]["max_abs_diff"] > 0 and res["notes"]["int8_check"]["int8_calibration_frames"] > 0
    md = next((tmp_path / "res").glob("trained-edn-*.md")).read_text()
    assert "| project fp32 |" in md and "SSIM person" in md


def test_bench_trained_names_the_missing_dataset(tmp_path):
    import bench_trained

    model = model_file("edn")
    model["dataset_sha256"] = "f" * 64
    torch.save(model, tmp_path / "generator.pt")
    with pytest.raises(SystemExit, match="no dataset with sha256 ffffffffffff"):
        bench_trained.main(["--model", str(tmp_path / "generator.pt"), "--out", str(tmp_path / "res")])
