"""A versioned Kedro dataset for playable H.264 ``.mp4`` files."""

from __future__ import annotations

from pathlib import Path

from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.video.io import VideoContent


class VideoDataset(VersionedFileDataset):
    """Saves a :class:`~v2v_pipeline.video.io.VideoContent` (frames streamed from a factory,
    so memory stays flat in video length); loads the path of the written file."""

    def load(self) -> Path:
        path = self.load_path
        if not path.is_file():
            raise DatasetError(f"video {path} does not exist; run the pipeline that writes it")
        return path

    def save(self, data: VideoContent) -> None:
        if not isinstance(data, VideoContent):
            raise DatasetError(f"VideoDataset saves a VideoContent, not {type(data).__name__}")
        data.write(self.save_path)
