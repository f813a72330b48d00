"""A scratch Kedro project (like tests/conftest.py's ``kedro_project``) shared by the module's tests,
so the reference sequential run of the data pipeline on the demo is made once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

SMALL = {"ingest": {"size": [128, 64], "max_frames": 40}}  # the demo videos, small and short
# two source videos: the demo source, and the same clip from 1 s on (another window, another name)
TWO_SOURCES = {"ingest": {**SMALL["ingest"], "sources": [
    {"name": "source", "path": "demo:source"}, {"name": "source_late", "path": "demo:source", "start": 1.0}]}}


class Project:
    def __init__(self, root: Path):
        self.root = root

    def run(self, pipeline: str = "data", env: str | None = None, runner=None, params: dict | None = None):
        """Run ``pipeline`` in-process (KedroSession); returns the run's own manifest."""
        from kedro.framework.session import KedroSession

        with KedroSession.create(project_path=self.root, env=env, runtime_params=params or SMALL) as session:
            session.run(pipeline_names=[pipeline], runner=runner)
            run_id = session.session_id
        return self.manifest(run_id, pipeline)

    def manifest(self, run_id: str, pipeline: str = "data") -> dict:
        return json.loads((self.root / "data/08_reporting/runs" / run_id / f"manifest_{pipeline}.json").read_text())

    def add_env(self, name: str, catalog: dict) -> None:
        (self.root / "conf" / name).mkdir(exist_ok=True)
        (self.root / "conf" / name / "catalog.yml").write_text(yaml.safe_dump(catalog, sort_keys=False))


def hashes(manifest: dict) -> dict[str, str]:
    return {name: a["sha256"] for name, a in manifest["artifacts"].items()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    from kedro.framework.project import configure_project
    from kedro.framework.startup import bootstrap_project

    root = tmp_path_factory.mktemp("scale") / "project"
    root.mkdir()
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    (root / "conf" / "local" / "mlflow.yml").write_text(
        f"server:\n  mlflow_tracking_uri: sqlite:///{root / 'mlflow.db'}\n"
    )
    (root / "src").mkdir()
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    bootstrap_project(root)
    configure_project("v2v_pipeline")
    yield Project(root)
    mp.undo()


@pytest.fixture(scope="module")
def reference(project) -> dict:
    """The manifest of a sequential `kedro run --pipelines=data` on the local disk."""
    return project.run("data")


@pytest.fixture(scope="module")
def two_sources(project) -> dict:
    """The manifest of a sequential data run with two source videos (environment ``two``)."""
    project.add_env("two", {})
    (project.root / "conf/two/parameters_ingest.yml").write_text(yaml.safe_dump(TWO_SOURCES))
    return project.run("data", env="two", params={})
