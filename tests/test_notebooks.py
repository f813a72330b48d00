"""The notebooks, executed as notebooks (nbmake: a Jupyter kernel runs every cell) against an MLflow store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_runs import store  # noqa: F401 - the runs the notebook compares (a module-scoped fixture)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _outputs(nb: dict) -> str:
    text = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text.append("".join(out.get("text", [])) + "".join(out.get("data", {}).get("text/plain", [])))
    return "\n".join(text)


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        assert nb["nbformat"] == 4, path
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name}: clear the outputs"


@pytest.mark.slow
def test_compare_runs_notebook_executes_with_nbmake(store, tmp_path):  # noqa: F811
    uri, ids = store
    work = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, work)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-m", "pytest", "--nbmake", "--overwrite", "-p", "no:cacheprovider", "-q",
                           "--rootdir", str(tmp_path), str(work)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    out = _outputs(json.loads((work / "compare_runs.ipynb").read_text()))  # executed, outputs written back
    assert f"best by eval/ssim_person_mean (max): {ids['B']}" in out
    assert f"transfer.model=runs:/{ids['A']}" in out
