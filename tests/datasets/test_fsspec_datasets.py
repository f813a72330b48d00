"""The project's datasets on any fsspec file system: same bytes, atomic saves, Kedro versioning,
the version a run saved is the one it loads back (concurrent runs), and the catalog pickles."""

from __future__ import annotations

import hashlib
import pickle
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError
from kedro.io.core import Version

from tests.conftest import PROJECT_ROOT
from v2v_pipeline.datasets import (
    ArchiveDataset,
    HtmlReportDataset,
    ImageDataset,
    JSONDataset,
    LatestFileDataset,
    TableDataset,
    TorchCheckpointDataset,
    VideoDataset,
)
from v2v_pipeline.datasets.run_outputs import saved_by_run, saved_location
from v2v_pipeline.report import HtmlReport
from v2v_pipeline.storage import sha256_file
from v2v_pipeline.video.io import VideoContent, iter_frames

FRAME = (np.arange(16 * 24 * 3) % 251).astype(np.uint8).reshape(16, 24, 3)
TABLE = pd.DataFrame({"frame": [0, 1, 2], "x": [0.5, 1.5, 2.5]})


@pytest.fixture(params=["local", "file", "memory"])
def root(request, tmp_path, monkeypatch) -> str:
    monkeypatch.chdir(tmp_path)
    return {"local": "data", "file": f"file://{tmp_path}/abs", "memory": f"memory:///{uuid.uuid4().hex}/data"}[request.param]


def _artifacts(root: str, version: Version | None) -> dict:
    return {
        "table": (TableDataset(f"{root}/t.parquet", version), TABLE),
        "json": (JSONDataset(f"{root}/m.json", version), {"b": [1, 2], "a": 1}),
        "archive": (ArchiveDataset(f"{root}/a.zip", version), {"v/000000": FRAME, "v/000001": FRAME[::-1].copy()}),
        "image": (ImageDataset(f"{root}/i.png", version), FRAME),
        "torch": (TorchCheckpointDataset(f"{root}/g.pt", version), {"step": 3}),
    }


def _sha(ds) -> str:
    uri = saved_location(ds)
    assert uri is not None, f"{ds} saved nothing"
    return sha256_file(uri)


REFERENCE: dict[str, str] = {}


@pytest.mark.parametrize("versioned", [True, False])
def test_save_load_roundtrip_and_same_bytes_on_every_protocol(root, versioned, tmp_path):
    version = Version(None, None) if versioned else None
    for name, (ds, data) in _artifacts(root, version).items():
        ds.save(data)
        loaded = ds.load()
        if name == "table":
            pd.testing.assert_frame_equal(loaded, TABLE)
        elif name == "archive":
            assert Path(loaded.path).is_file()  # a local file (a cached copy off the local disk)
            assert np.array_equal(loaded.read("v/000001"), FRAME[::-1])
        elif name == "image":
            assert np.array_equal(loaded, FRAME)
        else:
            assert loaded == data
        digest = _sha(ds)
        # deterministic: every protocol and every run stores the same bytes
        assert REFERENCE.setdefault(name, digest) == digest, name
        if versioned:
            assert len(ds.list_versions()) == 1
            again = type(ds)(ds._fs.unstrip_protocol(str(ds._filepath)) if not ds.is_local else str(ds._filepath),
                             Version(None, Path(saved_location(ds)).parent.name))
            with pytest.raises(DatasetError, match="must not exist"):  # a saved version is never overwritten
                again.save(data)


def test_remote_paths_are_not_folders_on_the_local_disk(tmp_path, monkeypatch):
    """The bug of issue 15: s3://-like paths used to become a local folder named `s3:`."""
    monkeypatch.chdir(tmp_path)
    base = f"memory:///{uuid.uuid4().hex}"
    TableDataset(f"{base}/frame_index.parquet", Version(None, None)).save(TABLE)
    assert not any(tmp_path.iterdir())
    assert fsspec.filesystem("memory").glob(f"{base[len('memory://'):]}/frame_index.parquet/*/frame_index.parquet")


class _Boom(RuntimeError):
    pass


def _failing_archive():
    class Content:
        def write_to(self, writer):
            writer.add_image("v/000000", FRAME)
            raise _Boom("killed while writing")

    return Content()


def test_failed_save_leaves_nothing(root):
    fs, _ = fsspec.core.url_to_fs(root if "://" in root else str(Path(root).resolve()))
    ds = ArchiveDataset(f"{root}/a.zip", Version(None, None))
    with pytest.raises(Exception, match="killed while writing"):
        ds.save(_failing_archive())
    assert ds.saved_uri() is None
    assert not ds.exists()
    base = root.split("://", 1)[-1] if "://" in root else str(Path(root).resolve())
    leftovers = fs.find(base) if fs.exists(base) else []
    assert leftovers == [], leftovers


def test_video_is_encoded_locally_and_uploaded(tmp_path):
    root = f"memory:///{uuid.uuid4().hex}"
    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(5)]
    ds = VideoDataset(f"{root}/out.mp4", Version(None, None))
    ds.save(VideoContent(lambda: iter(frames), 10.0))
    local = ds.load()
    assert local.is_file() and local.suffix == ".mp4"
    assert len(list(iter_frames(local))) == 5
    assert sha256_file(local) == sha256_file(fsspec.filesystem("memory").unstrip_protocol(ds.saved_uri()))
    # a local copy of a source video is re-used, not downloaded again
    assert VideoDataset(f"{root}/out.mp4", Version(None, None)).load() == local


def test_html_report_on_memory():
    ds = HtmlReportDataset(f"memory:///{uuid.uuid4().hex}/report.html")
    with pytest.raises(DatasetError, match="does not exist"):
        ds.load()
    report = HtmlReport("title")
    ds.save(report)
    assert "<h1>title</h1>" in ds.load()


# ---------------------------------------------------------------- concurrent runs

def _run(root: str, session: str, rows: int, started: threading.Barrier | None = None) -> int:
    """One 'run': save a table at its session's save version, wait for the other run to save, load it back."""
    ds = TableDataset(f"{root}/frame_index.parquet", Version(None, session))
    ds.save(pd.DataFrame({"frame": range(rows)}))
    if started is not None:
        started.wait(timeout=30)
    return len(TableDataset(f"{root}/frame_index.parquet", Version(None, session)).load()), len(ds.load())


@pytest.mark.parametrize("protocol", ["local", "memory"])
def test_concurrent_runs_in_threads_load_their_own_version(tmp_path, protocol):
    root = str(tmp_path / "data") if protocol == "local" else f"memory:///{uuid.uuid4().hex}/data"
    barrier = threading.Barrier(2)
    results = {}

    def go(session, rows):
        results[session] = _run(root, session, rows, barrier)

    threads = [threading.Thread(target=go, args=("2026-01-01T00.00.00.000Z", 16)),
               threading.Thread(target=go, args=("2026-01-01T00.00.01.000Z", 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # the older run does not pick up the newer run's table; both equal the same runs made one after the other
    assert results == {"2026-01-01T00.00.00.000Z": (16, 16), "2026-01-01T00.00.01.000Z": (4, 4)}
    sequential = {s: _run(str(tmp_path / "seq"), s, r)
                  for s, r in [("2026-01-01T00.00.00.000Z", 16), ("2026-01-01T00.00.01.000Z", 4)]}
    assert sequential == results
    # a run that did not save the dataset still gets the newest one
    assert len(TableDataset(f"{root}/frame_index.parquet", Version(None, "2026-01-02T00.00.00.000Z")).load()) == 4


def _process_run(args) -> tuple[int, int]:
    root, session, rows, delay = args
    import time

    ds = TableDataset(f"{root}/frame_index.parquet", Version(None, session))
    ds.save(pd.DataFrame({"frame": range(rows)}))
    time.sleep(delay)  # the other process saves meanwhile
    return len(TableDataset(f"{root}/frame_index.parquet", Version(None, session)).load()), len(ds.load())


def test_concurrent_runs_in_processes_load_their_own_version(tmp_path):
    root = str(tmp_path / "data")
    jobs = [(root, "2026-01-01T00.00.00.000Z", 16, 1.5), (root, "2026-01-01T00.00.01.000Z", 4, 0.0)]
    with ProcessPoolExecutor(2, mp_context=get_context("fork")) as pool:
        results = list(pool.map(_process_run, jobs))
    assert results == [(16, 16), (4, 4)]


def test_latest_file_prefers_the_version_this_run_saved(tmp_path):
    root = tmp_path / "m.zip"
    for v in ("2026-01-01T00.00.00.000Z", "2026-01-01T00.00.05.000Z"):
        (root / v).mkdir(parents=True)
        (root / v / "m.zip").write_bytes(v.encode())
    assert LatestFileDataset(str(root)).load().read_bytes().startswith(b"2026-01-01T00.00.05")
    mine = LatestFileDataset(str(root), Version(None, "2026-01-01T00.00.00.000Z")).load()
    assert mine.read_bytes() == b"2026-01-01T00.00.00.000Z"
    pinned = LatestFileDataset(str(root), Version("2026-01-01T00.00.05.000Z", "x")).load()
    assert pinned.read_bytes() == b"2026-01-01T00.00.05.000Z"
    assert LatestFileDataset(str(tmp_path / "none.zip")).load() is None


# ---------------------------------------------------------------- multiprocessing / MLflow

def test_whole_catalog_is_picklable_for_parallel_runner(tmp_path, monkeypatch):
    """Kedro's ParallelRunner refuses a catalog with any dataset it cannot pickle."""
    from kedro.io import SharedMemoryDataCatalog

    monkeypatch.chdir(tmp_path)
    config = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    catalog = SharedMemoryDataCatalog.from_config(config, save_version="2026-01-01T00.00.00.000Z")
    catalog.validate_catalog()  # raises AttributeError naming the datasets that do not pickle
    for name in ("flow_preview", "label_contact_sheet", "evaluation_report", "training_samples"):
        assert pickle.loads(pickle.dumps(catalog.get(name)))._mlflow_artifact_path
    for name in ("target.frames", "source.label_summary", "source.normalization_plot"):  # dataset factories
        assert "/videos/" in str(pickle.loads(pickle.dumps(catalog.get(name)))._filepath)


def test_artifact_is_logged_to_the_run_it_was_sent_from(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        experiment = mlflow.set_experiment("datasets-test")  # not the experiment an earlier Kedro run made active
        ds = ImageDataset(str(tmp_path / "sheet.png"), mlflow_artifact_path="label")
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            ds.save(FRAME)  # in the process of the active run
            sent = pickle.dumps(ds)  # as ParallelRunner / Dask send it to a worker
        worker_copy = pickle.loads(sent)
        worker_copy._filepath = worker_copy._filepath.with_name("sheet2.png")
        assert mlflow.active_run() is None  # like a worker process: no active run
        worker_copy.save(FRAME)
        names = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(run.info.run_id, "label")}
    finally:
        mlflow.set_tracking_uri(previous)
    assert names == {"label/sheet.png", "label/sheet2.png"}


def test_saved_by_run_finds_only_this_runs_files(tmp_path, monkeypatch):
    from kedro.io import DataCatalog

    monkeypatch.chdir(tmp_path)
    old = TableDataset("data/t.parquet", Version(None, "2026-01-01T00.00.00.000Z"))
    old.save(TABLE)
    catalog = DataCatalog({"t": TableDataset("data/t.parquet", Version(None, "2026-01-01T00.00.09.000Z")),
                           "m": JSONDataset(f"memory:///{uuid.uuid4().hex}/m.json", Version(None, "2026-01-01T00.00.09.000Z"))})
    assert saved_by_run(catalog, ["t", "m"]) == {}
    catalog.save("m", {"a": 1})
    catalog.save("t", TABLE)
    found = saved_by_run(catalog, ["t", "m"])
    assert str(found["t"]).endswith("2026-01-01T00.00.09.000Z/t.parquet")
    assert found["m"].startswith("memory://") and sha256_file(found["m"]) == hashlib.sha256(b'{\n  "a": 1\n}\n').hexdigest()


def test_remote_catalog_moves_every_file_artifact(capsys):
    from v2v_pipeline.datasets.remote_catalog import main, remote_catalog

    base = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog.yml").read_text())
    moved = remote_catalog(base, "s3://bucket/v2v/", credentials="s3")
    assert set(moved) == {n for n, e in base.items() if "filepath" in e}
    assert moved["frames"] == {**base["frames"], "filepath": "s3://bucket/v2v/data/02_intermediate/frames.zip",
                               "credentials": "s3"}
    assert moved["{video}.frames"]["filepath"] == "s3://bucket/v2v/data/02_intermediate/videos/{video}/frames.zip"
    main(["gs://b/p", "--catalog", str(PROJECT_ROOT / "conf/base/catalog.yml")])
    text = capsys.readouterr().out
    assert yaml.safe_load(text)["flows"]["filepath"] == "gs://b/p/data/04_feature/flows.zip"
    with pytest.raises(ValueError, match="absolute filepath"):
        remote_catalog({"x": {"type": "t", "filepath": "s3://a/b"}}, "s3://c")
