"""Subprocess for test_interrupt: run `ingest` in a scratch project whose frame extraction is slowed
down (so that the test can send a signal in the middle of it) and writes a marker when it started."""

import os
import sys
import time
from pathlib import Path

root, video, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
os.chdir(root)

import v2v_pipeline.video.ingest as ingest  # noqa: E402
from kedro.framework.project import configure_project  # noqa: E402
from kedro.framework.session import KedroSession  # noqa: E402
from kedro.framework.startup import bootstrap_project  # noqa: E402

real_fit = ingest.fit_to_size


def slow_fit(*args, **kwargs):
    marker.touch()
    time.sleep(0.2)
    return real_fit(*args, **kwargs)


ingest.fit_to_size = slow_fit
bootstrap_project(root)
configure_project("v2v_pipeline")
params = {"ingest": {"target": {"name": "clip", "path": video}, "sources": [], "size": [64, 48]}}
with KedroSession.create(project_path=root, runtime_params=params) as session:
    session.run(pipeline_names=["ingest"])
