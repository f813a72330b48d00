"""Run lineage: every saved artifact records what it was made from; nodes that combine artifacts
check that they belong together.

Each saved file gets a hidden sidecar ``.<file>.lineage`` (JSON) in its own (version) folder, named
so that no glob for the artifact's own extension picks it up::

    {"dataset": "label_maps", "sha256": "...", "run": "<kedro run id>",
     "inputs":    {"frames": "<id>", "frame_index": "<id>"},
     "ancestors": {"frames": "<id>", "frame_index": "<id>", "video_metadata": "<id>"}}

An artifact's id is its SHA-256 (from its sidecar) or, for files made before lineage existed,
its path, modification time and size. :func:`check` is given the records of a node's inputs:
when two of them descend from different versions of one dataset (or one input is a version of
a dataset that another was not made from), it raises :class:`LineageError` naming the stale
artifact and the command that rebuilds it. Library code: the Kedro side is in ``hooks.py``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from v2v_pipeline.storage import sha256_file, write_json_atomic

log = logging.getLogger(__name__)

SUFFIX = ".lineage"


class LineageError(ValueError):
    """Artifacts of different runs were about to be combined."""


@dataclass
class Record:
    dataset: str
    id: str
    ancestors: dict[str, str] = field(default_factory=dict)  # dataset -> id, transitively
    path: str | None = None
    version: str | None = None

    @property
    def family(self) -> dict[str, str]:
        return {**self.ancestors, self.dataset: self.id}


def sidecar(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(f".{path.name}{SUFFIX}")


def file_id(path: str | os.PathLike) -> str:
    st = Path(path).stat()
    return f"{Path(path).resolve()}@{st.st_mtime_ns}:{st.st_size}"


def read(dataset: str, path: str | os.PathLike | None, version: str | None = None) -> Record | None:
    """The record of the artifact at ``path`` (its sidecar; a legacy file gets a path-based id)."""
    if path is None:
        return None
    path = Path(path)
    side = sidecar(path)
    if side.is_file():
        try:
            data = json.loads(side.read_text())
            return Record(dataset, data["sha256"], dict(data.get("ancestors", {})), str(path), version)
        except (OSError, ValueError, KeyError) as e:
            log.warning("lineage record %s is unreadable (%s); treating %s as made before lineage", side, e, path)
    if not path.exists():
        return None
    return Record(dataset, file_id(path) if path.is_file() else str(path.resolve()), {}, str(path), version)


def write(dataset: str, path: str | os.PathLike, inputs: Mapping[str, Record], run: str | None) -> Record:
    """Hash the just-saved file and write its sidecar; returns its record."""
    path = Path(path)
    digest = sha256_file(path)
    ancestors: dict[str, str] = {}
    for rec in inputs.values():
        ancestors.update(rec.family)
    ancestors.pop(dataset, None)  # an artifact made from an older version of itself (resume) is fine
    write_json_atomic(sidecar(path), {"dataset": dataset, "sha256": digest, "run": run,
                                      "inputs": {k: v.id for k, v in inputs.items()}, "ancestors": ancestors})
    return Record(dataset, digest, ancestors, str(path))


def check(node: str, inputs: Mapping[str, Record], rebuild: Callable[[str], str] | None = None) -> None:
    """Raise :class:`LineageError` when the artifacts in ``inputs`` do not belong together.

    A direct input is authoritative for its dataset: an input made from another version of it is
    stale. Two inputs made from different versions of a dataset that is not an input: the one
    made from the older file (by the path of the version) is named as stale.
    """
    rebuild = rebuild or (lambda name: f"kedro run --to-outputs={name}")
    direct = {name: rec for name, rec in inputs.items() if rec is not None}
    problems = []
    for name, rec in direct.items():
        for anc, anc_id in rec.ancestors.items():
            if anc in direct and direct[anc].id != anc_id:
                problems.append(
                    f"{name} ({_where(rec)}) was made from another version of {anc} than the one loaded "
                    f"({_where(direct[anc])}): {name} is stale; rebuild it with `{rebuild(name)}`")
    seen: dict[str, tuple[str, str]] = {}
    for name, rec in direct.items():
        for anc, anc_id in rec.ancestors.items():
            if anc in direct:
                continue
            if anc in seen and seen[anc][1] != anc_id:
                other = seen[anc][0]
                problems.append(
                    f"{other} ({_where(direct[other])}) and {name} ({_where(rec)}) were made from different versions "
                    f"of {anc}: rebuild the older one (`{rebuild(other)}` or `{rebuild(name)}`) so both come from "
                    f"the same {anc}")
            seen.setdefault(anc, (name, anc_id))
    if problems:
        raise LineageError(f"node {node}: inputs from different runs would be combined:\n  - " + "\n  - ".join(problems))


def _where(rec: Record) -> str:
    return f"version {rec.version}" if rec.version else (rec.path or "in memory")
