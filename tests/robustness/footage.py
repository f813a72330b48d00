"""Small synthetic videos and ways to damage them, for the robustness tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, codec: str = "libx264", n: int = 60, size: tuple[int, int] = (160, 120), fps: int = 25,
               gop: int = 250, skip: tuple[int, int] | None = None) -> Path:
    """A textured moving square; ``skip=(at, count)`` leaves a hole of ``count`` frames in the timestamps."""
    w, h = size
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.time_base = Fraction(1, fps)
        s.codec_context.time_base = Fraction(1, fps)
        s.options = {"g": str(gop), "bf": "0"} if codec == "libx264" else {"g": str(gop)}
        pts = 0
        for i in range(n):
            if skip and i == skip[0]:
                pts += skip[1]
            img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
            img[:, :, 0] += ((np.arange(w) * 2 + i * 3) % 180).astype(np.uint8)
            y = 10 + (i * 2) % (h - 40)
            img[y : y + 30, 20 : 60] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = pts
            frame.time_base = Fraction(1, fps)
            pts += 1
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def packets(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as c:
        return [(p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size]


def corrupt_packets(path: Path, first: int = 20, count: int = 20, lo: float = 0.6, hi: float = 0.9, seed: int = 1) -> Path:
    """Random bytes in the ``lo..hi`` part of ``count`` packets from ``first`` (headers kept, so the
    decoder conceals the damage: it logs errors but raises none)."""
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(seed)
    for pos, size in packets(path)[first : first + count]:
        a, b = pos + int(size * lo), pos + int(size * hi)
        data[a:b] = rng.integers(0, 256, b - a, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def fresh_mlflow(tmp_path: Path, monkeypatch) -> None:
    """A tracking store of this test only (earlier Kedro runs in the process leave MLflow state)."""
    import os

    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    for key in [k for k in os.environ if k.startswith("MLFLOW_")]:
        monkeypatch.delenv(key)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("robustness")
