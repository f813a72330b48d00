"""Which files a run saved, for the manifest hook, whatever the runner and the file system.

With ParallelRunner or a Dask cluster the dataset hooks run in the worker processes, so the
main process cannot collect saved paths from ``after_dataset_saved``; it finds them from the
catalog instead: a versioned dataset's file at the run's save version (the session id) exists
only if this run saved it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def saved_location(dataset: Any) -> str | Path | None:
    """The file a (possibly versioned) file-based dataset saved in this run: a local path, an fsspec URL, or None."""
    saved_uri = getattr(dataset, "saved_uri", None)
    if callable(saved_uri):  # the project's datasets (any fsspec protocol)
        uri = saved_uri()
        if uri is None:
            return None
        fs = dataset._fs
        return Path(uri) if getattr(dataset, "is_local", True) else fs.unstrip_protocol(uri)
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return None
    version = getattr(dataset, "_version", None)
    if version is not None and hasattr(dataset, "resolve_save_version"):
        path = Path(str(dataset._get_versioned_path(dataset.resolve_save_version())))
    else:
        path = Path(str(filepath))
    return path if path.exists() else None


def saved_by_run(catalog: Any, names: Any) -> dict[str, str | Path]:
    """``{dataset name: saved file}`` for those of ``names`` whose file this run saved."""
    found: dict[str, str | Path] = {}
    for name in sorted(names):
        try:
            dataset = catalog.get(name)
        except Exception:  # noqa: BLE001 - a dataset we cannot introspect is just not in the manifest
            continue
        location = saved_location(dataset) if dataset is not None else None
        if location is not None:
            found[name] = location
    return found


def catalog_filepath(dataset: Any, default: Any = None) -> Any:
    """The dataset's (unversioned) ``filepath`` as the catalog names it: a URL off the local disk."""
    filepath = getattr(dataset, "_filepath", None)
    if filepath is None:
        return default
    if getattr(dataset, "is_local", True) is False:
        return dataset._fs.unstrip_protocol(str(filepath))
    return filepath
