"""Video probing, decoding with timestamp-based resampling, and H.264 encoding (PyAV)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from v2v_pipeline.storage import atomic_path, sha256_file

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


class VideoError(RuntimeError):
    """A video (or image folder) cannot be read; the message says which file and how to fix it."""


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    codec: str
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    sha256: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Frame:
    index: int  # index in the decoded stream (before resampling)
    time: float  # presentation time in seconds, from the stream's timestamps
    image: np.ndarray  # RGB uint8 (H, W, 3)
    damaged: bool = False  # the decoder rejected this frame's packet; ``image`` repeats the last good frame


@dataclass(frozen=True)
class DecodeReport:
    """What a full decode of a video found wrong, per frame (indices in presentation order, as
    :func:`frame_times`). ``damaged`` includes frames that reference a damaged one (up to the next
    keyframe: the decoder conceals errors there with stale pixels) and the first frame after a
    timestamp hole; ``holes`` counts frames missing by their timestamps."""

    path: str
    frames: int
    decode_errors: int = 0  # packets the decoder rejected or reported an error for
    missing: int = 0  # packets that gave no picture
    holes: int = 0  # frames absent by timestamps (gaps in the presentation times)
    damaged: tuple[int, ...] = ()
    first_bad_time: float | None = None
    messages: tuple[str, ...] = ()

    @property
    def bad_frames(self) -> int:
        return len(self.damaged) + self.holes

    def describe(self) -> str:
        first = f"first at {self.first_bad_time:.3f} s" if self.first_bad_time is not None else "no timestamp"
        detail = f" (decoder: {self.messages[0].strip()})" if self.messages else ""
        return (f"{self.bad_frames} bad frames of {self.frames} ({self.decode_errors} decode errors, {self.missing} "
                f"missing pictures, {self.holes} frames missing by timestamps, {len(self.damaged)} damaged incl. "
                f"frames referencing them up to the next keyframe), {first}{detail}")


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"video {path} does not exist; check the path in conf/base/parameters_ingest.yml")
    if path.stat().st_size == 0:
        raise VideoError(f"video {path} is an empty file (0 bytes); re-copy or re-export it")
    try:
        container = av.open(str(path))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(
            f"video {path} cannot be opened ({e}); the file is corrupt, truncated or not a video. "
            "Re-export it (e.g. `ffmpeg -i in -c:v libx264 -pix_fmt yuv420p out.mp4`)."
        ) from e
    if not container.streams.video:
        container.close()
        raise VideoError(f"video {path} has no video stream (zero frames, or an audio-only file); check the file")
    return container


def _check_codec(path: Path, stream: av.video.stream.VideoStream) -> None:
    ctx = stream.codec_context
    if ctx is None or not getattr(ctx, "name", None):
        tag = getattr(stream, "codec_tag", "") or "unknown"
        raise VideoError(
            f"video {path}: no decoder for its codec (tag {tag!r}) in this FFmpeg build; "
            "transcode it to H.264 (`ffmpeg -i in -c:v libx264 -pix_fmt yuv420p out.mp4`)."
        )


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Read metadata; the frame count is the number of video packets (exact, no decoding)."""
    path = Path(path)
    if path.is_dir():
        return _probe_image_folder(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        _check_codec(path, stream)
        count = 0
        last_time = 0.0
        first_time = None
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                count += 1
                if packet.pts is not None and packet.time_base is not None:
                    t = float(packet.pts * packet.time_base)
                    first_time = t if first_time is None else min(first_time, t)
                    last_time = max(last_time, t)
        except av.error.FFmpegError as e:
            raise VideoError(f"video {path} is corrupt: reading packets failed after {count} frames ({e})") from e
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if count == 0:
            raise VideoError(f"video {path} has zero frames; it is empty or truncated, re-export it")
        duration = (last_time - (first_time or 0.0)) + (1.0 / fps if fps else 0.0)
        _check_complete(path, count, stream.frames, duration, container.duration)
        return VideoInfo(
            path=str(path),
            container=container.format.name,
            codec=stream.codec_context.name,
            fps=round(fps, 6),
            frame_count=count,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration=round(duration, 6),
            sha256=sha256_file(path),
        )
    finally:
        container.close()


def _check_complete(path: Path, count: int, declared: int, duration: float, container_us: int | None) -> None:
    """Raise when the header promises more frames or time than the packets deliver (a cut-off file)."""
    if declared and count < declared - max(1, declared // 100):
        raise VideoError(
            f"video {path} is truncated: its header declares {declared} frames but only {count} are present; "
            "re-copy or re-export the file"
        )
    if container_us and container_us > 0:
        declared_s = container_us / 1e6
        if duration < 0.9 * declared_s - 1.0:
            raise VideoError(
                f"video {path} is truncated: its header declares {declared_s:.2f} s but frames stop at {duration:.2f} s; "
                "re-copy or re-export the file"
            )


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise VideoError(f"folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _probe_image_folder(folder: Path) -> VideoInfo:
    import hashlib

    files = _image_files(folder)
    first = _read_image(files[0])
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(bytes.fromhex(sha256_file(f)))
    return VideoInfo(str(folder), "image_folder", files[0].suffix.lstrip(".").lower(), 0.0, len(files),
                     first.shape[1], first.shape[0], 0.0, h.hexdigest())


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise VideoError(f"image {path} cannot be decoded; it is corrupt or not an image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


HOLE_FACTOR = 1.5  # a gap between timestamps longer than this many median frame durations is a hole


def scan_video(path: str | os.PathLike) -> DecodeReport:
    """Decode every packet of ``path`` and report what is damaged (see :class:`DecodeReport`).

    Surfaces what PyAV otherwise hides: per-packet decoder exceptions, errors the decoder only
    logs (H.264 error concealment: "error while decoding MB ..."), frames flagged corrupt,
    packets that give no picture and holes in the timestamps.
    """
    import av.logging

    path = Path(path)
    if path.is_dir():
        return DecodeReport(str(path), len(_image_files(path)))
    container = _open(path)
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    packets: list[tuple[int, bool]] = []  # (pts, keyframe) in decode order
    bad_pts: set[int] = set()
    got_pts: set[int] = set()
    errors, messages = 0, []
    try:
        stream = container.streams.video[0]
        _check_codec(path, stream)
        ctx = stream.codec_context
        with av.logging.Capture(local=False) as logs:
            for packet in container.demux(stream):
                flush = packet.size == 0
                if not flush and packet.pts is not None:
                    packets.append((int(packet.pts), bool(packet.is_keyframe)))
                seen = len(logs)
                try:
                    frames = ctx.decode(None if flush else packet)
                    failed = any(lvl <= av.logging.ERROR for lvl, _, _ in logs[seen:])
                except av.error.FFmpegError as e:
                    frames, failed = [], True
                    logs.append((av.logging.ERROR, "pyav", str(e)))
                if failed and not flush:
                    errors += 1
                    messages.extend(m for _, _, m in logs[seen:seen + 2])
                    if packet.pts is not None:
                        bad_pts.add(int(packet.pts))
                for frame in frames:
                    if frame.pts is not None:
                        got_pts.add(int(frame.pts))
                        if frame.is_corrupt:
                            bad_pts.add(int(frame.pts))
    except av.error.FFmpegError as e:
        raise VideoError(f"video {path} is corrupt: reading packets failed after {len(packets)} frames ({e})") from e
    finally:
        av.logging.set_level(level)
        container.close()
    time_base = float(stream.time_base) if stream.time_base else 0.0
    order = sorted(set(p for p, _ in packets))
    if not order:
        return DecodeReport(str(path), 0, errors, 0, 0, (), None, tuple(messages[:3]))
    position = {p: i for i, p in enumerate(order)}
    keyframes = sorted(position[p] for p, k in packets if k)
    missing = [p for p in order if p not in got_pts]
    bad = {position[p] for p in bad_pts | set(missing) if p in position}
    damaged = set()
    for i in sorted(bad):  # concealed errors propagate to every frame up to the next keyframe
        nxt = next((k for k in keyframes if k > i), len(order))
        # random bytes often decode without an error report until the next picture: the frame
        # before a detected one is taken as damaged too
        damaged.update(range(max(0, i - 1), nxt))
    times = (np.asarray(order, dtype=np.float64) - order[0]) * time_base
    holes = 0
    if len(times) > 2:
        steps = np.diff(times)
        typical = float(np.median(steps))
        if typical > 0:
            gaps = np.flatnonzero(steps > HOLE_FACTOR * typical)
            holes = int(sum(round(steps[g] / typical) - 1 for g in gaps))
            damaged.update(int(g) + 1 for g in gaps)  # the frame after a hole has no true predecessor
    first = float(times[min(damaged)]) if damaged else None
    return DecodeReport(str(path), len(order), errors, len(missing), holes, tuple(sorted(damaged)),
                        None if first is None else round(first, 6), tuple(messages[:3]))


def iter_frames(path: str | os.PathLike, folder_fps: float | None = None, max_bad: int = 0) -> Iterator[Frame]:
    """Decode every frame in presentation order with its timestamp (seconds from the first frame).

    ``Frame.index`` is the frame's position in presentation order (as in :func:`frame_times`),
    also when the decoder drops a picture. Up to ``max_bad`` packets the decoder rejects are
    replaced by the last good picture with ``damaged=True``; one more raises :class:`VideoError`
    with the count and the first bad timestamp (use :func:`scan_video` to find damage the
    decoder conceals without an error).
    """
    path = Path(path)
    if path.is_dir():
        if not folder_fps:
            raise VideoError(f"{path} is an image folder: set its fps (e.g. `fps: 30`) in parameters_ingest.yml")
        for i, f in enumerate(_image_files(path)):
            yield Frame(i, i / folder_fps, _read_image(f))
        return
    pts_list = _packet_pts(path)
    order = {int(p): i for i, p in enumerate(pts_list)}
    container = _open(path)
    try:
        stream = container.streams.video[0]
        _check_codec(path, stream)
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        t0 = None
        index = 0  # next frame index to yield
        bad: list[float] = []
        last_image = None

        def fill(upto: int) -> Iterator[Frame]:
            nonlocal index
            while index < upto:
                t = float((pts_list[index] - pts_list[0]) * stream.time_base) if stream.time_base else index / float(rate or 1)
                yield Frame(index, round(t, 9), last_image, damaged=True)
                index += 1

        def failed(where: float, error: Exception) -> None:
            bad.append(where)
            if len(bad) > max_bad:
                raise VideoError(
                    f"video {path} is corrupt: {len(bad)} packets fail to decode (first at {bad[0]:.3f} s: {error}); "
                    f"re-export it, or set ingest.max_bad_frames to keep it with the damaged frames flagged"
                ) from error

        for packet in container.demux(stream):
            try:
                frames = stream.codec_context.decode(None if packet.size == 0 else packet)
            except av.error.FFmpegError as e:
                if packet.size == 0:
                    raise VideoError(f"video {path} is corrupt: decoding failed at frame {index} ({e}); re-export it") from e
                where = float(packet.pts * packet.time_base) if packet.pts is not None else index / float(rate or 1)
                failed(where, e)
                continue
            for frame in frames:
                position = order.get(int(frame.pts)) if frame.pts is not None else index
                if position is None or position < index:  # its slot was already filled (late or unknown picture)
                    continue
                image = frame.to_ndarray(format="rgb24")
                if last_image is None:
                    last_image = image
                yield from fill(position)
                t = float(frame.pts * stream.time_base) if frame.pts is not None and stream.time_base else None
                if t is None:  # no timestamps (rare raw streams): fall back to the nominal rate
                    t = index / float(rate) if rate else float(index)
                t0 = t if t0 is None else t0
                last_image = image
                yield Frame(index, round(t - t0, 9), image)
                index += 1
        if index == 0:
            raise VideoError(f"video {path} decoded to zero frames; it is empty or truncated")
        yield from fill(len(order))
    finally:
        container.close()


def _packet_pts(path: Path) -> list[int]:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        try:
            return sorted(p.pts for p in container.demux(stream) if p.size and p.pts is not None)
        except av.error.FFmpegError as e:
            raise VideoError(f"video {path} is corrupt: reading packets failed ({e}); re-export it") from e
    finally:
        container.close()


def frame_times(path: str | os.PathLike, folder_fps: float | None = None) -> np.ndarray:
    """Presentation timestamps (seconds, first frame at 0) of every frame, from the demuxer (no decoding)."""
    path = Path(path)
    if path.is_dir():
        if not folder_fps:
            raise VideoError(f"{path} is an image folder: set its fps (e.g. `fps: 30`) in parameters_ingest.yml")
        return np.arange(len(_image_files(path))) / folder_fps
    container = _open(path)
    try:
        stream = container.streams.video[0]
        times = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    times.append(float(packet.pts * packet.time_base))
        except av.error.FFmpegError as e:
            raise VideoError(f"video {path} is corrupt: reading packets failed ({e}); re-export it") from e
    finally:
        container.close()
    if not times:
        raise VideoError(f"video {path} has zero frames (or no timestamps); it is empty or truncated")
    times = np.sort(np.asarray(times))
    return np.round(times - times[0], 9)


def select_frames(times: np.ndarray, fps: float | None, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Resample by timestamp: for output times ``start, start + 1/fps, ...`` up to the last frame
    (or ``end``), the index of the input frame with the nearest timestamp (ties: the earlier).

    With ``fps=None`` the native frames between ``start`` and ``end`` are kept. Works for
    variable frame rates and dropped frames because it looks at timestamps, not indices.
    """
    last = times[-1] if end is None else min(end, times[-1])
    if not fps:
        return np.flatnonzero((times >= start - 1e-9) & (times <= last + 1e-9))
    n = int(np.floor((last - start) * fps + 1e-6)) + 1
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    out_t = start + np.arange(n) / fps
    right = np.clip(np.searchsorted(times, out_t - 1e-9), 1, len(times) - 1)
    left = right - 1
    pick_right = (times[right] - out_t) < (out_t - times[left]) - 1e-9
    idx = np.where(pick_right, right, left)
    return np.where(out_t <= times[0], 0, idx)


def _fit_geometry(iw: int, ih: int, w: int, h: int, mode: str) -> tuple[float, int, int, int, int]:
    """Scale, resized size and the offset of the resized image inside the output frame."""
    if mode not in ("pad", "crop"):
        raise ValueError(f"fit mode must be pad, crop or stretch, not {mode!r}")
    scale = min(w / iw, h / ih) if mode == "pad" else max(w / iw, h / ih)
    nw, nh = max(1, round(iw * scale)), max(1, round(ih * scale))
    return scale, nw, nh, (w - nw) // 2 if mode == "pad" else -((nw - w) // 2), (h - nh) // 2 if mode == "pad" else -((nh - h) // 2)


def fit_to_size(image: np.ndarray, size: tuple[int, int], mode: str = "pad", pad_value: int = 0,
                interpolation: int | None = None) -> np.ndarray:
    """Resize ``image`` to ``size=(width, height)``.

    ``pad``: keep the aspect ratio, fit inside, pad the borders (nothing is cut).
    ``crop``: keep the aspect ratio, cover the frame, crop the centre.
    ``stretch``: plain resize (distorts if the aspect differs).
    """
    w, h = size
    ih, iw = image.shape[:2]
    if (iw, ih) == (w, h):
        return image
    interp = interpolation if interpolation is not None else cv2.INTER_AREA if iw * ih > w * h else cv2.INTER_LINEAR
    if mode == "stretch":
        return cv2.resize(image, (w, h), interpolation=interp)
    _, nw, nh, x0, y0 = _fit_geometry(iw, ih, w, h, mode)
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    if mode == "crop":
        return np.ascontiguousarray(resized[-y0 : -y0 + h, -x0 : -x0 + w])
    out = np.full((h, w) + image.shape[2:], pad_value, dtype=image.dtype)
    out[y0 : y0 + nh, x0 : x0 + nw] = resized
    return out


def fit_transform(src_size: tuple[int, int], size: tuple[int, int], mode: str = "pad") -> tuple[float, float, float, float]:
    """``(sx, sy, dx, dy)``: a source pixel (x, y) lands at ``(x*sx+dx, y*sy+dy)`` after :func:`fit_to_size`."""
    (iw, ih), (w, h) = src_size, size
    if mode == "stretch":
        return w / iw, h / ih, 0.0, 0.0
    _, nw, nh, x0, y0 = _fit_geometry(iw, ih, w, h, mode)
    return nw / iw, nh / ih, float(x0), float(y0)


def content_box(src_size: tuple[int, int], size: tuple[int, int], mode: str = "pad") -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: where the source picture lies in a frame made by :func:`fit_to_size`
    (the whole frame for ``crop`` and ``stretch``; without the borders for ``pad``)."""
    w, h = size
    if mode != "pad" or tuple(src_size) == (w, h):
        return 0, 0, w, h
    _, nw, nh, x0, y0 = _fit_geometry(*src_size, w, h, mode)
    return max(0, x0), max(0, y0), min(w, x0 + nw), min(h, y0 + nh)


class VideoWriter:
    """Write a playable H.264 (yuv420p) ``.mp4`` atomically with PyAV.

    Frames are RGB uint8 of one size; odd sizes are padded by one pixel to even.
    """

    def __init__(self, path: str | os.PathLike, fps: float, crf: int = 18, preset: str = "medium"):
        self.path = Path(path)
        self.fps = Fraction(fps).limit_denominator(1001)
        self.crf, self.preset = crf, preset
        self._ctx = atomic_path(self.path, suffix=self.path.suffix)
        self._container = None
        self._stream = None
        self.frames_written = 0

    def __enter__(self) -> VideoWriter:
        self._tmp = self._ctx.__enter__()
        self._container = av.open(str(self._tmp), mode="w", format="mp4")
        return self

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._stream is None:
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width, self._stream.height = w + (w % 2), h + (h % 2)
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(self.crf), "preset": self.preset}
            self._stream.codec_context.thread_count = 1  # deterministic output
        if (w + (w % 2), h + (h % 2)) != (self._stream.width, self._stream.height):
            raise VideoError(f"{self.path}: frame size {w}x{h} differs from the first frame's")
        if w % 2 or h % 2:
            image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None and self.frames_written == 0:
                exc_type = VideoError
                exc = VideoError(f"no frames were written to {self.path}")
            if self._stream is not None and exc_type is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        finally:
            result = self._ctx.__exit__(exc_type, exc, tb)
        if exc_type is VideoError and exc is not None and tb is None:
            raise exc
        return result


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float, **kwargs) -> int:
    with VideoWriter(path, fps, **kwargs) as writer:
        for image in frames:
            writer.write(image)
    return writer.frames_written


class VideoContent:
    """A video to be written by :class:`~v2v_pipeline.datasets.VideoDataset`, streamed from ``factory()``."""

    def __init__(self, factory: Callable[[], Iterable[np.ndarray]], fps: float):
        self.factory = factory
        self.fps = fps

    def write(self, path: str | os.PathLike) -> int:
        return write_video(path, self.factory(), self.fps)
