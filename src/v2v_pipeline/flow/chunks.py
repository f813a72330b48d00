"""Compact flow storage: float16 quantisation and fixed-size chunks.

The storage module writes each chunk as one ``.npy`` member of a deterministic zip archive;
this module only produces the arrays.

Float16 keeps 11 significant bits, so a value ``v`` is stored with an absolute error of at
most half its spacing, ``2 ** (floor(log2 |v|) - 11)`` (:func:`float16_max_error`):

====================  ======================
``|flow|`` (px)       max round-trip error
====================  ======================
< 32                  0.0078 px
32 - 64               0.0156 px
64 - 128              0.031 px  (at 512x256, flows up to ~100 px: < 0.05 px)
128 - 256             0.0625 px
256 - 512             0.125 px  (whole-frame motion at 512 px width)
====================  ======================

Magnitudes above 65504 px cannot be stored and raise; a float32 flow is 2x the size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT16_MAX = float(np.finfo(np.float16).max)


def float16_max_error(max_abs_flow: float) -> float:
    """Largest float16 round-trip error (px) for flow components up to ``max_abs_flow``."""
    if max_abs_flow < 2.0**-14:  # subnormal range: fixed spacing 2**-24
        return 2.0**-25
    return 2.0 ** (np.floor(np.log2(max_abs_flow)) - 11)


def quantize_flow(flows: np.ndarray) -> np.ndarray:
    """Round flows to float16 (same shape); refuses non-finite or too large values."""
    flows = np.asarray(flows)
    if not np.all(np.isfinite(flows)):
        raise ValueError("flow contains NaN or inf; fix the flow backend before storing")
    peak = float(np.abs(flows).max(initial=0.0))
    if peak > FLOAT16_MAX:
        raise ValueError(f"flow magnitude {peak:.0f} px exceeds the float16 range ({FLOAT16_MAX:.0f})")
    return flows.astype(np.float16)


def chunk_flows(flows: np.ndarray, chunk: int = 16) -> list[np.ndarray]:
    """Split ``(N, H, W, 2)`` flows into float16 chunks of ``chunk`` pairs (the last may be shorter).

    Chunk ``k`` holds pairs ``k*chunk .. min(N, (k+1)*chunk) - 1``.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if flows.ndim != 4 or flows.shape[-1] != 2:
        raise ValueError(f"expected (N, H, W, 2) flows, got {flows.shape}")
    q = quantize_flow(flows)
    return [np.ascontiguousarray(q[s : s + chunk]) for s in range(0, len(q), chunk)]


def unchunk_flows(chunks: Sequence[np.ndarray]) -> np.ndarray:
    """Concatenate chunks back into one float32 ``(N, H, W, 2)`` array."""
    if not chunks:
        raise ValueError("no flow chunks given")
    return np.concatenate([np.asarray(c, dtype=np.float32) for c in chunks])
