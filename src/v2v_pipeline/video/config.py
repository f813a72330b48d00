"""Configuration of frame extraction (the ``ingest`` parameter section is :class:`IngestConfig`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


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
        if (self.fps is not None and self.fps <= 0) or (self.folder_fps is not None and self.folder_fps <= 0):
            raise ValueError("fps and folder_fps must be positive (or null)")


@dataclass
class SplitConfig:
    val: float = 0.05  # fraction of target frames, taken after the train part (time-ordered)
    test: float = 0.10  # fraction taken at the end of the video
    gap: int = 4  # frames dropped between splits, so neighbouring frames never straddle two splits

    def validate(self) -> None:
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 0.9):
            raise ValueError("split fractions must be in [0, 1) with val + test < 0.9")
        if self.gap < 0:
            raise ValueError("split.gap must be >= 0")


@dataclass
class IngestConfig:
    target: VideoSpec
    sources: list[VideoSpec] = field(default_factory=list)
    fps: float | None = None  # resample every video to this rate (by timestamp); null = native rate
    size: tuple[int, int] = (256, 128)  # width, height of stored frames (EDN: 1024 x 512)
    fit: Literal["pad", "crop", "stretch"] = "pad"
    pad_value: int = 0
    max_frames: int | None = None  # cap per video (quick experiments); null = all
    max_bad_frames: int = 0  # refuse a video with more damaged frames (decode errors, missing packets, timestamp holes)
    split: SplitConfig = field(default_factory=SplitConfig)
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
