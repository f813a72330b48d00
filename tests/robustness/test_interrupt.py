"""SIGTERM / SIGINT during a run: the MLflow run ends KILLED, the run's temp files and unfinished
artifact group are removed; leftovers of earlier crashes are cleaned at the next start."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.robustness.footage import fresh_mlflow, make_video
from v2v_pipeline.interrupt import clean_stale, rollback


def _project(root: Path) -> Path:
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "conf" / "local" / "mlflow.yml").write_text(f"server:\n  mlflow_tracking_uri: sqlite:///{root / 'mlflow.db'}\n")
    (root / "src").mkdir()
    return root


def test_sigterm_ends_mlflow_run_killed_and_removes_temp_files(tmp_path):
    sig = signal.SIGTERM
    import mlflow

    root = _project(tmp_path / "project")
    video = make_video(tmp_path / "clip.mp4", n=200, size=(96, 64))
    marker = tmp_path / "started"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)]),
           "KEDRO_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("_run_slow_ingest.py")), str(root),
                             str(video), str(marker)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert marker.exists(), proc.communicate()[0].decode()[-3000:]
    partials = list((root / "data").rglob("*.partial"))
    assert partials, "the frame archive should be half-written now"
    proc.send_signal(sig)
    out = proc.communicate(timeout=120)[0].decode()
    # SIGTERM: exit status 143; SIGINT: KeyboardInterrupt, which Python turns into death by SIGINT (-2)
    assert proc.returncode == (128 + sig if sig == signal.SIGTERM else -sig), out[-3000:]
    assert f"run interrupted by {signal.Signals(sig).name}" in out
    assert not list((root / "data").rglob("*.partial"))
    # the unfinished ingest group is gone: no video_metadata / frame_index without frames
    for rel in ("data/01_raw/video_metadata.parquet", "data/02_intermediate/frame_index.parquet",
                "data/02_intermediate/frames.zip", "data/01_raw/videos/clip/video_metadata.parquet",
                "data/02_intermediate/videos/clip/frame_index.parquet", "data/02_intermediate/videos/clip/frames.zip"):
        assert not [p for p in (root / rel).glob("*") if p.is_dir()], rel
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["v2v_pipeline"])
    assert list(runs.status) == ["KILLED"]


def test_sigint_in_process_marks_run_killed_and_raises_keyboard_interrupt(tmp_path, monkeypatch):
    import mlflow

    from v2v_pipeline.interrupt import RunGuard

    fresh_mlflow(tmp_path, monkeypatch)
    run = mlflow.start_run()
    version = tmp_path / "data" / "x.zip" / "V1"
    version.mkdir(parents=True)
    (version / ".x.zip.1.partial").write_bytes(b"half")
    guard = RunGuard()
    guard.start(tmp_path / "data", "V1")
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler runs here
    finally:
        guard.stop()
    assert mlflow.active_run() is None
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"
    assert not version.exists()
    assert signal.getsignal(signal.SIGINT) is not guard._handle and before is not None


def test_stale_leftovers_are_cleaned_at_start(tmp_path):
    data = tmp_path / "data"
    folder = data / "02_intermediate" / "frames.zip" / "2026-01-01T00.00.00.000Z"
    folder.mkdir(parents=True)
    old = folder / ".frames.zip.abc.partial"
    fresh = folder / ".frames.zip.def.partial"  # a concurrent run's, still being written
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    ckpt = data / "06_models" / "checkpoints" / "run"
    ckpt.mkdir(parents=True)
    (ckpt / "step_000000010.pt").write_bytes(b"good")
    (ckpt / "step_000000020.pt.corrupt").write_bytes(b"bad")
    lonely = data / "06_models" / "other"
    lonely.mkdir(parents=True)
    (lonely / "step_000000005.pt.corrupt").write_bytes(b"bad")  # the only trace of that run: kept
    removed = clean_stale([data])
    assert set(removed) == {old, ckpt / "step_000000020.pt.corrupt"}
    assert fresh.exists() and (lonely / "step_000000005.pt.corrupt").exists()


def test_checkpoint_manager_prunes_corrupt_and_stale_temp_files(tmp_path):
    import torch

    from v2v_pipeline.training.checkpoint import CheckpointManager

    d = tmp_path / "ckpt"
    d.mkdir()
    (d / "step_000000001.pt.corrupt").write_bytes(b"bad")
    stale = d / ".step_000000002.pt.xyz.pt.partial"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    manager = CheckpointManager(d, keep=2)
    assert not stale.exists()
    manager.save({"step": 3, "w": torch.zeros(2)})
    assert sorted(p.name for p in d.iterdir()) == ["step_000000003.pt"]


def test_rollback_only_touches_unfinished_groups(tmp_path):
    def version(name: str, v: str) -> Path:
        p = tmp_path / f"{name}.x" / v / f"{name}.x"
        p.parent.mkdir(parents=True)
        p.write_bytes(b"1")
        return p

    saved = {"video_metadata": version("video_metadata", "v1"), "frame_index": version("frame_index", "v1")}
    versions = {"video_metadata": "v1", "frame_index": "v1"}
    # the run did not mean to make frames: nothing is rolled back
    assert rollback(saved, versions, {"video_metadata", "frame_index"}) == []
    removed = rollback(saved, versions, {"video_metadata", "frame_index", "frames"})
    assert sorted(p.parent.name for p in removed) == ["frame_index.x", "video_metadata.x"]
    assert not saved["video_metadata"].exists() and not saved["frame_index"].exists()
