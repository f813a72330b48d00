"""A versioned Kedro dataset for deterministic zip archives of frames, label maps and flows."""

from __future__ import annotations

from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.storage import Archive, ArchiveContent, write_archive


class ArchiveDataset(VersionedFileDataset):
    """Loads an :class:`~v2v_pipeline.storage.Archive` (lazy reader).

    Saves an :class:`~v2v_pipeline.storage.ArchiveContent` (an object with
    ``write_to(writer)``, which lets a node stream thousands of frames without holding
    them in memory) or a plain mapping of key -> array. The file is written to a temp
    name and renamed, so an interrupted run leaves no archive that looks complete. On a
    remote file system (``s3://...``) the archive is written member by member to a local
    temp file and uploaded when complete; loading reads a cached local copy.

    Example catalog entry::

        target_frames:
          type: v2v_pipeline.datasets.ArchiveDataset
          filepath: data/02_intermediate/frames.zip
          versioned: true
    """

    def load(self) -> Archive:
        return Archive(self._local_load_path())

    def save(self, data: ArchiveContent | dict) -> None:
        if not (hasattr(data, "write_to") or isinstance(data, dict)):
            raise DatasetError(
                f"ArchiveDataset({self._filepath}) can save an object with write_to(writer) or a dict, "
                f"not {type(data).__name__}"
            )
        self._write(lambda path: write_archive(path, data))
