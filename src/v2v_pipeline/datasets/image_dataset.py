"""A Kedro dataset for one image stored as PNG, written atomically: an RGB ``uint8`` array or a matplotlib figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import DatasetError
from kedro.io.core import Version

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.figures import figure_png
from v2v_pipeline.datasets.mlflow_logging import MlflowArtifactLogging
from v2v_pipeline.storage import decode_png, encode_png, write_bytes_atomic


class ImageDataset(MlflowArtifactLogging, VersionedFileDataset):
    """Contact sheets, previews and sample grids. With ``mlflow_artifact_path`` each saved
    file is also logged to the MLflow run (from any worker process, see
    :class:`~v2v_pipeline.datasets.mlflow_logging.MlflowArtifactLogging`).

    Example catalog entry::

        flow_preview:
          type: v2v_pipeline.datasets.ImageDataset
          filepath: data/08_reporting/flow_preview.png
          mlflow_artifact_path: flow
    """

    def __init__(self, filepath: str, version: Version | None = None, mlflow_artifact_path: str | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None):
        super().__init__(filepath, version, credentials, fs_args, metadata)
        self._mlflow_artifact_path = mlflow_artifact_path

    def load(self) -> np.ndarray:
        with self._open() as f:
            return decode_png(f.read())

    def save(self, data: Any) -> None:
        if hasattr(data, "savefig"):  # a matplotlib figure
            blob = figure_png(data, dpi=100, close=True)
        elif isinstance(data, np.ndarray) and data.dtype == np.uint8:
            blob = encode_png(data)
        else:
            raise DatasetError(
                f"ImageDataset({self._filepath}) saves a uint8 numpy image or a matplotlib figure, "
                f"not {type(data).__name__}"
            )
        self._write(lambda path: write_bytes_atomic(path, blob))

    def _after_write(self, local: Path) -> None:
        self._log_to_mlflow(local)
