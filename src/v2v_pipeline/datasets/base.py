"""Common base of the project's file datasets: one (versioned) file per save, on any fsspec file system.

Like kedro-datasets' own classes, ``filepath`` may be a local path or any fsspec URL
(``s3://bucket/...``, ``gs://...``, ``memory:///...``, ``file:///...``); ``credentials``
and ``fs_args`` go to the file system (e.g. ``key``/``secret`` for s3fs). Every save is
atomic: it is written to a local temporary file first and renamed (local disk) or uploaded
in one ``put`` (object stores), see :func:`v2v_pipeline.storage.staged_write`.

Concurrent runs: a versioned dataset that was saved in this run (the catalog's save
version, i.e. the Kedro session id, or this object's last save) loads that version, not
the newest one on disk, which may belong to another run started at the same time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from copy import deepcopy
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version, VersionNotFoundError, get_filepath_str, get_protocol_and_path

from v2v_pipeline.storage import is_local, local_copy, staged_write

log = logging.getLogger(__name__)


class VersionedFileDataset(AbstractVersionedDataset):
    """A file at ``filepath`` (``filepath/<version>/<name>`` with ``versioned: true``).

    Subclasses implement ``load`` and ``save`` with :meth:`_write` (gives the writer a local
    path whose content ends up at the save path, atomically) and :meth:`_local_load_path`
    (a local file with the content of the load path: the file itself on the local disk, a
    cached download elsewhere) or :meth:`_open`.
    """

    def __init__(self, filepath: str, version: Version | None = None, credentials: dict[str, Any] | None = None,
                 fs_args: dict[str, Any] | None = None, metadata: dict | None = None):
        protocol, path = get_protocol_and_path(str(filepath), version)
        self._protocol = protocol
        self._storage_options = {**deepcopy(credentials or {}), **deepcopy(fs_args or {})}
        self._fs = fsspec.filesystem(protocol, **self._storage_options)
        super().__init__(PurePosixPath(path), version, exists_function=self._fs.exists, glob_function=self._fs.glob)
        self._saved_version: str | None = None
        self.metadata = metadata

    # ------------------------------------------------------------------ paths
    def _uri(self, path: PurePosixPath) -> str:
        return get_filepath_str(path, self._protocol)

    @property
    def is_local(self) -> bool:
        return is_local(self._fs)

    @property
    def load_uri(self) -> str:
        return self._uri(self._get_load_path())

    def save_uri(self) -> str:
        """The path this save writes to (checks it does not exist yet, and remembers the version)."""
        path = self._get_save_path()
        if self._version:
            self._saved_version = path.parent.name
        return self._uri(path)

    def saved_uri(self) -> str | None:
        """The file this run saved (its save version), or None when there is none."""
        if self._version:
            version = self._version.save or self._saved_version
            if version is None:
                return None
            uri = self._uri(self._get_versioned_path(version))
        else:
            uri = self._uri(self._filepath)
        return uri if self._fs.exists(uri) else None

    @property
    def load_path(self) -> Path:
        """A local file with the content of the load version (see :meth:`_local_load_path`)."""
        return self._local_load_path()

    def _local_load_path(self) -> Path:
        uri = self.load_uri
        if not self._fs.exists(uri):
            raise DatasetError(f"{self._display(uri)} does not exist; run the pipeline that writes it")
        return local_copy(self._fs, uri)

    def _open(self, mode: str = "rb"):
        return self._fs.open(self.load_uri, mode)

    def _display(self, uri: str) -> str:
        return uri if self.is_local else self._fs.unstrip_protocol(uri)

    @contextlib.contextmanager
    def _staged(self, suffix: str = "", atomic_writer: bool = True) -> Iterator[Path]:
        uri = self.save_uri()
        with staged_write(self._fs, uri, suffix=suffix, atomic_writer=atomic_writer) as local:
            yield local

    def _write(self, writer: Callable[[Path], Any]) -> None:
        """Save through ``writer(local_path)``, which must write ``local_path`` atomically itself
        (the storage writers do); then :meth:`_after_write` sees the finished local file."""
        with self._staged(atomic_writer=True) as local:
            writer(local)
            self._after_write(local)

    def _after_write(self, local: Path) -> None:
        """Called with the finished local file of a save (before it is uploaded off the local disk)."""

    # ------------------------------------------------------------------ versions
    def _fetch_latest_load_version(self) -> str:
        # a version saved by this run (session save version / this object's last save) wins over the newest
        for own in dict.fromkeys(v for v in (self._version.save if self._version else None, self._saved_version) if v):
            if self._fs.exists(self._uri(self._get_versioned_path(own))):
                return own
        with contextlib.suppress(Exception):
            self._fs.invalidate_cache(self._uri(self._filepath))
        return super()._fetch_latest_load_version()

    def _exists(self) -> bool:
        try:
            return self._fs.exists(self.load_uri)
        except (DatasetError, VersionNotFoundError):
            return False

    def _release(self) -> None:
        super()._release()
        with contextlib.suppress(Exception):
            self._fs.invalidate_cache(self._uri(self._filepath))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "protocol": self._protocol, "version": self._version}
