"""Frame extraction: probe every configured video, choose frames by timestamp, split by time, decode."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from v2v_pipeline.progress import progress
from v2v_pipeline.storage import frame_key
from v2v_pipeline.video.config import IngestConfig, SplitConfig, VideoSpec
from v2v_pipeline.video.geometry import VideoGeometry
from v2v_pipeline.video.io import (
    VideoError,
    fit_to_size,
    frame_times,
    iter_frames,
    probe_video,
    scan_video,
    select_frames,
)

log = logging.getLogger(__name__)


def local_path(path: str, seed: int) -> Path:
    """A video spec's path as a file or folder on this machine (``resolve`` of :func:`probe_all`)."""
    return Path(path).expanduser()


def spec_key(p: IngestConfig, name: str) -> tuple[str, str, VideoSpec]:
    """``(role, parameter key, spec)`` of the configured video ``name`` (``ingest.sources[1]``...)."""
    n_source = 0
    for role, spec in p.videos:
        if spec.name == name:
            return role, "ingest.target" if role == "target" else f"ingest.sources[{n_source}]", spec
        n_source += role == "source"
    raise VideoError(f"video '{name}' is not configured (ingest.target.name / ingest.sources[].name are "
                     f"{[s.name for _, s in p.videos]})")


def probe_all(p: IngestConfig, resolve: Callable[[str, int], Path] = local_path) -> pd.DataFrame:
    """One row per video: probe data (original ``width``, ``height``, ...) and the stored geometry
    (:data:`~v2v_pipeline.video.geometry.GEOMETRY_COLUMNS`). ``resolve(path, demo_seed)`` turns a
    spec's path into a file (:func:`v2v_pipeline.demo.resolve_video` also renders ``demo:`` videos)."""
    return pd.DataFrame([probe_row(p, spec.name, resolve) for _, spec in p.videos])


def probe_video_table(p: IngestConfig, name: str, resolve: Callable[[str, int], Path] = local_path) -> pd.DataFrame:
    """:func:`probe_all` for the one video ``name`` (a one-row table; :func:`combine.metadata_table` joins them)."""
    return pd.DataFrame([probe_row(p, name, resolve)])


def probe_row(p: IngestConfig, name: str, resolve: Callable[[str, int], Path] = local_path) -> dict:
    role, key, spec = spec_key(p, name)
    key += ".path"
    path = resolve(spec.path, p.demo_seed)
    if not Path(path).exists():
        from v2v_pipeline.config import where_to_fix

        raise VideoError(f"{role} video '{spec.name}': {path} does not exist (working directory {Path.cwd()}); "
                         f"fix {key} in {where_to_fix(key)}")
    info = probe_video(path).as_dict()
    if info["container"] == "image_folder":
        if not spec.folder_fps:
            raise VideoError(f"{path} is an image folder: set folder_fps for video '{spec.name}' in "
                             "parameters_ingest.yml")
        info["fps"] = spec.folder_fps
        info["duration"] = info["frame_count"] / spec.folder_fps
    info.update(check_damage(spec.name, path, p.max_bad_frames))
    log.info("%s video '%s': %s %dx%d, %d frames at %.3f fps (%.1f s), %s",
             role, spec.name, info["codec"], info["width"], info["height"], info["frame_count"],
             info["fps"], info["duration"], path)
    geometry = VideoGeometry.of((info["width"], info["height"]), p.size, p.fit)
    return {"video": spec.name, "role": role, **info, **geometry.columns()}


def check_damage(name: str, path: Path, max_bad: int) -> dict:
    """Decode the whole video once: refuse it above ``max_bad`` damaged frames, else return the
    columns ``bad_frames`` / ``damaged_frames`` (JSON list of frame indices) / ``first_bad_time``."""
    import json

    from v2v_pipeline import tracking

    report = scan_video(path)
    if report.bad_frames > max_bad:
        raise VideoError(
            f"video '{name}' ({path}) is damaged: {report.describe()}; ingest.max_bad_frames is {max_bad}. "
            "Re-copy or re-download the original (re-encoding this file would bake the damage in), "
            f"or set ingest.max_bad_frames to {report.bad_frames} or more to keep it with the damaged frames flagged "
            "and left out of training"
        )
    if report.bad_frames:
        log.warning("video '%s' (%s): %s; they are flagged in frame_index.damaged and left out of training",
                    name, path, report.describe())
    tracking.log_metrics({f"ingest_bad_frames_{name}": report.bad_frames})
    return {"bad_frames": report.bad_frames, "damaged_frames": json.dumps(list(report.damaged)),
            "first_bad_time": report.first_bad_time if report.first_bad_time is not None else float("nan")}


def damaged_rows(row, times: np.ndarray, chosen: np.ndarray, out_times: np.ndarray, native_fps: float) -> np.ndarray:
    """Stored frames that come from a damaged picture, or (resampled) from more than a frame away."""
    import json

    bad = np.isin(chosen, json.loads(row.damaged_frames)) if "damaged_frames" in row.index else np.zeros(len(chosen), bool)
    if native_fps:
        bad |= np.abs(times[chosen] - out_times) > 1.0 / native_fps + 1e-6
    return bad


def usable(rows: pd.DataFrame) -> np.ndarray:
    """False for frame_index rows flagged ``damaged`` at ingest (they must not enter training pairs)."""
    if "damaged" not in rows:
        return np.ones(len(rows), bool)
    bad = rows["damaged"].to_numpy(bool)
    if bad.any():
        log.warning("%d damaged frames of '%s' left out of training sequences (frames %s)", int(bad.sum()),
                    rows.video.iloc[0], rows.frame.to_numpy()[bad][:10].tolist())
    return ~bad


def split_labels(n: int, split: SplitConfig) -> np.ndarray:
    """Time-ordered split of ``n`` frames: train, gap, val, gap, test (never random)."""
    n_test = int(round(n * split.test))
    n_val = int(round(n * split.val))
    gaps = split.gap * ((n_val > 0) + (n_test > 0))
    n_train = n - n_test - n_val - gaps
    if n_train < 1:
        raise VideoError(f"only {n} target frames: too few for the configured split (val {split.val}, test {split.test}, gap {split.gap})")
    labels = np.array(["train"] * n, dtype=object)
    i = n_train
    for name, count in (("val", n_val), ("test", n_test)):
        if count:
            labels[i : i + split.gap] = "gap"
            i += split.gap
            labels[i : i + count] = name
            i += count
    return labels


def build_frame_index(p: IngestConfig, metadata: pd.DataFrame) -> pd.DataFrame:
    """Rows ``video, role, frame, time, source_frame, source_time, split`` for every stored frame."""
    return pd.concat([index_video(p, spec.name, metadata) for _, spec in p.videos], ignore_index=True)


def index_video(p: IngestConfig, name: str, metadata: pd.DataFrame) -> pd.DataFrame:
    """:func:`build_frame_index` of the one video ``name`` (its row of ``metadata`` is enough)."""
    role, _, spec = spec_key(p, name)
    row = metadata.loc[metadata.video == spec.name].iloc[0]
    times = frame_times(row.path, folder_fps=spec.folder_fps)
    if len(times) != row.frame_count:
        raise VideoError(f"video {row.path} changed since it was probed ({len(times)} vs {row.frame_count} frames); re-run ingest")
    fps = spec.fps if spec.fps is not None else p.fps
    chosen = select_frames(times, fps, spec.start, spec.end)
    if p.max_frames is not None:
        chosen = chosen[: p.max_frames]
    if len(chosen) == 0:
        raise VideoError(f"no frames of '{spec.name}' fall between start={spec.start}s and end={spec.end}s")
    out_fps = fps or row.fps
    t = pd.DataFrame({
        "video": spec.name,
        "role": role,
        "frame": np.arange(len(chosen), dtype=np.int64),
        "time": np.round(spec.start + np.arange(len(chosen)) / out_fps, 9) if fps else times[chosen],
        "source_frame": chosen.astype(np.int64),
        "source_time": times[chosen],
        "fps": float(out_fps),
    })
    t["split"] = split_labels(len(t), p.split) if role == "target" else "source"
    t["damaged"] = damaged_rows(row, times, chosen, t.time.to_numpy(), float(row.fps or 0))
    log.info("'%s': %d frames kept at %.3f fps (%s)", spec.name, len(t), out_fps,
             ", ".join(f"{k} {v}" for k, v in t.split.value_counts().sort_index().items()))
    return t


def iter_extracted_frames(p: IngestConfig, metadata: pd.DataFrame, index: pd.DataFrame,
                          videos: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Decode each video (of ``videos``; None = all configured) once and yield ``(key, frame)`` at the
    configured size, in index order."""
    for _, spec in p.videos:
        if videos is not None and spec.name not in videos:
            continue
        path = metadata.loc[metadata.video == spec.name, "path"].iloc[0]
        rows = index[index.video == spec.name]
        wanted: dict[int, list[int]] = {}
        for out, src in zip(rows.frame.to_numpy(), rows.source_frame.to_numpy()):
            wanted.setdefault(int(src), []).append(int(out))
        last = max(wanted)
        done = 0
        with progress(total=len(rows), desc=f"decode {spec.name}", unit="frame", leave=False) as bar:
            for frame in iter_frames(path, folder_fps=spec.folder_fps, max_bad=p.max_bad_frames):
                outs = wanted.get(frame.index)
                if outs:
                    image = fit_to_size(frame.image, p.size, p.fit, p.pad_value)
                    for out in outs:
                        yield frame_key(spec.name, out), image
                        done += 1
                    bar.update(len(outs))
                if frame.index >= last:
                    break
        if done != len(rows):
            raise VideoError(
                f"video {path} is truncated: decoding stopped after {done} of {len(rows)} frames; "
                "re-export or re-download it"
            )
