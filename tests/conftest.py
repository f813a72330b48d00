"""Shared fixtures: real footage location, and running Kedro pipelines in a scratch project."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (PROJECT_ROOT / ".." / "shared" / "data").resolve()


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real footage {path} not found (../shared/data is only present on development machines)")
    return path


@pytest.fixture
def kedro_project(tmp_path, monkeypatch):
    """A scratch copy of this project's configuration; returns a function that runs a pipeline in it."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    # an absolute tracking URI: MLflow caches stores per URI string, so a relative
    # sqlite path would keep pointing at the first test's project
    (root / "conf" / "local" / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: sqlite:///{root / 'mlflow.db'}\n"
    )
    (root / "src").mkdir()  # the package itself is installed (editable) in the venv
    monkeypatch.chdir(root)
    bootstrap_project(root)
    configure_project("v2v_pipeline")

    def run(pipeline: str | None = None, env: str | None = None, params: dict | None = None, **kwargs):
        with KedroSession.create(project_path=root, env=env, runtime_params=params or {}) as session:
            return session.run(pipeline_names=[pipeline] if pipeline else None, **kwargs)

    run.root = root
    return run


def make_test_video(path: Path, n_frames: int = 30, size: tuple[int, int] = (96, 64), fps: float = 10.0) -> Path:
    """A small H.264 clip of a moving gradient square, for tests that need a video file."""
    import numpy as np

    from v2v_pipeline.video.io import write_video

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]

    def frames():
        for i in range(n_frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[..., 0] = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
            img[..., 1] = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
            x0 = (i * 3) % (w - 16)
            img[h // 4 : h // 4 + 16, x0 : x0 + 16] = (255, 255, 255)
            yield img

    write_video(path, frames(), fps)
    return path
