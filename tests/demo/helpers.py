"""Helpers for the demo tests."""

from __future__ import annotations

from pathlib import Path


def decode(path: Path) -> tuple[list, dict]:
    """All frames of a video (RGB arrays) and its video stream's properties."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        info = {"codec": stream.codec_context.name, "fps": float(stream.average_rate),
                "width": stream.width, "height": stream.height,
                "pix_fmt": stream.codec_context.pix_fmt}
    return frames, info
