"""Kedro datasets of the report (the HTML page) and optional "newest file" inputs."""

from __future__ import annotations

import contextlib
import os
from copy import deepcopy
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import Version, get_filepath_str, get_protocol_and_path

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.datasets.mlflow_logging import MlflowArtifactLogging
from v2v_pipeline.report import HtmlReport
from v2v_pipeline.storage import local_copy


class HtmlReportDataset(MlflowArtifactLogging, VersionedFileDataset):
    """Saves an :class:`HtmlReport` (video links made relative to the file's folder); loads the HTML text.

    With ``mlflow_artifact_path`` the page is logged to the MLflow run too. On a remote file
    system the page is rendered to a local temp file and uploaded (its video links then point
    at the local files it was built from).
    """

    def __init__(self, filepath: str, version: Version | None = None, mlflow_artifact_path: str | None = None,
                 credentials: dict | None = None, fs_args: dict | None = None, metadata: dict | None = None):
        super().__init__(filepath, version, credentials, fs_args, metadata)
        self._mlflow_artifact_path = mlflow_artifact_path

    def load(self) -> str:
        if not self._exists():
            raise DatasetError(f"report {self._display(self.load_uri)} does not exist; run `kedro run --pipelines=evaluate`")
        with self._open() as f:
            return f.read().decode("utf-8")

    def save(self, data: HtmlReport) -> None:
        if not isinstance(data, HtmlReport):
            raise DatasetError(f"HtmlReportDataset saves an HtmlReport, not {type(data).__name__}")
        self._write(data.write)

    def _after_write(self, local: Path) -> None:
        self._log_to_mlflow(local)


class LatestFileDataset(AbstractDataset[Any, "Path | None"]):
    """An optional input: loads the path of the newest version of a versioned file, or None if there is none.

    Saving does nothing. A node that writes the file may list this dataset as an extra output
    so that, in a run of several pipelines, the nodes reading it run after that node; a
    pipeline run on its own then just finds the newest file, or None.

    With ``versioned: true`` in the catalog the version this run saved (the session's save
    version) is preferred over the newest one, so a concurrent run's file is never picked up,
    and ``--load-versions=<name>:<version>`` pins one. On a remote file system the path is a
    cached local copy.
    """

    def __init__(self, filepath: str, version: Version | None = None, credentials: dict | None = None,
                 fs_args: dict | None = None, metadata: dict | None = None):
        protocol, path = get_protocol_and_path(str(filepath))
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **{**deepcopy(credentials or {}), **deepcopy(fs_args or {})})
        self._path = PurePosixPath(path)  # not `_filepath`: it writes nothing for the manifest hook to hash
        self._version = version
        self.metadata = metadata

    def _versioned(self, version: str) -> str:
        return get_filepath_str(self._path / version / self._path.name, self._protocol)

    def load(self) -> Path | None:
        if self._version is not None and self._version.load:
            pinned = self._versioned(self._version.load)
            if not self._fs.exists(pinned):
                raise DatasetError(f"version {self._version.load} of {self._path} does not exist")
            return local_copy(self._fs, pinned)
        if self._version is not None and self._version.save and self._fs.exists(self._versioned(self._version.save)):
            return local_copy(self._fs, self._versioned(self._version.save))
        # Kedro's version folders are UTC timestamps (YYYY-MM-DDThh.mm.ss.sssZ): newest sorts last
        with contextlib.suppress(Exception):
            self._fs.invalidate_cache(get_filepath_str(self._path, self._protocol))
        pattern = get_filepath_str(self._path / "*" / self._path.name, self._protocol)
        versions = sorted(p for p in self._fs.glob(pattern) if self._fs.isfile(p))
        if not versions:
            return None
        newest = local_copy(self._fs, versions[-1])
        if self._protocol == "file" and not Path(self._path).is_absolute():
            newest = Path(os.path.relpath(newest))  # as the catalog names it (relative to the project)
        return newest

    def save(self, data: Any) -> None:
        return None

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._path), "protocol": self._protocol}
