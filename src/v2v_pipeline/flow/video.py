"""Flow for a whole video: streamed into a chunked float16 archive, read back pair by pair.

Archive layout (``K`` = chunk size, pairs ``i`` = frames ``i -> i+1``)::

    forward/chunk_000000.npy   (K, H, W, 2) float16   frame i -> i+1
    backward/chunk_000000.npy  (K, H, W, 2) float16   frame i+1 -> i
    valid/chunk_000000.npy     (K, H, W)    uint8     255 where forward and backward agree
    meta.json                  backend, chunk, pair count, size
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from v2v_pipeline.flow.chunks import quantize_flow
from v2v_pipeline.flow.consistency import consistency_mask
from v2v_pipeline.flow.base import FlowBackend
from v2v_pipeline.flow.viz import flow_to_color
from v2v_pipeline.progress import progress
from v2v_pipeline.storage import Archive, ArchiveWriter

log = logging.getLogger(__name__)


def chunk_key(kind: str, chunk: int) -> str:
    return f"{kind}/chunk_{chunk:06d}"


class FlowArchiveContent:
    """Computes flows of ``frames`` chunk by chunk while the archive is written (flat memory)."""

    def __init__(self, frames: Sequence[np.ndarray], backend: Callable[[], FlowBackend], backend_name: str,
                 chunk: int = 16, alpha: float = 0.01, beta: float = 0.5):
        if len(frames) < 2:
            raise ValueError(f"optical flow needs at least 2 frames, the video has {len(frames)}")
        self.frames, self.backend, self.backend_name = frames, backend, backend_name
        self.chunk, self.alpha, self.beta = chunk, alpha, beta

    def write_to(self, writer: ArchiveWriter) -> None:
        backend = self.backend()
        n_pairs = len(self.frames) - 1
        h, w = self.frames[0].shape[:2]
        with progress(total=n_pairs, desc=f"flow ({self.backend_name})", unit="pair", leave=False) as bar:
            for c, start in enumerate(range(0, n_pairs, self.chunk)):
                stop = min(start + self.chunk, n_pairs)
                frames = [self.frames[i] for i in range(start, stop + 1)]
                forward, backward = backend.flow_pairs(frames)
                valid, _ = consistency_mask(forward, backward, self.alpha, self.beta)
                writer.add_array(chunk_key("forward", c), quantize_flow(forward))
                writer.add_array(chunk_key("backward", c), quantize_flow(backward))
                writer.add_array(chunk_key("valid", c), valid.astype(np.uint8) * 255)
                bar.update(stop - start)
        writer.add_json("meta", {"backend": self.backend_name, "chunk": self.chunk, "pairs": n_pairs,
                                 "width": w, "height": h, "alpha": self.alpha, "beta": self.beta})


class FlowReader:
    """Random access to pairs of a flow archive (chunks are cached)."""

    def __init__(self, archive: Archive):
        self.archive = archive
        self.meta = archive.read("meta")
        self.chunk = int(self.meta["chunk"])
        self._load = lru_cache(maxsize=6)(self._load_chunk)

    def __len__(self) -> int:
        return int(self.meta["pairs"])

    def _load_chunk(self, kind: str, c: int) -> np.ndarray:
        return self.archive.read(chunk_key(kind, c))

    def _get(self, kind: str, i: int) -> np.ndarray:
        if not 0 <= i < len(self):
            raise IndexError(f"flow pair {i} out of range (0..{len(self) - 1})")
        return self._load(kind, i // self.chunk)[i % self.chunk]

    def forward(self, i: int) -> np.ndarray:
        return self._get("forward", i).astype(np.float32)

    def backward(self, i: int) -> np.ndarray:
        """Flow from frame ``i+1`` to frame ``i`` (warps frame ``i`` onto ``i+1``)."""
        return self._get("backward", i).astype(np.float32)

    def valid(self, i: int) -> np.ndarray:
        """Boolean mask on frame ``i+1``'s pixels."""
        return self._get("valid", i) > 0


def flow_summary(reader: FlowReader, frames: Sequence[np.ndarray], sample: int = 50) -> dict[str, float]:
    """Mean flow magnitude, valid fraction, and photometric error with / without warping (on sampled pairs)."""
    from v2v_pipeline.flow.photometric import photometric_error

    idx = np.unique(np.linspace(0, len(reader) - 1, min(sample, len(reader))).round().astype(int))
    mags, valids, warped, unwarped = [], [], [], []
    for i in idx:
        b, v = reader.backward(int(i)), reader.valid(int(i))
        mags.append(float(np.linalg.norm(b, axis=-1).mean()))
        valids.append(float(v.mean()))
        warped.append(photometric_error(frames[i], frames[i + 1], b, v))
        unwarped.append(photometric_error(frames[i], frames[i + 1], None, v))
    return {
        "flow_mean_magnitude_px": float(np.mean(mags)),
        "flow_valid_fraction": float(np.mean(valids)),
        "flow_photometric_error_warped": float(np.nanmean(warped)),
        "flow_photometric_error_unwarped": float(np.nanmean(unwarped)),
    }


def flow_preview(reader: FlowReader, frames: Sequence[np.ndarray], n: int = 4) -> np.ndarray:
    """Rows of ``frame i | frame i+1 | backward flow (colour wheel) | valid mask`` for ``n`` pairs."""
    idx = np.unique(np.linspace(0, len(reader) - 1, min(n, len(reader))).round().astype(int))
    rows = []
    for i in idx:
        b = reader.backward(int(i))
        mask = np.repeat((reader.valid(int(i)) * 255).astype(np.uint8)[..., None], 3, axis=2)
        rows.append(np.concatenate([frames[i], frames[i + 1], flow_to_color(b), mask], axis=1))
    return np.concatenate(rows, axis=0)
