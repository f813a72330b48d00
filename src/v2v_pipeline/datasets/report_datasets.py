"""Kedro datasets of the report (the HTML page) and optional "newest file" inputs."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from v2v_pipeline.report import HtmlReport


class HtmlReportDataset(AbstractDataset[HtmlReport, str]):
    """Saves an :class:`HtmlReport` (video links made relative to the file's folder); loads the HTML text.

    Wrap it in kedro-mlflow's ``MlflowArtifactDataset`` to log the page to the MLflow run too.
    """

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> str:
        path = Path(self._filepath)
        if not path.is_file():
            raise DatasetError(f"report {path} does not exist; run `kedro run --pipelines=evaluate`")
        return path.read_text(encoding="utf-8")

    def save(self, data: HtmlReport) -> None:
        if not isinstance(data, HtmlReport):
            raise DatasetError(f"HtmlReportDataset saves an HtmlReport, not {type(data).__name__}")
        data.write(Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class LatestFileDataset(AbstractDataset[Any, "Path | None"]):
    """An optional input: loads the path of the newest version of a versioned file, or None if there is none.

    Saving does nothing. A node that writes the file may list this dataset as an extra output
    so that, in a run of several pipelines, the nodes reading it run after that node; a
    pipeline run on its own then just finds the newest file on disk, or None.
    """

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._path = PurePosixPath(filepath)  # not `_filepath`: it writes nothing for the manifest hook to hash
        self.metadata = metadata

    def load(self) -> Path | None:
        # Kedro's version folders are UTC timestamps (YYYY-MM-DDThh.mm.ss.sssZ): newest sorts last
        path = Path(self._path)
        versions = sorted(p for p in path.glob(f"*/{path.name}") if p.is_file()) if path.is_dir() else []
        return versions[-1] if versions else None

    def save(self, data: Any) -> None:
        return None

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._path)}
