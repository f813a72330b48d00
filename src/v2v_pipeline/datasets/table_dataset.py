"""Versioned parquet tables and JSON documents, written atomically (temp file, then rename)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractVersionedDataset, DatasetError
from kedro.io.core import Version

from v2v_pipeline.storage import atomic_path, write_json_atomic


class _FileDataset(AbstractVersionedDataset):
    def __init__(self, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(PurePosixPath(filepath), version)
        self.metadata = metadata

    def _exists(self) -> bool:
        try:
            return Path(self._get_load_path()).is_file()
        except DatasetError:
            return False

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}


class TableDataset(_FileDataset):
    """A pandas DataFrame as parquet (no index); a killed run never leaves a truncated newest version."""

    def load(self) -> pd.DataFrame:
        return pd.read_parquet(Path(self._get_load_path()))

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"TableDataset({self._filepath}) saves a pandas DataFrame, not {type(data).__name__}")
        with atomic_path(Path(self._get_save_path()), suffix=".parquet") as tmp:
            data.to_parquet(tmp, index=False)


class JSONDataset(_FileDataset):
    """A JSON document (sorted keys, so equal content gives equal bytes)."""

    def load(self) -> Any:
        return json.loads(Path(self._get_load_path()).read_text())

    def save(self, data: Any) -> None:
        write_json_atomic(Path(self._get_save_path()), data)
