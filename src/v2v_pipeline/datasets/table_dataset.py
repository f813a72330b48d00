"""Versioned parquet tables and JSON documents, written atomically (temp file, then rename or upload)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import DatasetError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.storage import atomic_path, write_json_atomic


class TableDataset(VersionedFileDataset):
    """A pandas DataFrame as parquet (no index); a killed run never leaves a truncated newest version."""

    def load(self) -> pd.DataFrame:
        with self._open() as f:
            return pd.read_parquet(f)

    def save(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(f"TableDataset({self._filepath}) saves a pandas DataFrame, not {type(data).__name__}")

        def write(path: Path) -> None:
            with atomic_path(path, suffix=".parquet") as tmp:
                data.to_parquet(tmp, index=False)

        self._write(write)


class JSONDataset(VersionedFileDataset):
    """A JSON document (sorted keys, so equal content gives equal bytes)."""

    def load(self) -> Any:
        with self._open() as f:
            return json.loads(f.read())

    def save(self, data: Any) -> None:
        self._write(lambda path: write_json_atomic(path, data))
