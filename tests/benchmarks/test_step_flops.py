"""benchmarks/step_flops.py --quick: FLOPs counted, both paths timed, the reference convolution and the per-layer
table written (speed is not asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


def test_step_flops_quick_writes_the_step_against_the_reference(tmp_path):
    import step_flops

    assert step_flops.main(["--quick", "--precision", "bf16", "--per-layer", "--out", str(tmp_path)]) == 0
    res = json.loads(next(tmp_path.glob("step-flops-default-*-quick.json")).read_text())
    assert res["gflop_per_step"] > 0
    # the project's step does less arithmetic than the baseline's (no discriminator weight gradients in the
    # generator's backward, `upsampling: nearest` computed before upsampling), and its ceiling follows from it
    assert 0 < res["project_gflop_per_step"] < res["gflop_per_step"]
    assert abs(res["ratio_ceiling"] - res["rows"][0]["s_per_step"] / res["project_floor_s_per_step"]) < 1e-9
    assert [r["path"] for r in res["rows"]] == ["baseline fp32", "project bf16"]
    assert set(res["reference_conv"]) == {"fp32", "bf16"}
    for r in res["rows"]:
        assert r["gflop_per_s"] > 0 and r["efficiency"] > 0
    # every convolution of the generator and the discriminator, counted per call
    assert len(res["per_layer"]) >= 10 and all(r["calls"] >= 1 and r["fp32_ms"] > 0 for r in res["per_layer"])
    assert all(r["alt_ms"] > 0 and r["fp32_gflop_per_s"] > 0 for r in res["per_layer"])
    # the project's own layers as they run: NearestUpConv2d's 2x2 convolutions, not the 3x3 they stand for
    assert any(" 2x2 " in r["conv"] for r in res["per_layer"])
    assert "of the reference convolution" in next(tmp_path.glob("*.md")).read_text()


def test_step_flops_fp32_per_layer_compares_memory_formats(tmp_path):
    import step_flops

    assert step_flops.main(["--quick", "--precision", "fp32", "--per-layer", "--out", str(tmp_path)]) == 0
    res = json.loads(next(tmp_path.glob("step-flops-default-fp32-*-quick.json")).read_text())
    assert [r["path"] for r in res["rows"]] == ["baseline fp32", "project fp32"]
    assert res["per_layer"] and "fp32 channels-last" in next(tmp_path.glob("*.md")).read_text()
