"""benchmarks/compare_recipes.py: the parameters of an equal-compute run, the results table, and the
--side-by-side --smoke command end to end on synthetic data (two tiny recipes trained at the same time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluate.synthetic import write_project_data

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import compare_recipes as cr  # noqa: E402


def test_side_by_side_runs_get_one_thread_each_and_a_checkpoint_folder_per_budget():
    a = cr.recipe_params("default", 15, strides=[1, 2, 4], side_by_side=True)
    b = cr.recipe_params("pix2pixhd_faithful", 45, strides=[1, 2, 4], side_by_side=True)
    assert a["train"]["threads"] == b["train"]["threads"] == 1 and a["train"]["num_workers"] == 0
    assert a["evaluate"] == {"strides": [1, 2, 4], "threads": 1}
    assert a["train"]["checkpoint_dir"].endswith("default-15min") and b["train"]["checkpoint_dir"].endswith(
        "pix2pixhd_faithful-45min")  # a 45-minute run never resumes a 15-minute one
    assert b["train"]["network"] == cr.FAITHFUL_P2PHD and b["train"]["max_minutes"] == 45
    seq = cr.recipe_params("default", 15, strides=[1], side_by_side=False, threads=2)
    assert seq["train"]["threads"] == 2 and "num_workers" not in seq["train"]


def test_the_table_has_a_row_per_recipe_and_stride_with_the_change_against_stride_1():
    results = {"default": {"run_id": "161238c45eed403e", "steps": 2170, "metrics": {
        "eval/ssim_person_mean": 0.62, "eval/pose_distance_mean": 5.8, "eval/tof_mean": 0.087,
        "eval/warp_error_mean": 0.0012, "eval/baseline_ssim_person_mean": 0.437,
        "eval/stride2/ssim_person_mean": 0.589, "eval/stride2/pose_distance_mean": 6.96}}}
    md = cr.markdown_table(results, [1, 2], 15)
    lines = md.splitlines()
    assert lines[0].startswith("### 15 minutes of training per recipe (trained at the same time, one CPU thread each)")
    assert "| mean training frame (baseline) | - | 1 | 0.437 |" in md
    assert "| `default` (`161238c4`) | 2170 | 1 | 0.620 | 5.80 | 0.087 | 0.0012 | - |" in md
    assert "|  |  | 2 | 0.589 (-5 %) | 6.96 (+20 %) | - | - | - |" in md
    assert "`default` 161238c45eed403e" in md


def test_face_and_perceptual_rows_are_the_default_plus_one_change():
    face = cr.recipe_params("default_face", 15, strides=[1], side_by_side=True)["train"]
    assert face["network"] == {"face_gan": True} and face["face"] == {"enabled": True}
    perceptual = cr.recipe_params("default_perceptual", 15, strides=[1], side_by_side=True)["train"]
    assert perceptual["perceptual"] == "vgg16_hed"
    # not the path `auto` looks at, so the other recipes keep training without the perceptual term
    assert perceptual["perceptual_weights"] != "data/06_models/pretrained/vgg16_hed_features.pth"
    results = {"default": {"run_id": "a" * 16, "steps": 900, "metrics": {"eval/ssim_person_mean": 0.62}},
               "default_face": {"run_id": "b" * 16, "steps": 880, "metrics": {
                   "eval/ssim_person_mean": 0.62, "eval/ssim_face_mean": 0.41, "eval/psnr_face_mean": 17.5,
                   "eval/pose_distance_face_mean": 2.25}}}
    md = cr.markdown_table(results, [1], 15)
    assert "| recipe | SSIM face | PSNR face (dB) | face landmark dist (px) |" in md
    assert "| `default_face` | 0.410 | 17.50 | 2.25 |" in md and "| `default` | - | - | - |" in md
    assert "SSIM face" not in cr.markdown_table({"default": results["default"]}, [1], 15)  # no face boxes: no rows


@pytest.mark.slow
def test_smoke_comparison_trains_two_recipes_side_by_side_and_writes_the_table(kedro_project, tmp_path):
    root = kedro_project.root
    write_project_data(root, n_target=40, family="edn")
    out = tmp_path / "out"
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_recipes.py"), "--project", str(root),
                           "--env", "local", "--recipes", "default", "pix2pixhd_faithful", "--minutes", "1",
                           "--side-by-side", "--smoke", "--strides", "1", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=root, env=env)
    logs = "\n".join(p.read_text()[-2000:] for p in (out / "logs").glob("*.log")) if (out / "logs").is_dir() else ""
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:] + logs
    md = (out / "comparison.md").read_text()
    assert "2 steps (smoke" in md and "`default` (`" in md and "`pix2pixhd_faithful` (`" in md
    assert md.count("|  |  | 2 |") == 2  # a stride-2 row per recipe
    res = json.loads((out / "results.json").read_text())["budgets"]["1"]
    assert set(res) == {"default", "pix2pixhd_faithful"} and all(r["steps"] == 2 for r in res.values())
    for r in res.values():
        assert "eval/stride2/ssim_person_mean" in r["metrics"] and "eval/ssim_person_mean" in r["metrics"]
    assert res["default"]["run_id"] != res["pix2pixhd_faithful"]["run_id"]
    assert (out / "frames_1min_stride1.png").is_file() and (out / "frames_1min_stride2.png").is_file()
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    try:
        tags = {r["run_id"]: mlflow.MlflowClient().get_run(r["run_id"]).data.tags for r in res.values()}
    finally:
        mlflow.set_tracking_uri(None)
    assert {t["recipe"] for t in tags.values()} == {"default", "pix2pixhd_faithful"}
    assert all(t["compare.mode"] == "side-by-side" for t in tags.values())
