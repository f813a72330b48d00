"""A Kedro dataset for one image stored as PNG, written atomically: an RGB ``uint8`` array or a matplotlib figure."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version

from v2v_pipeline.storage import decode_png, encode_png, write_bytes_atomic


class ImageDataset(AbstractVersionedDataset[np.ndarray, np.ndarray]):
    """Contact sheets, previews and sample grids; wrap it in kedro-mlflow's
    ``MlflowArtifactDataset`` to log the file to the MLflow run as well."""

    def __init__(self, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    def load(self) -> np.ndarray:
        return decode_png(Path(self._get_load_path()).read_bytes())

    def save(self, data: Any) -> None:
        if hasattr(data, "savefig"):  # a matplotlib figure
            import io

            import matplotlib.pyplot as plt

            buf = io.BytesIO()
            data.savefig(buf, format="png", dpi=100, metadata={"Software": None})
            plt.close(data)
            write_bytes_atomic(Path(self._get_save_path()), buf.getvalue())
            return
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise DatasetError(f"ImageDataset({self._filepath}) saves a uint8 numpy image or a matplotlib figure, "
                               f"not {type(data).__name__}")
        write_bytes_atomic(Path(self._get_save_path()), encode_png(data))

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
