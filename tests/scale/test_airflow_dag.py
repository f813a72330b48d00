"""The committed Airflow DAG is what kedro-airflow generates from the data pipeline today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytest.importorskip("kedro_airflow")


def test_committed_dag_matches_the_generator(tmp_path):
    from v2v_pipeline.pipeline_registry import register_pipelines

    env = {**os.environ, "AIRFLOW_DAG_DIR": str(tmp_path), "KEDRO_DISABLE_TELEMETRY": "true",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(["bash", str(PROJECT_ROOT / "deploy/airflow/generate.sh")], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    generated = (tmp_path / "v2v_pipeline_data_dag.py").read_text()
    committed = (PROJECT_ROOT / "deploy/airflow/dags/v2v_pipeline_data_dag.py").read_text()
    assert generated == committed, "run deploy/airflow/generate.sh and commit the DAG"
    compile(generated, "dag.py", "exec")
    for node in register_pipelines()["data"].nodes:  # one Airflow task per node
        assert f'node_names=["{node.name}"]' in generated
    assert "max_active_runs=1" in generated
