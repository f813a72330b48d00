"""Chunked labeling (``label.workers``): the plan, the hand-over at the seams, the carry-on fallback.

The fake tracker below behaves like MediaPipe where it matters: it carries state from frame to frame
(an exponential smoothing of the person's position, so a cold start is off for a few frames), follows
the person it started on, and loses nobody silently.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from v2v_pipeline.labels.chunks import agree, label_in_chunks, plan_chunks
from v2v_pipeline.labels.mediapipe_backend import PoseSequence

from .conftest import DATA, decode_video, require


def frame(x: float, other: float | None = None) -> np.ndarray:
    """A 'frame' holding the followed person's x (NaN: nobody) and optionally a second, larger person's."""
    return np.array([x, np.nan if other is None else other], np.float64)


def skeleton(x: float) -> np.ndarray:
    kp = np.zeros((25, 3), np.float32)
    kp[:, 0] = x + np.arange(25)  # a person 24 px wide at x
    kp[:, 1] = 10 + 3 * np.arange(25)
    kp[:, 2] = 0.9
    return kp


class FakeTracker:
    """Smoothed position, state kept across ``process`` calls; a cold start picks the *other* (larger)
    person when there is one, a warm tracker keeps its own."""

    opened = 0
    closed = 0

    def __init__(self, alpha: float = 0.5):
        self.alpha, self.state, self.follow = alpha, None, None
        FakeTracker.opened += 1

    def process(self, frames, keep_masks: bool = True) -> PoseSequence:
        kps, found = [], []
        for f in frames:
            if self.follow is None:
                self.follow = 1 if not np.isnan(f[1]) else 0
            x = f[self.follow]
            if np.isnan(x):
                kps.append(np.zeros((25, 3), np.float32))
                found.append(False)
                continue
            self.state = x if self.state is None else self.alpha * self.state + (1 - self.alpha) * x
            kps.append(skeleton(self.state))
            found.append(True)
        n = len(found)
        masks = np.full((n, 4, 4), 7, np.uint8) if keep_masks else None
        return PoseSequence(np.asarray(kps, np.float32).reshape(n, 25, 3), np.asarray(found, bool),
                            np.zeros(n, bool), masks=masks, frame_size=(64, 32))

    def close(self) -> None:
        FakeTracker.closed += 1


def sequential(frames, **kw) -> PoseSequence:
    return FakeTracker().process(frames, **kw)


def walk(n: int, speed: float = 0.5) -> list[np.ndarray]:
    return [frame(100 + speed * t) for t in range(n)]


def test_plan_covers_every_frame_once_with_overlaps_inside_the_video():
    for n, workers, overlap in [(200, 2, 15), (201, 3, 10), (1000, 8, 15), (40, 4, 15), (5, 2, 15)]:
        chunks = plan_chunks(n, workers, overlap)
        assert chunks[0].start == 0 and chunks[-1].stop == n
        assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:]))
        assert all(0 <= c.warm <= c.start < c.stop <= c.end <= n for c in chunks)
        assert all(c.start - c.warm == overlap for c in chunks[1:]) and chunks[0].warm == 0
        assert all(c.end - c.stop == overlap for c in chunks[:-1]) and chunks[-1].end == n
        assert len(chunks) <= workers
        assert all(c.stop - c.start >= max(8, 2 * overlap) for c in chunks) or len(chunks) == 1
    assert len(plan_chunks(40, 4, 15)) == 1  # chunks under 2 x overlap would be mostly overlap
    assert len(plan_chunks(1000, 8, 15)) == 8
    with pytest.raises(ValueError, match="workers"):
        plan_chunks(10, 0, 15)


def test_one_worker_is_the_sequential_labeler_itself():
    frames = walk(120)
    out, report = label_in_chunks(frames, FakeTracker, workers=1)
    ref = sequential(frames)
    assert report.workers == 1 and not report.handovers
    np.testing.assert_array_equal(out.keypoints, ref.keypoints)
    np.testing.assert_array_equal(out.masks, ref.masks)


def test_chunks_hand_over_where_the_trackers_agree_and_keep_every_frame_in_order():
    frames = walk(300, speed=2.0)
    ref = sequential(frames)
    calls = []
    out, report = label_in_chunks(frames, FakeTracker, workers=3, overlap=15, on_frame=lambda: calls.append(1))
    assert report.workers == 3 and not report.carried_on
    assert sorted(report.handovers) == [100, 200]
    assert all(100 <= t < 115 for t in [report.handovers[100]]) and 200 <= report.handovers[200] < 215
    assert len(out.found) == 300 and out.found.all() and out.masks.shape == (300, 4, 4)
    # every frame is labeled from its own frame: the smoothed position lags the truth by about the same
    # amount as one tracker's, and never by more than the agreement tolerance at a hand-over
    diff = np.abs(out.keypoints[..., 0] - ref.keypoints[..., 0]).max(1)
    assert diff.max() <= 0.05 * 72 + 1e-6, diff.max()  # the fake skeleton is 72 px tall: 5 % of it
    assert diff[:100].max() == 0  # the first chunk is the sequential labeler
    assert len(calls) == sum(c.end - c.warm for c in report.chunks)  # overlaps counted in the progress
    assert out.meta["chunks"]["handovers"] == {str(k): v for k, v in report.handovers.items()}


def test_a_seam_where_the_new_tracker_follows_someone_else_is_carried_on_exactly():
    # a second, larger person appears from frame 180 to 260: a cold tracker there picks them up
    frames = [frame(100 + t, other=400.0 if 180 <= t < 260 else None) for t in range(300)]
    ref = sequential(frames)
    out, report = label_in_chunks(frames, FakeTracker, workers=3, overlap=15)
    assert report.carried_on == [200]  # chunk 2's tracker started (at 185) on the other person
    assert 100 in report.handovers
    # from the hand-over at 100 on, chunk 1's tracker labeled everything: what one worker would have after it
    t0 = report.handovers[100]
    one = FakeTracker()
    one.process(frames[85:t0])  # the same history as chunk 1's tracker had at the hand-over
    cont = one.process(frames[t0:])
    np.testing.assert_array_equal(out.keypoints[t0:], cont.keypoints)
    assert (np.abs(out.keypoints[:, 0, 0] - ref.keypoints[:, 0, 0]) < 5).all()  # never the other person (x=400)


def test_nobody_at_a_seam_means_carry_on_and_no_person_is_invented():
    frames = [frame(np.nan if 90 <= t < 130 else 100 + t) for t in range(200)]
    ref = sequential(frames)
    labeled, planned = [], []
    out, report = label_in_chunks(frames, FakeTracker, workers=2, overlap=15, on_frame=lambda: labeled.append(1),
                                  on_more=lambda k: planned.append(k))
    assert report.carried_on == [100] and not report.handovers
    # the progress total grows by the frames the tracker before labels again, and the bar ends full
    assert planned == [200 - 115] and len(labeled) == sum(c.end - c.warm for c in report.chunks) + planned[0]
    np.testing.assert_array_equal(out.found, ref.found)
    np.testing.assert_array_equal(out.keypoints, ref.keypoints)  # one tracker did it all


def test_trackers_run_in_parallel_threads_and_are_all_closed_even_on_error():
    seen = set()
    both_running = threading.Barrier(2, timeout=20)  # broken (an error) unless both trackers run at once

    class Recording(FakeTracker):
        def process(self, frames, **kw):
            seen.add(threading.current_thread().name)
            both_running.wait()
            return super().process(frames, **kw)

    closed = FakeTracker.closed
    label_in_chunks(walk(200), Recording, workers=2, overlap=10)
    assert len(seen) == 2 and all(name.startswith("label") for name in seen)
    assert FakeTracker.closed == closed + 2

    class Failing(FakeTracker):
        def process(self, frames, **kw):
            raise RuntimeError("model crashed")

    closed = FakeTracker.closed
    with pytest.raises(RuntimeError, match="model crashed"):
        label_in_chunks(walk(200), Failing, workers=2, overlap=10)
    assert FakeTracker.closed == closed + 2


def test_agree_needs_shared_joints_and_a_close_skeleton():
    a = skeleton(100)
    assert agree(a, skeleton(101))  # 1 px of a 72 px person
    assert not agree(a, skeleton(110))
    assert not agree(a, np.zeros_like(a))


def test_two_mediapipe_workers_on_real_footage_match_one_after_the_hand_over():
    """Two workers on 160 frames of the EDN subject (256x128, the person about 80 px tall): the first chunk
    identical, the hand-over within a few frames of the seam, the same frames found, and after it the joints
    mostly within a pixel (measured: mean 0.05 px, 95 % of the frames within 1 px; 3 frames of a fast limb
    50 frames after the seam 7 px apart: the new tracker's smoothing state is not the old one's)."""
    pytest.importorskip("mediapipe")
    from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend, MediaPipeConfig

    frames = decode_video(require(DATA / "edn_subject4" / "target_train.mp4"), size=(256, 128), stop=160)
    cfg = MediaPipeConfig(enable_segmentation=False)
    with MediaPipeBackend(cfg) as b:
        ref = b.process(frames)
    out, report = label_in_chunks(frames, lambda: MediaPipeBackend(cfg), workers=2, overlap=15)
    assert report.workers == 2 and not report.carried_on and 80 <= report.handovers[80] < 95
    np.testing.assert_array_equal(out.found, ref.found)
    np.testing.assert_array_equal(out.keypoints[:80], ref.keypoints[:80])
    both = (out.keypoints[..., 2] > 0) & (ref.keypoints[..., 2] > 0)
    d = np.where(both, np.abs(out.keypoints[..., :2] - ref.keypoints[..., :2]).max(-1), 0)
    per_frame = d.max(1)
    assert d[both].mean() < 0.2 and np.percentile(per_frame, 95) <= 2.0, per_frame
    assert per_frame.max() <= 0.15 * 80, per_frame.max()


def test_label_workers_parameter_reaches_the_mediapipe_backend(monkeypatch, caplog):
    """``label.workers: 2`` in the parameters labels a video with two trackers; 1 with one; 4 on a process that
    may use 2 CPUs with four, and the log names the value to set."""
    import pandas as pd

    from v2v_pipeline import runtime
    from v2v_pipeline.config import parse
    from v2v_pipeline.labels import mediapipe_backend
    from v2v_pipeline.labels.backends import VideoInput
    from v2v_pipeline.labels.config import LabelConfig
    from v2v_pipeline.labels.video import label_video
    from v2v_pipeline.video.geometry import VideoGeometry

    made = []

    class FakeMediaPipe(FakeTracker):
        def __init__(self, config=None):
            super().__init__()
            made.append(config)

        def process(self, frames, keep_masks=True, crop=None):
            xs = [frame(100 + float(f[0, 0, 0])) for f in frames]  # the frame's content moves the person
            return super().process(xs, keep_masks=keep_masks)

    monkeypatch.setattr(mediapipe_backend, "MediaPipeBackend", FakeMediaPipe)
    monkeypatch.setattr(runtime, "available_cpus", lambda: 2)
    n = 120
    frames = [np.full((32, 64, 3), t, np.uint8) for t in range(n)]
    index = pd.DataFrame({"frame": np.arange(n), "source_frame": np.arange(n), "fps": 25.0})
    data = VideoInput("v", frames, index, n, VideoGeometry.of((64, 32), (64, 32), "pad"))
    for workers, trackers in ((1, 1), (2, 2), (4, 4)):
        made.clear()
        caplog.clear()
        cfg = parse(LabelConfig, {"workers": workers, "seam_overlap": 10, "smoothing": {"method": "none"}}, "label")
        with caplog.at_level("WARNING"):
            labels = label_video(cfg, data)
        warned = "label.workers 4: this process may use 2 CPUs" in caplog.text and "at most 2" in caplog.text
        assert warned == (workers == 4), caplog.text
        assert len(made) == trackers and labels.detected.all() and labels.keypoints.shape == (n, 25, 3)
        assert made[0] is cfg.mediapipe
        np.testing.assert_allclose(labels.keypoints[:, 0, 0], 100 + np.arange(n) - 1, atol=1.1)  # lag of 1 px


def test_label_workers_and_overlap_below_one_are_refused_with_the_fix():
    from v2v_pipeline.config import ConfigError, parse
    from v2v_pipeline.labels.config import LabelConfig

    assert parse(LabelConfig, {"workers": 3}, "label").workers == 3
    with pytest.raises(ConfigError, match=r"parameters 'label': workers must be >= 1 \(got 0\).*parameters_label"):
        parse(LabelConfig, {"workers": 0}, "label")
    with pytest.raises(ConfigError, match=r"seam_overlap must be >= 1 frame \(got 0\)"):
        parse(LabelConfig, {"seam_overlap": 0}, "label")


def test_a_carried_on_seam_grows_the_progress_total_on_a_terminal_and_in_the_log():
    from tqdm import tqdm

    from v2v_pipeline.labels.backends import _grow
    from v2v_pipeline.progress import LogProgress

    for bar in (tqdm(total=230, disable=True), LogProgress(total=230, disable=True)):
        _grow(bar, 85)
        assert bar.total == 315
