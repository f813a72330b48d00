"""benchmarks/bench_wait_policy.py: the worker's environment and the table (the measurement itself is the lead's)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from bench_wait_policy import markdown, worker_env  # noqa: E402


def test_the_policy_is_set_in_the_worker_environment_only():
    base = {"PATH": "/bin", "OMP_WAIT_POLICY": "ACTIVE"}
    assert "OMP_WAIT_POLICY" not in worker_env("default", None, base)  # libgomp's own default
    env = worker_env("PASSIVE", 1, base)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["OMP_NUM_THREADS"] == "1" and env["PATH"] == "/bin"
    assert base["OMP_WAIT_POLICY"] == "ACTIVE"  # the caller's (and the neighbour's) environment is unchanged


def test_the_table_has_a_row_per_policy_with_the_ratio():
    rows = [{"neighbour": "torch", "threads": 2, "policy": "default", "steps_per_s": [0.5, 0.7], "median": 0.6},
            {"neighbour": "torch", "threads": 2, "policy": "PASSIVE", "steps_per_s": [1.1, 1.3], "median": 1.2,
             "ratio_vs_default": 2.0}]
    config = {"recipe": "default", "size": "64x32", "precision": "auto", "steps": 2, "warmup": 1, "rounds": 2,
              "neighbour": "torch", "tiny": True}
    md = markdown({"cpu": "Some CPU", "rows": rows, "config": config})
    assert "| torch | 2 | PASSIVE | 1.100, 1.300 | 1.200 | 2.00x |" in md
    assert "| torch | 2 | default | 0.500, 0.700 | 0.600 |  |" in md


def test_a_worker_with_a_thread_count_runs_and_reports_it():
    """One worker run as the parent starts it (``--threads N``), tiny network, no neighbour: seconds."""
    import argparse

    from bench_wait_policy import measure

    args = argparse.Namespace(recipe="default", size="64x32", precision="fp32", steps=1, warmup=1, tiny=True,
                              max_seconds=300.0, neighbour_head_start=0.0)
    out = measure(args, "PASSIVE", 1, None)
    assert out["threads"] == 1 and out["omp_wait_policy"] == "PASSIVE" and out["steps_per_s"] > 0
