"""Versioned parquet tables and JSON documents, written atomically (temp file, then rename)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.storage import atomic_path, write_json_atomic


class TableDataset(VersionedFileDataset):
    """A pandas DataFrame as parquet (no index); a killed run never leaves a truncated newest version."""

    def load(self) -> pd.DataFrame:
        return pd.read_parquet(self.load_path)

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"TableDataset({self._filepath}) saves a pandas DataFrame, not {type(data).__name__}")
        with atomic_path(self.save_path, suffix=".parquet") as tmp:
            data.to_parquet(tmp, index=False)


class JSONDataset(VersionedFileDataset):
    """A JSON document (sorted keys, so equal content gives equal bytes)."""

    def load(self) -> Any:
        return json.loads(self.load_path.read_text())

    def save(self, data: Any) -> None:
        write_json_atomic(self.save_path, data)
