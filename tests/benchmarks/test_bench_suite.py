"""`make bench --quick` runs end to end and writes the results files with the documented keys (speed is not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # as the other benchmark tests do

from bench_suite import result_name  # noqa: E402


def bench(*args: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_suite.py"), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


@pytest.mark.slow
def test_quick_bench_writes_json_and_markdown(tmp_path):
    proc = bench("--quick", "--out", str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 3 and files[0].endswith("-quick-losses.png") and files[1].endswith("-quick.json") \
        and files[2].endswith("-quick.md"), files
    files = files[1:]
    res = json.loads((tmp_path / files[0]).read_text())
    assert {"machine", "config", "training", "generation", "transfer", "memory"} <= set(res)
    m = res["machine"]
    assert {"cpu_model", "isa_flags", "torch_cpu_capability", "torch", "torch_threads", "gpu"} <= set(m)
    assert {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"} <= set(m["isa_flags"])
    assert {r["recipe"] for r in res["training"]} == {"default", "pix2pixhd_faithful", "edn_temporal", "vid2vid"}
    for row in res["training"]:
        base, proj = row["paths"]["baseline"], row["paths"]["project auto"]
        assert len(base["loss_G"]) == len(proj["loss_G"]) == res["config"]["steps"]
        assert base["images_per_s"] > 0 and proj["ratio_vs_baseline"] > 0
        assert proj["loss_G_agreement"]["smoothed_rel_mean_abs_diff"] >= 0
    families = {r["family"] for r in res["generation"]}
    assert families == {"pix2pixhd", "edn", "vid2vid"}
    assert all({"batch", "path", "frames_per_s", "ratio_vs_eager_fp32", "max_abs_diff_uint8",
                "max_abs_diff_uint8_free_running", "compile", "warmup_s"} <= set(r) for r in res["generation"])
    assert not res["config"]["compile_rows"]  # --quick leaves the torch.compile rows out (they compile for minutes)
    stages = res["transfer"]["stages_frames_per_s"]
    assert set(stages) == {"decode", "label", "normalize", "generate", "encode"}
    assert res["transfer"]["end_to_end_pipelined_frames_per_s"] > 0
    assert res["memory"]["peak_rss_mb"] > 0
    md = (tmp_path / files[1]).read_text()
    assert "## Training" in md and "## Generation" in md and "## Transfer" in md and m["cpu_model"] in md
    assert "steps/s" in proc.stdout  # the table is printed too
    assert f"training {res['config']['steps']} steps per path in chunks of" in md
    assert "| G loss noise |" in md and f"]({files[0].replace('.json', '-losses.png')})" in md

    # the loss plot: a real PNG with the four recipes side by side (about 420 px a panel)
    import cv2

    png = tmp_path / files[0].replace(".json", "-losses.png")
    image = cv2.imdecode(np.frombuffer(png.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[1] > 4 * 300

    # --render rewrites the markdown and the plot from the JSON alone, to the same bytes
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / files[1]).unlink()
    png.unlink()
    proc = bench("--render", str(tmp_path / files[0]), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_render_names_a_missing_json(tmp_path):
    proc = bench("--render", str(tmp_path / "nope.json"), timeout=120)
    assert proc.returncode == 2 and "nope.json is not a file" in proc.stderr


def test_label_workers_must_be_positive(tmp_path):
    proc = bench("--only", "transfer", "--label-workers", "0", "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 2 and "--label-workers must be >= 1" in proc.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_transfer_bench_labels_in_chunks(tmp_path):
    proc = bench("--quick", "--only", "transfer", "--label-workers", "2", "--transfer-frames", "64", "--out",
                 str(tmp_path), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (json_file,) = tmp_path.glob("*-quick.json")
    t = json.loads(json_file.read_text())["transfer"]
    assert t["frames"] == 64 and t["label_workers"] == 2
    assert t["label_chunks"]["workers"] == 2 and t["label_chunks"]["chunks"] == [[0, 32], [32, 64]]
    assert "label.workers 2" in (tmp_path / json_file.name.replace(".json", ".md")).read_text()


def test_model_must_be_a_file(tmp_path):
    proc = bench("--only", "transfer", "--model", str(tmp_path / "gone.pt"), "--out", str(tmp_path), timeout=120)
    assert proc.returncode == 2 and "gone.pt is not a file" in proc.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_transfer_bench_runs_a_trained_model_file_at_its_size(tmp_path):
    """``--model``: the generator of a model file (here a tiny EDN exported the way training does) at its size."""
    import torch

    from bench_suite import family_generator
    from v2v_pipeline.inference import FORMAT

    config, g = family_generator("edn", (48, 32), tiny=True)
    path = tmp_path / "generator.pt"
    torch.save({"format": FORMAT, "model_config": config, "generator": g.state_dict(), "face_generator": None,
                "size": [48, 32], "label_channels": int(config.get("label_ch", 3)), "step": 7}, path)
    out = tmp_path / "out"
    proc = bench("--quick", "--only", "transfer", "--transfer-frames", "6", "--model", str(path), "--out", str(out),
                 timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (json_file,) = out.glob("*-quick.json")
    t = json.loads(json_file.read_text())["transfer"]
    assert t["size"] == "48x32" and t["generator"].startswith("trained edn of generator.pt (step 7, 48x32)")
    assert t["frames"] == 6 and t["end_to_end_sequential_frames_per_s"] > 0


def test_result_files_of_cpus_with_and_without_amx_or_bf16_do_not_overwrite_each_other():
    flags = {"avx2": True, "avx512f": True, "avx512_bf16": False, "amx_bf16": False}
    xeon = {"cpu_model": "Intel(R) Xeon(R) Processor", "gpu": None}
    assert result_name({**xeon, "isa_flags": {**flags, "avx512_bf16": True, "amx_bf16": True}}) == \
        "intel-r-xeon-r-processor-amx"
    assert result_name({**xeon, "isa_flags": flags}) == "intel-r-xeon-r-processor-no-bf16"
    epyc = {"cpu_model": "AMD EPYC", "gpu": None, "isa_flags": {**flags, "avx512_bf16": True}}
    assert result_name(epyc) == "amd-epyc"  # the name of the files measured before this rule
    assert result_name({**epyc, "onednn_isa_cap": "AVX512_CORE_VNNI"}) == "amd-epyc-onednn-avx512-core-vnni"
    gpu = {"cpu_model": "AMD EPYC", "isa_flags": flags, "gpu": {"name": "NVIDIA H100 80GB HBM3"}}
    assert result_name(gpu) == "nvidia-h100-80gb-hbm3"
