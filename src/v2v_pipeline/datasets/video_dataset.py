"""A versioned Kedro dataset for playable H.264 ``.mp4`` files."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version

from v2v_pipeline.video.io import VideoContent


class VideoDataset(AbstractVersionedDataset[VideoContent, Path]):
    """Saves a :class:`~v2v_pipeline.video.io.VideoContent` (frames streamed from a factory,
    so memory stays flat in video length); loads the path of the written file."""

    def __init__(self, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    def load(self) -> Path:
        path = Path(self._get_load_path())
        if not path.is_file():
            raise DatasetError(f"video {path} does not exist; run the pipeline that writes it")
        return path

    def save(self, data: VideoContent) -> None:
        if not isinstance(data, VideoContent):
            raise DatasetError(f"VideoDataset saves a VideoContent, not {type(data).__name__}")
        data.write(Path(self._get_save_path()))

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
