"""Per-video frame geometry, recorded by ingest in ``video_metadata`` and read from there downstream.

Ingest stores every frame of a video at ``stored_width x stored_height`` with one ``fit`` mode
(:func:`~v2v_pipeline.video.io.fit_to_size`). The picture of the original video lies inside
the content box (without the letterbox borders of ``fit: pad``). Later pipelines need these
numbers (to map keypoints of the original frames, to run a pose model on the picture only, to
scale boxes); they read them from the data with :func:`video_geometry`, never by decoding a
frame or by re-reading the ingest parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from v2v_pipeline.video.io import content_box, fit_transform

GEOMETRY_COLUMNS = ("stored_width", "stored_height", "fit", "content_x0", "content_y0", "content_x1", "content_y1")


@dataclass(frozen=True)
class VideoGeometry:
    """Where the original picture (``source_size``) lies in the stored frames (``size``)."""

    source_size: tuple[int, int]  # original (width, height)
    size: tuple[int, int]  # stored (width, height)
    fit: str  # pad | crop | stretch
    content_box: tuple[int, int, int, int]  # (x0, y0, x1, y1) of the picture in the stored frame

    @classmethod
    def of(cls, source_size: tuple[int, int], size: tuple[int, int], fit: str) -> VideoGeometry:
        src, size = (int(source_size[0]), int(source_size[1])), (int(size[0]), int(size[1]))
        return cls(src, size, fit, tuple(int(v) for v in content_box(src, size, fit)))

    def columns(self) -> dict[str, int | str]:
        """The ``video_metadata`` columns of this geometry."""
        return dict(zip(GEOMETRY_COLUMNS, (*self.size, self.fit, *self.content_box)))

    @property
    def picture_box(self) -> tuple[int, int, int, int] | None:
        """The content box, or None when the picture fills the whole stored frame."""
        return None if self.content_box == (0, 0, *self.size) else self.content_box

    def transform(self) -> tuple[float, float, float, float]:
        """``(sx, sy, dx, dy)``: an original pixel (x, y) lands at ``(x*sx+dx, y*sy+dy)`` in the stored frame."""
        return fit_transform(self.source_size, self.size, self.fit)


def video_geometry(video_metadata: pd.DataFrame, video: str) -> VideoGeometry:
    """The recorded geometry of ``video`` (a clear error for metadata written before it was recorded)."""
    missing = [c for c in GEOMETRY_COLUMNS if c not in video_metadata.columns]
    if missing:
        raise ValueError(f"video_metadata has no {', '.join(missing)} columns (it was written by an older ingest); "
                         "re-run `kedro run --pipelines=ingest`")
    rows = video_metadata.loc[video_metadata.video.astype(str) == str(video)]
    if rows.empty:
        raise ValueError(f"video_metadata has no video {video!r} (videos: {sorted(video_metadata.video.astype(str))}); "
                         "re-run `kedro run --pipelines=ingest`")
    row = rows.iloc[0]
    return VideoGeometry((int(row.width), int(row.height)), (int(row.stored_width), int(row.stored_height)),
                         str(row.fit), (int(row.content_x0), int(row.content_y0), int(row.content_x1),
                                        int(row.content_y1)))


def target_geometry(video_metadata: pd.DataFrame) -> VideoGeometry:
    """Geometry of the target video (role ``target``)."""
    targets = video_metadata.loc[video_metadata.role == "target", "video"]
    if targets.empty:
        raise ValueError("video_metadata has no target video; re-run `kedro run --pipelines=ingest`")
    return video_geometry(video_metadata, str(targets.iloc[0]))
