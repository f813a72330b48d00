"""Disk full (ENOSPC simulated): one line naming the directory, space needed and free, and the fix;
earlier versions stay intact; a failed checkpoint save does not stop training."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pandas as pd
import pytest
import torch

import v2v_pipeline.diskspace as diskspace
from v2v_pipeline.diskspace import DiskFullError
from v2v_pipeline.training import checkpoint as ckpt_mod
from v2v_pipeline.training.checkpoint import CheckpointManager


def _enospc_after(nbytes: int):
    def write(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"\0" * nbytes)
        raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_checkpoint_save_on_full_disk_logs_one_line_and_keeps_the_previous(tmp_path, monkeypatch, caplog):
    d = tmp_path / "checkpoints"
    manager = CheckpointManager(d, keep=2)
    first = manager.save({"step": 1, "w": torch.ones(1000)})
    monkeypatch.setattr(ckpt_mod.torch, "save", _enospc_after(100))
    with caplog.at_level(logging.ERROR, logger="v2v_pipeline.training.checkpoint"):
        assert manager.save({"step": 2, "w": torch.ones(1000)}) is None  # training goes on
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    msg = errors[0]
    assert str(d) in msg and "disk full" in msg
    assert f"needs about {diskspace.human(first.stat().st_size)}" in msg and "is free" in msg
    assert "train.checkpoint_dir" in msg and "step_000000001.pt is intact" in msg
    assert manager.failed_saves == 1
    assert [p.name for p in d.iterdir()] == ["step_000000001.pt"]  # no temp file, previous intact
    assert torch.load(first, weights_only=True)["step"] == 1
    monkeypatch.undo()
    assert manager.load_latest()["step"] == 1


def test_torch_iostream_error_on_a_full_disk_is_named(tmp_path, monkeypatch, caplog):
    """torch reports a full disk as ``RuntimeError: ... iostream error``: recognised by the free space."""
    def write(obj, f, *a, **k):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 4111936 vs 4111824")

    monkeypatch.setattr(ckpt_mod.torch, "save", write)
    monkeypatch.setattr(diskspace, "free_bytes", lambda directory: 4096)
    with caplog.at_level(logging.ERROR):
        assert CheckpointManager(tmp_path, keep=1).save({"step": 1}) is None
    assert "disk full" in caplog.text and "4.0 KB is free" in caplog.text


def test_other_checkpoint_errors_are_logged_not_raised(tmp_path, monkeypatch, caplog):
    def write(obj, f, *a, **k):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(ckpt_mod.torch, "save", write)
    with caplog.at_level(logging.ERROR):
        assert CheckpointManager(tmp_path, keep=1).save({"step": 1}) is None
    assert "was not saved (PermissionError" in caplog.text


def test_artifact_write_on_full_disk_is_one_line_and_keeps_the_previous_version(tmp_path, monkeypatch):
    from kedro.io import Version

    from v2v_pipeline.datasets import TableDataset

    path = tmp_path / "data" / "frame_index.parquet"
    old = TableDataset(filepath=str(path), version=Version(None, "v1"))
    old.save(pd.DataFrame({"a": [1, 2]}))
    real = pd.DataFrame.to_parquet

    def full(self, target, *args, **kwargs):
        Path(target).write_bytes(b"PAR1")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    new = TableDataset(filepath=str(path), version=Version(None, "v2"))
    with pytest.raises(Exception) as err:
        new.save(pd.DataFrame({"a": [3]}))
    cause = err.value
    while cause is not None and not isinstance(cause, DiskFullError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None, repr(err.value)
    line = str(cause)
    assert "\n" not in line and str(path / "v2") in line and "is free" in line and "catalog.yml" in line
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    assert TableDataset(filepath=str(path), version=Version("v1", None)).load().a.tolist() == [1, 2]
    assert not list(tmp_path.rglob("*.partial"))


def test_archive_write_on_full_disk(tmp_path, monkeypatch):
    import zipfile

    from v2v_pipeline.storage import write_archive

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    with pytest.raises(DiskFullError, match=r"disk full: writing the artifact a.zip to .* is free"):
        write_archive(tmp_path / "a.zip", {"x.json": {"k": 1}})
    assert not list(tmp_path.iterdir())


def test_training_on_a_full_checkpoint_disk_still_exports_the_model(tmp_path, monkeypatch, caplog):
    """The issue's case: with no room for checkpoints every save fails; training still finishes
    and the final model (returned in memory, saved by the catalog elsewhere) is exported."""
    from tests.training.test_trainer import make_trainer, params

    monkeypatch.setattr(ckpt_mod.torch, "save", _enospc_after(64))
    trainer = make_trainer(params("pix2pixhd", max_steps=6, checkpoint_every=2, val_every=6), tmp_path / "run")
    with caplog.at_level(logging.ERROR, logger="v2v_pipeline.training.checkpoint"):
        result = trainer.fit()
    assert result.model_file["step"] == 6
    assert trainer.ckpt.failed_saves >= 2
    lines = [r.getMessage() for r in caplog.records if "disk full" in r.getMessage()]
    assert len(lines) == trainer.ckpt.failed_saves and all("\n" not in m for m in lines)
    assert not list((tmp_path / "run").rglob("*.partial"))
