"""Label one video in parallel chunks (``label.workers``), with checked seams.

MediaPipe labels one frame after the other on one core, and it releases the GIL while its graph runs, so
``workers`` threads of one process, each with its own tracker over a contiguous part of the video, use
``workers`` cores (a one-off check on 2 cores: two trackers on the halves of 200 frames, 2.07x one).
A thread pool, not processes, because the frames are already in this process's memory and nothing needs
pickling (the GIL is not the bottleneck: MediaPipe's C++ graph is).

A tracker carries state from frame to frame (MediaPipe's landmark region and smoothing, the identity
guard's last skeleton), so a chunk cannot simply start cold at its first frame. Around each seam both
trackers label ``overlap`` frames more (``label.seam_overlap``):

* the new chunk starts ``overlap`` frames early, so its tracker has settled by the seam, and those
  results are dropped;
* the chunk before it goes on ``overlap`` frames past the seam, and the labels **hand over** from the old
  tracker to the new one at the first frame after the seam where the two agree: the person found by both,
  every joint that both see within 5 % of the person's size of each other (so the same person, and no jump
  at the switch);
* where they never agree in that window (the person lost or in a crowd at the seam, the new tracker on
  another person), the old tracker **carries on** through the whole chunk, which is exactly what one
  worker would have done: a failed seam costs time, never a switch of person or a jump.

The result is not bit-identical to one worker's: after a hand-over the new tracker's smoothing state differs
for a while (measured on real footage: ``docs/labeling.md``, ``benchmarks/results/labeling-workers-*.md``).
It is deterministic for a given ``workers`` and ``overlap``, which the label parameters record;
``workers: 1`` (the default) is the sequential labeler itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .tracking import person_size

log = logging.getLogger(__name__)

__all__ = ["Chunk", "ChunkReport", "agree", "concat_sequences", "label_in_chunks", "plan_chunks"]


class Tracker(Protocol):
    """What :func:`label_in_chunks` needs of a labeler (e.g. ``MediaPipeBackend``): ``process`` carries its
    state over from one call to the next."""

    def process(self, frames, **kwargs: Any): ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, stop)`` are this chunk's; its tracker labels ``[warm, end)``: ``overlap`` frames on
    each side where there is a neighbour."""

    warm: int
    start: int
    stop: int
    end: int


@dataclass
class ChunkReport:
    """How a chunked labeling went (logged, and kept in the sequence's ``meta``)."""

    workers: int
    overlap: int
    chunks: list[Chunk] = field(default_factory=list)
    handovers: dict[int, int] = field(default_factory=dict)  # chunk start -> the frame the labels switched at
    carried_on: list[int] = field(default_factory=list)  # chunk starts where the tracker before carried on

    def as_dict(self) -> dict[str, Any]:
        return {"workers": self.workers, "overlap": self.overlap,
                "chunks": [[c.start, c.stop] for c in self.chunks],
                "handovers": {str(k): v for k, v in self.handovers.items()}, "carried_on": list(self.carried_on)}


def plan_chunks(n_frames: int, workers: int, overlap: int, min_chunk: int | None = None) -> list[Chunk]:
    """Contiguous chunks of about equal size, as many as ``workers`` allows with chunks of at least
    ``min_chunk`` frames (default ``2 * overlap``, at least 8: a shorter chunk is mostly overlap)."""
    if workers < 1 or overlap < 1:
        raise ValueError(f"workers and overlap must be >= 1 (got {workers}, {overlap})")
    min_chunk = max(8, 2 * overlap) if min_chunk is None else max(1, min_chunk)
    k = max(1, min(workers, n_frames // min_chunk))
    b = [round(i * n_frames / k) for i in range(k + 1)]
    return [Chunk(max(0, b[i] - overlap) if i else 0, b[i], b[i + 1], min(n_frames, b[i + 1] + overlap))
            for i in range(k)]


def agree(a: np.ndarray, b: np.ndarray, tolerance: float = 0.05) -> bool:
    """Two skeletons ``(J, 3)`` of one frame agree: both have joints, and every joint both see is within
    ``tolerance`` x the person's size of the other."""
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    if not both.any():
        return False
    return float(np.abs(a[both, :2] - b[both, :2]).max()) <= tolerance * person_size(a)


def concat_sequences(parts: Sequence[Any], ranges: Sequence[tuple[int, int]]):
    """One ``PoseSequence`` of frames ``ranges[i]`` (indices into part ``i``) of each part, in order."""
    from .mediapipe_backend import PoseSequence

    def cat(name: str) -> np.ndarray | None:
        arrays = [getattr(p, name) for p in parts]
        if any(x is None for x in arrays):
            return None
        return np.concatenate([x[a:b] for x, (a, b) in zip(arrays, ranges)])

    first = parts[0]
    return PoseSequence(keypoints=cat("keypoints"), found=cat("found"), redetected=cat("redetected"),
                        masks=cat("masks"), face=cat("face"), hands=cat("hands"), frame_size=first.frame_size,
                        meta=dict(first.meta))


@dataclass
class _Run:
    """A tracker and what it labeled: frames ``[first, first + len(seq.found))``."""

    tracker: Tracker
    seq: Any
    first: int

    @property
    def end(self) -> int:
        return self.first + len(self.seq.found)


def label_in_chunks(frames: Sequence[np.ndarray], make_tracker: Callable[[], Tracker], workers: int,
                    overlap: int = 15, tolerance: float = 0.05, on_frame: Callable[[], None] | None = None,
                    on_more: Callable[[int], None] | None = None, **process_kwargs: Any):
    """``frames`` labeled by up to ``workers`` trackers from ``make_tracker`` in threads; returns the
    ``PoseSequence`` of every frame (as one tracker's ``process`` would) and a :class:`ChunkReport`.

    ``on_frame`` is called once per labeled frame (overlap and carried-on frames included), from the worker
    threads: a progress bar's ``update``; ``on_more(k)`` when a seam that carries on adds ``k`` frames to label
    to the ``sum(c.end - c.warm)`` planned (the bar's total grows). ``process_kwargs`` go to every ``process``
    call."""
    n = len(frames)
    chunks = plan_chunks(n, workers, overlap)
    report = ChunkReport(workers=len(chunks), overlap=overlap, chunks=chunks)
    lock = threading.Lock()

    def part(a: int, b: int) -> Iterator[np.ndarray]:
        for t in range(a, b):
            yield frames[t]
            if on_frame is not None:
                with lock:
                    on_frame()

    trackers: list[Tracker] = []
    try:
        trackers = [make_tracker() for _ in chunks]
        if len(chunks) == 1:
            return trackers[0].process(part(0, n), **process_kwargs), report
        with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="label") as pool:
            futures = [pool.submit(tr.process, part(c.warm, c.end), **process_kwargs)
                       for tr, c in zip(trackers, chunks)]
            runs = [_Run(tr, f.result(), c.warm) for tr, f, c in zip(trackers, futures, chunks)]
        pieces: list[tuple[_Run, int, int]] = []  # (run, first frame, stop frame), absolute
        cur, cur_from = runs[0], 0
        for c, new in zip(chunks[1:], runs[1:]):
            switch = next((t for t in range(c.start, min(cur.end, new.end))
                           if cur.seq.found[t - cur.first] and new.seq.found[t - new.first]
                           and agree(cur.seq.keypoints[t - cur.first], new.seq.keypoints[t - new.first], tolerance)),
                          None)
            if switch is not None:
                report.handovers[c.start] = switch
                pieces.append((cur, cur_from, switch))
                cur, cur_from = new, switch
                continue
            report.carried_on.append(c.start)
            log.warning("labeling: the trackers before and after frame %d never agreed on frames %d-%d (the person "
                        "lost, in a crowd, or another one followed); the tracker before carries on to frame %d, as "
                        "one worker would", c.start, c.start, min(cur.end, new.end) - 1, new.end - 1)
            if on_more is not None:
                on_more(new.end - cur.end)
            more = cur.tracker.process(part(cur.end, new.end), **process_kwargs)
            cur.seq = concat_sequences([cur.seq, more], [(0, len(cur.seq.found)), (0, len(more.found))])
        pieces.append((cur, cur_from, n))
        out = concat_sequences([r.seq for r, _, _ in pieces], [(a - r.first, b - r.first) for r, a, b in pieces])
        out.meta["chunks"] = report.as_dict()
        if len(out.found) != n:  # pragma: no cover - a planning error, never silently a shorter video
            raise RuntimeError(f"chunked labeling returned {len(out.found)} frames for {n}")
        return out, report
    finally:
        for tr in trackers:
            tr.close()
