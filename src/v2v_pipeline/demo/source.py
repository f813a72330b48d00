"""``demo:target`` / ``demo:source`` video paths: the built-in sample, rendered on first use."""

from __future__ import annotations

from pathlib import Path

DEMO_SCHEME = "demo:"
DEMO_DIR = Path("data/01_raw/demo")


def resolve_video(path: str, seed: int) -> Path:
    """The file behind a video path; ``demo:<name>`` renders the built-in synthetic sample on first use
    (the ``resolve`` of :func:`v2v_pipeline.video.ingest.probe_all` in the ingest pipeline)."""
    if not path.startswith(DEMO_SCHEME):
        return Path(path).expanduser()
    from v2v_pipeline.demo.sample import write_demo_sample
    from v2v_pipeline.storage import file_lock
    from v2v_pipeline.video.io import VideoError

    which = path[len(DEMO_SCHEME):]
    if which not in ("target", "source"):
        raise VideoError(f"unknown demo video {path!r}; use demo:target or demo:source")
    folder = DEMO_DIR / f"seed{seed}"
    with file_lock(DEMO_DIR / f".seed{seed}.lock"):  # the videos' probe nodes may run at once (ParallelRunner)
        paths = write_demo_sample(folder, seed=seed)  # cached: renders only the first time
    return Path(paths[which])

