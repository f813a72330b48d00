"""The data pipeline on the demo gives the same artifacts (manifest SHA-256s) whatever the
storage (local disk, memory://) and the runner (sequential, ParallelRunner, Dask LocalCluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from tests.conftest import PROJECT_ROOT
from tests.scale.conftest import SMALL, hashes

DATA_ARTIFACTS = {"video_metadata", "frame_index", "frames", "keypoints", "label_frames", "label_maps",
                  "person_masks", "flows", "normalization", "normalized_keypoints", "normalized_label_frames",
                  "normalized_label_maps", "dataset_archive", "dataset_frames", "dataset_sequences",
                  "dataset_manifest", "flow_preview", "label_contact_sheet", "normalization_plot"}


def logged_artifacts(root, run_started_after: float = 0.0) -> set[str]:
    """Artifacts of the newest MLflow run of the project (and that it finished)."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("v2v_pipeline")
    (run,) = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    assert run.info.status == "FINISHED"
    found = set()
    for folder in ("flow", "label", "normalize"):
        found |= {a.path for a in client.list_artifacts(run.info.run_id, folder)}
    return found


ARTIFACTS_LOGGED = {"flow/flow_preview.png", "label/label_contact_sheet.png", "normalize/normalization.png"}


def test_reference_manifest_covers_the_data_chain(reference):
    assert DATA_ARTIFACTS <= set(reference["artifacts"])


@pytest.mark.slow
def test_memory_filesystem_gives_the_same_artifacts(project, reference):
    """Every file artifact of the catalog on memory:// (fsspec, in-process): same bytes as on the disk."""
    import fsspec

    from v2v_pipeline.datasets.remote_catalog import remote_catalog

    base = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    root = f"memory:///{uuid.uuid4().hex}/"
    catalog = remote_catalog(base, root)  # what `python -m v2v_pipeline.datasets.remote_catalog URL` writes
    assert {"frames", "flow_preview", "dataset_archive"} <= set(catalog)
    project.add_env("memory", catalog)
    manifest = project.run("data", env="memory")
    assert hashes(manifest) == hashes(reference)
    fs = fsspec.filesystem("memory")
    written = fs.glob(root.replace("memory://", "") + "data/**/*.zip")
    assert not (project.root / "memory:").exists()
    assert any("/frames.zip/" in p for p in written) and any("/dataset.zip/" in p for p in written)
    assert all(manifest["artifacts"][n]["filepath"].startswith("memory://") for n in ("frames", "flows"))


def _kedro(project, *args: str) -> subprocess.CompletedProcess:
    """`kedro run ...` in the project, as a user runs it (a fresh process: ParallelRunner forks its
    workers, and this test process already holds a MediaPipe graph, which cannot be forked)."""
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, "-m", "kedro", "run", *args], cwd=project.root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _new_run(project, before: set) -> str:
    (new_run,) = set((project.root / "data/08_reporting/runs").iterdir()) - before
    return new_run.name


@pytest.mark.slow
def test_parallel_runner_gives_the_same_artifacts(project, two_sources):
    """`kedro run --runner=ParallelRunner --pipelines=data` with two source videos: the videos'
    namespaces run in parallel workers, and every artifact (the dataset manifest's SHA-256 included)
    equals the sequential run's."""
    assert {"source.frames", "source_late.frames", "source_late.normalized_label_maps"} <= set(two_sources["artifacts"])
    runs = project.root / "data/08_reporting/runs"
    before = set(runs.iterdir())
    _kedro(project, "--runner=ParallelRunner", "--pipelines=data", "--env=two")
    manifest = project.manifest(_new_run(project, before))
    assert hashes(manifest) == hashes(two_sources)
    assert ARTIFACTS_LOGGED <= logged_artifacts(project.root)  # logged from the worker processes


@pytest.mark.slow
def test_namespaces_option_runs_one_video(project, two_sources):
    """`kedro run --namespaces=source_late` runs that video's nodes only (ingest, label, normalize
    to the target's stored labels) and saves nothing of the other videos nor the combined datasets."""
    runs = project.root / "data/08_reporting/runs"
    before = set(runs.iterdir())
    proc = _kedro(project, "--pipelines=data", "--env=two", "--namespaces=source_late")
    manifest = project.manifest(_new_run(project, before))
    assert set(manifest["artifacts"]) == {f"source_late.{name}" for name in (
        "video_metadata", "frame_index", "frames", "keypoints", "label_frames", "label_maps", "person_masks",
        "label_summary", "normalization", "normalized_keypoints", "normalized_label_frames", "normalized_label_maps",
        "normalization_plot")}
    reference = hashes(two_sources)
    assert hashes(manifest) == {k: reference[k] for k in manifest["artifacts"]}  # the same video, the same bytes
    log = proc.stdout + proc.stderr
    assert "source_late.normalize_video" in log and "target.label_video" not in log and "gather_" not in log


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_artifacts(project, reference):
    distributed = pytest.importorskip("distributed")
    from v2v_pipeline.runners import DaskRunner

    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        runner = DaskRunner(client_args={"address": cluster.scheduler_address})
        try:
            manifest = project.run("data", runner=runner)
            workers = runner._client.run(lambda: __import__("os").getpid())
        finally:
            runner._client.close()
    assert len(workers) == 2
    assert hashes(manifest) == hashes(reference)
    assert ARTIFACTS_LOGGED <= logged_artifacts(project.root)  # logged from the Dask workers


TINY_TRAIN = {"train": {"network": {"ngf": 8, "n_blocks": 1, "ndf": 8, "num_D": 1}, "max_steps": 2, "log_every": 1,
                        "val_every": 100, "checkpoint_every": 100, "num_workers": 0, "device": "cpu", "threads": 1}}


@pytest.mark.slow
def test_two_node_torchrun_as_documented(project, reference):
    """docs/scaling.md's multi-node commands, with two 'nodes' on this machine (localhost, Gloo on the CPU)."""
    import socket

    project.add_env("tiny", {})
    (project.root / "conf/tiny/parameters_tiny.yml").write_text(yaml.safe_dump(TINY_TRAIN))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    def node(rank: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes=2", f"--node_rank={rank}",
                                 "--nproc_per_node=1", "--master_addr=127.0.0.1", f"--master_port={port}",
                                 "-m", "v2v_pipeline.train_ddp", "--env", "tiny"],
                                cwd=project.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    nodes = [node(1), node(0)]
    logs = [p.communicate(timeout=600)[0] for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], logs[1][-3000:] + logs[0][-3000:]
    assert "DDP: rank 1 of 2 on cpu (gloo)" in logs[0] and "DDP: rank 0 of 2 on cpu (gloo)" in logs[1]
    manifest = json.loads((project.root / "data/08_reporting/manifest_train.json").read_text())
    assert "trained_model" in manifest["artifacts"]  # rank 0 ran the Kedro train pipeline


def _cli(project, *args: str) -> subprocess.Popen:
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.Popen([sys.executable, "-m", "kedro", "run", *args], cwd=project.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_two_concurrent_data_runs_equal_the_same_runs_one_after_the_other(project, reference):
    """Issue 13: two `kedro run --pipelines=data` started together in one project (30 and 40 frames)
    keep their outputs apart: each node reads its own run's versions, each run has its own manifest."""
    project.add_env("small", {})
    (project.root / "conf/small/parameters_small.yml").write_text(yaml.safe_dump(SMALL))
    runs = project.root / "data/08_reporting/runs"

    def manifests(procs) -> list[dict]:
        before = set(runs.iterdir())
        outs = [p.communicate(timeout=900)[0] for p in procs]
        assert [p.returncode for p in procs] == [0] * len(procs), "\n".join(o[-2000:] for o in outs)
        new = sorted(set(runs.iterdir()) - before)
        found = [project.manifest(r.name, "data") for r in new]
        return sorted((hashes(m) for m in found), key=lambda h: h["frame_index"])

    args = [("--pipelines=data", "--env=small", f"--params=ingest.max_frames={n}") for n in (30, 40)]
    concurrent = manifests([_cli(project, *a) for a in args])
    sequential = [manifests([_cli(project, *a)])[0] for a in args]
    assert concurrent == sorted(sequential, key=lambda h: h["frame_index"])
    assert concurrent[0]["dataset_archive"] != concurrent[1]["dataset_archive"]  # two runs, not one run's output twice
    assert hashes(reference)["dataset_archive"] in {c["dataset_archive"] for c in concurrent}  # 40 frames = reference
