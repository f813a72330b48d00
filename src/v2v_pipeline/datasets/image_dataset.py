"""A Kedro dataset for one image stored as PNG, written atomically: an RGB ``uint8`` array or a matplotlib figure."""

from __future__ import annotations

from typing import Any

import numpy as np
from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.figures import figure_png
from v2v_pipeline.storage import decode_png, encode_png, write_bytes_atomic


class ImageDataset(VersionedFileDataset):
    """Contact sheets, previews and sample grids; wrap it in kedro-mlflow's
    ``MlflowArtifactDataset`` to log the file to the MLflow run as well."""

    def load(self) -> np.ndarray:
        return decode_png(self.load_path.read_bytes())

    def save(self, data: Any) -> None:
        if hasattr(data, "savefig"):  # a matplotlib figure
            write_bytes_atomic(self.save_path, figure_png(data, dpi=100, close=True))
            return
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise DatasetError(
                f"ImageDataset({self._filepath}) saves a uint8 numpy image or a matplotlib figure, "
                f"not {type(data).__name__}"
            )
        write_bytes_atomic(self.save_path, encode_png(data))
