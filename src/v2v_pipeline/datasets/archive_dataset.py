"""A versioned Kedro dataset for deterministic zip archives of frames, label maps and flows."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version

from v2v_pipeline.storage import Archive, ArchiveContent, write_archive


class ArchiveDataset(AbstractVersionedDataset[Any, Archive]):
    """Loads an :class:`~v2v_pipeline.storage.Archive` (lazy reader).

    Saves an :class:`~v2v_pipeline.storage.ArchiveContent` (an object with
    ``write_to(writer)``, which lets a node stream thousands of frames without holding
    them in memory) or a plain mapping of key -> array. The file is written to a temp
    name and renamed, so an interrupted run leaves no archive that looks complete.

    Example catalog entry::

        target_frames:
          type: v2v_pipeline.datasets.ArchiveDataset
          filepath: data/02_intermediate/frames.zip
          versioned: true
    """

    def __init__(self, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    def load(self) -> Archive:
        return Archive(Path(self._get_load_path()))

    def save(self, data: ArchiveContent | dict) -> None:
        if not (hasattr(data, "write_to") or isinstance(data, dict)):
            raise DatasetError(
                f"ArchiveDataset({self._filepath}) can save an object with write_to(writer) or a dict, "
                f"not {type(data).__name__}"
            )
        write_archive(Path(self._get_save_path()), data)

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
