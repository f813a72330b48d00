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
