"""A versioned Kedro dataset for playable H.264 ``.mp4`` files."""

from __future__ import annotations

from pathlib import Path

from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.video.io import VideoContent


class VideoDataset(VersionedFileDataset):
    """Saves a :class:`~v2v_pipeline.video.io.VideoContent` (frames streamed from a factory,
    so memory stays flat in video length); loads the path of the written file (a cached
    local copy when the file is on a remote file system). PyAV encodes into a local file,
    which is renamed into place or, off the local disk, uploaded when complete."""

    def load(self) -> Path:
        return self._local_load_path()

    def save(self, data: VideoContent) -> None:
        if not isinstance(data, VideoContent):
            raise DatasetError(f"VideoDataset saves a VideoContent, not {type(data).__name__}")
        self._write(data.write)
