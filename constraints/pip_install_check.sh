#!/usr/bin/env bash
# `make pip-install-check`: a fresh copy of the committed tree, a new venv, plain `pip install .`,
# `pip check`, then `kedro run` (the demo) with that venv. Leaves everything under $WORK.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${WORK:-$(mktemp -d /tmp/v2v-pip-install-check.XXXXXX)}"
PYTHON="${PYTHON:-python3.11}"
export KEDRO_DISABLE_TELEMETRY=true
echo "pip-install-check in $WORK"
git -C "$ROOT" archive --format=tar HEAD | (mkdir -p "$WORK/project" && tar -x -C "$WORK/project")
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet --upgrade pip==26.3
( cd "$WORK/project" && "$WORK/venv/bin/pip" install --quiet . )
"$WORK/venv/bin/pip" check
( cd "$WORK/project" && "$WORK/venv/bin/kedro" run )
ls "$WORK"/project/data/07_model_output/transfer.mp4/*/transfer.mp4
echo "pip-install-check: plain pip install . and the demo passed ($WORK)"
