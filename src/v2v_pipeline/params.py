"""Parameter schemas, one dataclass per pipeline (``conf/base/parameters_<pipeline>.yml``).

Defaults here are the documented defaults; the YAML files spell them out so users see
every knob. :func:`validate_all` is run by a hook before any node, so a typo fails in
the first second of a run, not after an hour of labeling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from v2v_pipeline.config import ConfigError, parse


# --------------------------------------------------------------------------- ingest
@dataclass
class VideoSpec:
    name: str
    path: str  # a video file, a folder of images, or "demo:target" / "demo:source" (built-in sample)
    fps: float | None = None  # override ingest.fps for this video
    folder_fps: float | None = None  # frame rate of an image folder (required for folders)
    start: float = 0.0  # seconds
    end: float | None = None  # seconds; null = to the end

    def validate(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"video name {self.name!r} must be non-empty and contain no '/'")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")


@dataclass
class SplitParams:
    val: float = 0.05  # fraction of target frames, taken after the train part (time-ordered)
    test: float = 0.10  # fraction taken at the end of the video
    gap: int = 4  # frames dropped between splits, so neighbouring frames never straddle two splits

    def validate(self) -> None:
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 0.9):
            raise ValueError("split fractions must be in [0, 1) with val + test < 0.9")
        if self.gap < 0:
            raise ValueError("split.gap must be >= 0")


@dataclass
class IngestParams:
    target: VideoSpec
    sources: list[VideoSpec] = field(default_factory=list)
    fps: float | None = None  # resample every video to this rate (by timestamp); null = native rate
    size: tuple[int, int] = (256, 128)  # width, height of stored frames (EDN: 1024 x 512)
    fit: Literal["pad", "crop", "stretch"] = "pad"
    pad_value: int = 0
    max_frames: int | None = None  # cap per video (quick experiments); null = all
    split: SplitParams = field(default_factory=SplitParams)
    demo_seed: int = 0  # seed of the built-in synthetic sample (demo:target, demo:source)

    def validate(self) -> None:
        w, h = self.size
        if w < 16 or h < 16 or w % 2 or h % 2:
            raise ValueError(f"size {list(self.size)} must be even and at least 16 x 16")
        names = [self.target.name] + [s.name for s in self.sources]
        if len(set(names)) != len(names):
            raise ValueError(f"video names must be unique, got {names}")
        if self.fps is not None and self.fps <= 0:
            raise ValueError("fps must be positive or null")

    @property
    def videos(self) -> list[tuple[str, VideoSpec]]:
        return [("target", self.target)] + [("source", s) for s in self.sources]


# --------------------------------------------------------------------------- flow
@dataclass
class RaftParams:
    variant: Literal["large", "small"] = "large"
    weights: str = "data/06_models/pretrained/raft_large.pth"
    batch_size: int = 4
    num_flow_updates: int = 12
    device: Literal["auto", "cuda", "cpu"] = "auto"


@dataclass
class FlowParams:
    backend: Literal["dis", "raft"] = "dis"  # dis: classical, offline default; raft: needs weights
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    raft: RaftParams = field(default_factory=RaftParams)
    chunk: int = 16  # pairs per stored float16 chunk
    alpha: float = 0.01  # forward-backward consistency: |f + b|^2 < alpha (|f|^2 + |b|^2) + beta
    beta: float = 0.5
    preview_pairs: int = 4

    def validate(self) -> None:
        if self.chunk < 1:
            raise ValueError("chunk must be >= 1")


SCHEMAS: dict[str, type] = {"ingest": IngestParams, "flow": FlowParams}

# Top-level keys that are not pipeline sections (global parameters).
GLOBAL_KEYS: set[str] = set()


def register(name: str, cls: type) -> None:
    SCHEMAS[name] = cls


def validate_all(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parse every known section; unknown top-level sections are an error (likely a typo)."""
    import difflib

    parsed = {}
    for key, value in params.items():
        if key in SCHEMAS:
            parsed[key] = parse(SCHEMAS[key], value, key)
        elif key not in GLOBAL_KEYS:
            close = difflib.get_close_matches(key, list(SCHEMAS) + list(GLOBAL_KEYS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Known sections: {', '.join(sorted(SCHEMAS))}."
            raise ConfigError(f"unknown parameter section '{key}'.{hint} Check the files in conf/base/ and conf/local/.")
    return parsed
