"""Crash-safe training checkpoints.

A checkpoint holds everything needed to continue: networks, optimizers, grad scaler, EMA
weights, the step, elapsed training time, the stage, and the Python, NumPy and torch RNG
states. Files are written to a temp name and renamed, so a kill during a save
leaves the previous checkpoint intact; the newest checkpoint that loads is used, and a
corrupt one is reported and skipped.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from v2v_pipeline.diskspace import DiskFullError, disk_guard
from v2v_pipeline.storage import atomic_path

log = logging.getLogger(__name__)

_NAME = re.compile(r"^step_(\d{9})\.pt$")
STALE_SECONDS = 1800  # a temp file untouched this long belongs to a crashed save


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": _numpy_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _numpy_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "gauss": float(gauss)}


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointManager:
    """Keeps the last ``keep`` checkpoints of one training run in ``directory``."""

    def __init__(self, directory: str | Path, keep: int = 3, writable: bool = True):
        self.directory = Path(directory)
        self.keep = max(1, keep)
        self.writable = writable  # DDP: only rank 0 writes, renames or deletes
        self.failed_saves = 0
        self.clean_stale()

    def path_for(self, step: int) -> Path:
        return self.directory / f"step_{step:09d}.pt"

    def list(self) -> list[Path]:
        """Complete checkpoints, oldest first (temp files of an interrupted save are ignored)."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if _NAME.match(p.name))

    def save(self, state: dict[str, Any]) -> Path | None:
        """Write the checkpoint, then prune old and ``*.corrupt`` ones. A failed save (disk full,
        I/O error) is logged in one line and returns None: training and the final export go on,
        and the previous checkpoint stays intact."""
        path = self.path_for(int(state["step"]))
        previous = self.list()
        needed = previous[-1].stat().st_size if previous else 0
        fix = ("free space there or set train.checkpoint_dir to a disk with room (or lower train.keep_checkpoints); "
               f"the previous checkpoint {previous[-1].name if previous else '(none)'} is intact and training goes on")
        try:
            with atomic_path(path, suffix=".pt") as tmp, disk_guard(path, tmp, needed, "checkpoint", fix):
                torch.save(state, tmp)
        except (OSError, RuntimeError) as e:
            self.failed_saves += 1
            line = str(e) if isinstance(e, DiskFullError) else f"checkpoint {path} was not saved ({type(e).__name__}: {e})"
            log.error("%s", line)
            return None
        for old in self.list()[: -self.keep]:
            old.unlink(missing_ok=True)
        for old in self.directory.glob("*.pt.corrupt"):  # reported when found; a newer good one exists now
            log.info("pruning corrupt checkpoint %s", old)
            old.unlink(missing_ok=True)
        return path

    def clean_stale(self, older_than: float = STALE_SECONDS) -> list[Path]:
        """Remove temp files of saves that crashed (untouched for ``older_than`` seconds)."""
        import time

        if not self.writable or not self.directory.is_dir():
            return []
        now = time.time()
        gone = []
        for p in self.directory.glob(".step_*.partial"):
            try:
                if now - p.stat().st_mtime > older_than:
                    p.unlink()
                    gone.append(p)
            except OSError:
                continue
        if gone:
            log.info("removed %d temp files of interrupted checkpoint saves in %s", len(gone), self.directory)
        return gone

    def load_latest(self) -> dict[str, Any] | None:
        """The newest checkpoint that loads; corrupt ones are logged, renamed ``*.corrupt`` and skipped."""
        for path in reversed(self.list()):
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                if not isinstance(state, dict) or "step" not in state:
                    raise ValueError("not a training checkpoint")
            except MemoryError:
                raise  # not corruption: do not discard the file
            except OSError as e:  # an I/O problem may pass; keep the file
                log.warning("checkpoint %s cannot be read now (%s); trying the previous one", path, e)
                continue
            except Exception as e:  # noqa: BLE001 - a truncated or damaged file fails in many ways
                log.warning("checkpoint %s is corrupt (%s: %s); falling back to the previous one", path,
                            type(e).__name__, e)
                if self.writable:
                    path.rename(path.with_suffix(".pt.corrupt"))
                continue
            log.info("resuming from %s (step %d)", path, state["step"])
            return state
        return None
