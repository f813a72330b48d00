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
