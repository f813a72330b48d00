"""Common base of the project's file datasets: one versioned file per save."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version


class VersionedFileDataset(AbstractVersionedDataset):
    """A versioned file at ``filepath`` (``filepath/<version>/<name>`` with ``versioned: true``).

    Subclasses implement ``load`` and ``save``; saves go through the atomic writers of
    :mod:`v2v_pipeline.storage`, so the newest version is never a half-written file.
    """

    def __init__(self, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    @property
    def load_path(self) -> Path:
        return Path(self._get_load_path())

    @property
    def save_path(self) -> Path:
        return Path(self._get_save_path())

    def _exists(self) -> bool:
        try:
            return self.load_path.is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
