"""Interrupted and failed runs leave nothing half-done behind.

* :class:`RunGuard` turns SIGTERM / SIGINT during a pipeline run into: the MLflow run(s) ended
  as ``KILLED``, this run's temporary files (``*.partial``, empty version folders) removed, and an
  exit with status 128 + signal number (SIGINT: ``KeyboardInterrupt`` as usual).
* :func:`clean_stale` removes, at the next start, temp files of crashed runs (untouched for
  ``STALE_SECONDS``: a live writer keeps touching its file, so a concurrent run's is kept) and
  ``*.pt.corrupt`` checkpoints where a good checkpoint exists beside them.
* :func:`rollback` removes the versions a failed run saved of datasets that only make sense
  together (:data:`ATOMIC_GROUPS`), so a failed ingest leaves no newer ``video_metadata`` or
  ``frame_index`` to be paired with an older frame archive.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

STALE_SECONDS = 1800
ATOMIC_GROUPS: tuple[frozenset[str], ...] = (frozenset({"video_metadata", "frame_index", "frames"}),)


def end_mlflow_runs(status: str = "KILLED") -> list[str]:
    """End every active MLflow run of this process with ``status``; their ids."""
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return []
    ended = []
    while (run := mlflow.active_run()) is not None:
        ended.append(run.info.run_id)
        try:
            mlflow.end_run(status)
        except Exception as e:  # noqa: BLE001 - never mask the signal with a tracking error
            log.warning("could not mark MLflow run %s as %s: %s", run.info.run_id, status, e)
            break
    return ended


def remove_run_files(root: str | os.PathLike, save_version: str | None) -> list[Path]:
    """``*.partial`` files of the run with Kedro save version ``save_version`` (inside its version
    folders) and those folders when nothing finished is in them."""
    removed: list[Path] = []
    root = Path(root)
    if not save_version or not root.is_dir():
        return removed
    for folder in root.rglob(save_version):
        if not folder.is_dir():
            continue
        for tmp in folder.rglob("*.partial"):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
        if not any(p.is_file() for p in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def clean_stale(roots: Iterable[str | os.PathLike], older_than: float = STALE_SECONDS) -> list[Path]:
    """Temp files of crashed runs and pruned-over ``*.pt.corrupt`` checkpoints under ``roots``."""
    now = time.time()
    removed: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for tmp in root.rglob("*.partial"):
            try:
                if now - tmp.stat().st_mtime > older_than:
                    tmp.unlink()
                    removed.append(tmp)
            except OSError:
                continue
        for bad in root.rglob("*.pt.corrupt"):
            if any(bad.parent.glob("step_*.pt")):  # a good checkpoint took its place
                bad.unlink(missing_ok=True)
                removed.append(bad)
    if removed:
        log.info("removed %d leftovers of earlier interrupted runs: %s", len(removed),
                 ", ".join(str(p) for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return removed


def rollback(saved: Mapping[str, Path], versions: Mapping[str, str], produced: Iterable[str]) -> list[Path]:
    """After a failed run: drop this run's versions of every atomic group it did not finish.

    ``saved`` maps dataset names to the files this run wrote, ``versions`` to their save
    versions (versioned datasets only), ``produced`` is every output the run's pipeline makes.
    """
    produced = set(produced)
    removed = []
    namespaces = {n.rsplit(".", 1)[0] for n in produced if "." in n}
    groups = list(ATOMIC_GROUPS) + [frozenset(f"{ns}.{m}" for m in g)
                                    for g in ATOMIC_GROUPS for ns in sorted(namespaces)]
    for group in groups:  # each group, and its copy in every video namespace (`<video>.frames`, ...)
        members = group & produced
        done = {n for n in members if n in saved}
        if not done or done == members:
            continue
        for name in sorted(done):
            if name not in versions:
                continue
            path = Path(saved[name])
            folder = path.parent if path.parent.name == versions[name] else None
            if folder is not None and folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        log.warning("the run failed before it saved %s: removed this run's new version of %s so that no "
                    "later run pairs them with older %s", ", ".join(sorted(members - done)),
                    ", ".join(sorted(done)), ", ".join(sorted(members - done)))
    return removed


class RunGuard:
    """Signal handling for one pipeline run (installed only in the main thread)."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.save_version: str | None = None
        self._previous: dict[int, object] = {}
        self.interrupted: int | None = None
        self.on_interrupt = None  # called on a signal, before the exit (e.g. roll back unfinished groups)

    def start(self, root: str | os.PathLike, save_version: str | None) -> None:
        self.root, self.save_version, self.interrupted = Path(root), save_version, None
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._handle)

    def stop(self) -> None:
        for sig, handler in self._previous.items():
            try:
                signal.signal(sig, handler)  # type: ignore[arg-type]
            except (ValueError, TypeError):  # pragma: no cover - not the main thread
                pass
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        self.interrupted = signum
        self.stop()  # a second signal gets the default behaviour
        name = signal.Signals(signum).name
        runs = end_mlflow_runs("KILLED")
        removed = remove_run_files(self.root, self.save_version) if self.root else []
        if self.on_interrupt is not None:
            try:
                removed += self.on_interrupt() or []
            except Exception as e:  # noqa: BLE001
                log.warning("cleanup after %s failed: %s", name, e)
        log.error("run interrupted by %s: MLflow run %s marked KILLED, %d temporary files of this run removed; "
                  "re-run the same command to redo it", name, ", ".join(runs) or "(none)", len(removed))
        if signum == signal.SIGINT:
            raise KeyboardInterrupt(f"interrupted by {name}")
        raise SystemExit(128 + signum)
