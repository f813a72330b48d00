#!/usr/bin/env bash
# Regenerate the Airflow DAG of the data pipeline with kedro-airflow (pip install -e ".[airflow]").
#   deploy/airflow/generate.sh [PIPELINE] [ENV]        (defaults: data, local)
# One Airflow task per Kedro node (grouped so that nodes joined by in-memory datasets share a task).
# Each task is its own Kedro session, so a task loads the newest version its upstream task saved:
# the DAG allows one active run at a time (max_active_runs=1) so that two runs never interleave.
set -euo pipefail
cd "$(dirname "$0")/../.."
pipeline="${1:-data}"
env="${2:-local}"
target="${AIRFLOW_DAG_DIR:-deploy/airflow/dags}"
kedro airflow create --pipelines="$pipeline" --env="$env" --group-by=memory --target-dir="$target"
sed -i 's/max_active_runs=3,/max_active_runs=1,  # tasks load the newest version of their inputs: one run at a time/' \
    "$target/v2v_pipeline_${pipeline}_dag.py"
