"""Label faults: the empty mask of a frame without a person on a letterboxed (cropped) source,
and label-map folders with an odd-sized map or a gap."""

from __future__ import annotations

import numpy as np

from v2v_pipeline.labels.mediapipe_backend import Detection, MediaPipeBackend


def test_letterboxed_frame_without_person_gets_a_full_frame_mask(monkeypatch):
    """Regression: with segmentation on and ``crop`` (the picture inside letterbox borders), a frame
    where no person is found got a mask of the crop's size -> ``inhomogeneous shape``."""
    backend = MediaPipeBackend()
    h, w, crop = 48, 64, (8, 0, 56, 48)  # picture between two vertical borders
    answers = iter([Detection(np.ones((25, 3), np.float32), mask=np.full((48, 48), 0.9, np.float32)), None])
    monkeypatch.setattr(backend, "process_frame", lambda frame: next(answers))
    seq = backend.process([np.zeros((h, w, 3), np.uint8)] * 2, crop=crop)
    assert seq.masks.shape == (2, h, w)
    assert seq.found.tolist() == [True, False]
    assert seq.masks[1].max() == 0 and seq.masks[0][:, 8:56].min() == 230 and seq.masks[0][:, :8].max() == 0


def _maps(folder, n=12, size=(64, 32), skip=(), odd=None, mode="RGB"):
    from PIL import Image

    folder.mkdir()
    for i in range(n):
        if i in skip:
            continue
        s = (40, 32) if i == odd else size
        Image.new(mode, s, 3).save(folder / f"frame{i:06d}.png")
    return folder


def test_label_folder_with_an_odd_sized_map_is_an_error_naming_it(tmp_path):
    import pytest

    from v2v_pipeline.labels.precomputed import match_label_files

    folder = _maps(tmp_path / "maps", odd=5)
    with pytest.raises(ValueError, match=r"frame000005.png \(position 5\) is 40x32 RGB but 11 of 12 maps .* are 64x32"):
        match_label_files(folder)


def test_label_folder_with_a_gap_reports_its_position(tmp_path):
    import pytest

    from v2v_pipeline.labels.precomputed import match_label_files

    folder = _maps(tmp_path / "maps", skip=(7,))
    with pytest.raises(ValueError, match=r"skip 1 map after frame000006.png \(position 6; the numbers step by 1, the next is frame000008.png\)"):
        match_label_files(folder)


def test_label_folder_with_a_map_of_another_kind(tmp_path):
    import pytest
    from PIL import Image

    from v2v_pipeline.labels.precomputed import match_label_files

    folder = _maps(tmp_path / "maps", mode="P")
    Image.new("RGB", (64, 32)).save(folder / "frame000003.png")
    with pytest.raises(ValueError, match=r"frame000003.png \(position 3\) is 64x32 RGB but 11 of 12 maps .* index"):
        match_label_files(folder)


def test_consistent_label_folders_still_match(tmp_path):
    from v2v_pipeline.labels.precomputed import match_label_files

    assert len(match_label_files(_maps(tmp_path / "a"), 12)) == 12
    assert len(match_label_files(_maps(tmp_path / "b", n=6, size=(16, 16)))) == 6


def test_real_edn_folder_with_jittered_numbering_is_accepted():
    """EDN's subject-4 label maps are numbered by sampled source frame (steps 4, 5, 6, 15): not a gap."""
    from tests.conftest import shared_file
    from v2v_pipeline.labels.precomputed import match_label_files

    folder = shared_file("edn_subject4", "openpose")
    assert len(match_label_files(folder)) == 800
