"""Frame extraction on real footage: counts, timestamps, sizes, time-ordered split."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_file
from v2v_pipeline.config import parse
from v2v_pipeline.params import IngestParams, SplitParams
from v2v_pipeline.video.ingest import build_frame_index, iter_extracted_frames, probe_all, split_labels
from v2v_pipeline.video.io import fit_to_size, iter_frames


def _params(target: str, sources=(), **kw) -> IngestParams:
    data = {"target": {"name": "t", "path": target}, "sources": [dict(s) for s in sources], **kw}
    return parse(IngestParams, data, "ingest")


def test_split_is_time_ordered_with_gaps():
    labels = split_labels(100, SplitParams(val=0.1, test=0.2, gap=3))
    order = {"train": 0, "val": 1, "test": 2}
    kept = [order[x] for x in labels if x != "gap"]
    assert kept == sorted(kept)  # never interleaved: train, then val, then test
    assert list(labels).count("val") == 10 and list(labels).count("test") == 20
    assert list(labels[-20:]) == ["test"] * 20
    assert list(labels).count("gap") == 6


@pytest.mark.realdata
def test_edn_target_ingests_800_frames_at_native_fps():
    p = _params(str(shared_file("edn_subject4", "target_train.mp4")), size=[128, 64])
    meta = probe_all(p)
    index = build_frame_index(p, meta)
    assert len(index) == 800
    assert index.fps.unique().tolist() == [7.5]
    np.testing.assert_allclose(index.time, np.arange(800) / 7.5, atol=1e-6)
    assert (index.source_frame == np.arange(800)).all()
    frames = list(iter_extracted_frames(p, meta, index))
    assert len(frames) == 800 and frames[0][1].shape == (64, 128, 3)
    assert frames[-1][0] == "t/000799"


@pytest.mark.realdata
def test_street_dance_resampled_to_25fps_by_timestamp():
    p = _params(str(shared_file("edn_subject4", "target_train.mp4")),
                sources=[{"name": "street", "path": str(shared_file("sources", "street_dance.avi")), "fps": 25}])
    index = build_frame_index(p, probe_all(p))
    street = index[index.video == "street"]
    assert len(street) == 103
    np.testing.assert_allclose(street.time, np.arange(103) * 0.04, atol=1e-9)
    # every output frame is the input frame shown at that instant (50 fps -> every second frame)
    np.testing.assert_allclose(street.source_time, street.time, atol=1e-6)
    assert (street.source_frame == np.arange(103) * 2).all()
    assert (street.split == "source").all()


@pytest.mark.realdata
def test_studio_walk_fits_configured_size_without_cutting_the_person():
    path = shared_file("sources", "studio_walk.mp4")  # 1000 x 1002, nearly square
    p = _params(str(path), size=[256, 128], max_frames=3)
    meta = probe_all(p)
    index = build_frame_index(p, meta)
    (_, out), *_ = iter_extracted_frames(p, meta, index)
    assert out.shape == (128, 256, 3)
    # letterboxed: the whole source frame is inside, scaled to 128 px high, centred, black borders
    src = next(iter_frames(path)).image
    expected = fit_to_size(src, (128, 128), "stretch")
    w = round(1000 * 128 / 1002)
    x0 = (256 - w) // 2
    assert out[:, :x0].max() == 0 and out[:, x0 + w :].max() == 0
    inner = out[:, x0 : x0 + w].astype(int)
    assert np.abs(inner - fit_to_size(src, (w, 128), "stretch").astype(int)).mean() < 1.0
    assert expected.shape == (128, 128, 3)


def test_probe_records_the_stored_geometry_and_downstream_reads_it(tmp_path):
    from tests.conftest import make_test_video
    from v2v_pipeline.video.geometry import GEOMETRY_COLUMNS, target_geometry, video_geometry

    video = make_test_video(tmp_path / "clip.mp4", n_frames=4, size=(96, 64))  # 3:2 into 2:1: pillarbox
    p = _params(str(video), size=[64, 32], fit="pad")
    meta = probe_all(p)
    assert set(GEOMETRY_COLUMNS) <= set(meta.columns)
    g = video_geometry(meta, "t")
    assert g == target_geometry(meta)
    assert (g.source_size, g.size, g.fit) == ((96, 64), (64, 32), "pad")
    x0, y0, x1, y1 = g.content_box
    assert (y0, y1) == (0, 32) and x1 - x0 == 48 and x0 == 8  # 96 x 64 scaled by 0.5, centred
    frame = next(iter_extracted_frames(p, meta, build_frame_index(p, meta)))[1]
    assert frame.shape == (32, 64, 3) and frame[:, :x0].max() == 0 and frame[:, x0:x1].max() > 0  # what ingest stored
    assert g.picture_box == g.content_box
    assert video_geometry(probe_all(_params(str(video), size=[64, 32], fit="crop")), "t").picture_box is None
    with pytest.raises(ValueError, match="stored_width.*older ingest.*pipelines=ingest"):
        video_geometry(meta.drop(columns=["stored_width"]), "t")
    with pytest.raises(ValueError, match="no video 'nope'"):
        video_geometry(meta, "nope")


def test_demo_paths_are_resolved_only_by_the_resolver_given(tmp_path):
    from v2v_pipeline.demo import resolve_video
    from v2v_pipeline.video.io import VideoError

    with pytest.raises(VideoError, match="unknown demo video 'demo:dancer'"):
        resolve_video("demo:dancer", 0)
    assert resolve_video(str(tmp_path / "a.mp4"), 0) == tmp_path / "a.mp4"
    with pytest.raises(VideoError, match="does not exist"):  # the library default does not render demo videos
        probe_all(_params("demo:target"))
