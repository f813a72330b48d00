"""A versioned Kedro dataset for PyTorch checkpoints (``torch.save`` of a dict), written atomically."""

from __future__ import annotations

from pathlib import Path

import torch
from kedro.io import DatasetError
from kedro.io.core import VersionNotFoundError

from v2v_pipeline.datasets.base import VersionedFileDataset
from v2v_pipeline.datasets.report_datasets import LatestFileDataset
from v2v_pipeline.storage import atomic_path


class TorchCheckpointDataset(VersionedFileDataset):
    """Saves/loads a checkpoint dict (state dicts, config, step). Loads on the CPU with
    ``weights_only=True``, so a checkpoint cannot run code when it is opened."""

    def load(self) -> dict:
        path = self._local_load_path()
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as e:  # noqa: BLE001
            raise DatasetError(f"checkpoint {path} cannot be read ({e}); it is corrupt, delete it and retrain") from e

    def save(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise DatasetError(f"TorchCheckpointDataset saves a dict, not {type(data).__name__}")

        def write(path: Path) -> None:
            # through a file object: torch.save names the zip records after a path's (random temp) name
            with atomic_path(path, suffix=".pt") as tmp, open(tmp, "wb") as f:
                torch.save(data, f)

        self._write(write)


class ModelRef:
    """A lazily opened model file: ``path`` is the newest version (or the one ``--load-versions``
    names: ``version``), or None when none was trained yet."""

    def __init__(self, path: Path | None, catalog_path: str, version: str | None = None):
        self.path = path
        self.catalog_path = catalog_path
        self.version = version

    def __repr__(self) -> str:
        return f"ModelRef({self.path or 'none: ' + self.catalog_path})"


class ModelRefDataset(LatestFileDataset):
    """Like :class:`LatestFileDataset`, but loads a :class:`ModelRef` (the newest model file, not opened)."""

    def load(self) -> ModelRef:  # type: ignore[override]
        return ModelRef(super().load(), str(self._path))


class ModelFileDataset(TorchCheckpointDataset):
    """``trained_model``: saved like :class:`TorchCheckpointDataset`; loaded as a :class:`ModelRef`
    (not opened), so transfer / evaluate can use another model (a path, ``runs:/``, ``models:/``)
    and still run when nothing was trained. The version is Kedro's: the newest, or the one
    ``kedro run --load-versions=trained_model:<version>`` names."""

    def load(self) -> ModelRef:  # type: ignore[override]
        explicit = self._version.load if self._version else None
        try:
            path = self.load_path
        except VersionNotFoundError:
            return ModelRef(None, str(self._filepath))
        if not path.is_file():
            try:
                have = self.list_versions(full_path=False)[:5]
            except DatasetError:
                have = []
            raise DatasetError(f"trained_model version {explicit!r} does not exist ({path}); "
                               f"newest versions: {', '.join(have) or 'none'}")
        return ModelRef(path, str(self._filepath), explicit)
