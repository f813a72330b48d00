"""Deterministic, atomic artifact storage.

Frames, label maps, masks and flows are stored as **zip archives** of PNG images and
``.npy`` arrays. Archives are written so that the same content always gives the same
bytes (fixed member timestamps and permissions, fixed PNG compression level, members
in the order they are added), which makes dataset rebuilds verifiable by SHA-256.

Every file is written to a temporary name beside its destination and renamed only
when complete, so a crash never leaves a half-written artifact that looks finished.

Artifacts may live on any fsspec file system (``s3://``, ``gs://``, ``memory://``, ...):
:func:`staged_write` writes a local temporary file and uploads it in one ``put`` (a
single object appears only once complete on object stores; elsewhere it is put under a
temporary name and moved), and :func:`local_copy` gives readers that need a real file
(zip archives, PyAV) a cached local copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import cv2
import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem

from v2v_pipeline.diskspace import disk_guard

PNG_COMPRESSION = 3  # fixed: part of the byte-identical guarantee
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


class StorageError(RuntimeError):
    """An artifact could not be read or written."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 of a local file, or of any fsspec URL (``memory://...``, ``s3://...``)."""
    h = hashlib.sha256()
    opener = fsspec.open(str(path), "rb") if _is_url(path) else open(path, "rb")
    with opener as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".partial", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; finished artifacts get the usual mode
    try:
        with disk_guard(path, tmp_path):  # ENOSPC: one line naming the directory, space needed / free, the fix
            yield tmp_path
            os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[Any]:
    """An exclusive lock between processes on the file ``path`` (created if missing), yielding it open for
    reading and appending; no lock where ``fcntl`` is missing (Windows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield handle
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_url(path: str | os.PathLike) -> bool:
    return "://" in str(path)


# Object stores publish an object only when its upload is complete, so one ``put`` is atomic there.
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "memory"})


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return isinstance(fs, LocalFileSystem)


def _protocols(fs: fsspec.AbstractFileSystem) -> set[str]:
    return {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)


def upload_atomic(fs: fsspec.AbstractFileSystem, local: str | os.PathLike, path: str) -> None:
    """Copy the finished local file ``local`` to ``path`` on ``fs`` so that ``path`` is never partial."""
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        with contextlib.suppress(OSError, NotImplementedError):
            fs.makedirs(parent, exist_ok=True)
    if _protocols(fs) & OBJECT_STORE_PROTOCOLS:
        fs.put_file(str(local), path)
        return
    name = path.rsplit("/", 1)[-1]
    tmp = f"{parent}/.{name}.{os.getpid()}.{os.urandom(4).hex()}.partial" if parent else f".{name}.partial"
    try:
        fs.put_file(str(local), tmp)
        fs.mv(tmp, path)
    finally:
        with contextlib.suppress(OSError, FileNotFoundError):
            if fs.exists(tmp):
                fs.rm(tmp)


@contextlib.contextmanager
def staged_write(fs: fsspec.AbstractFileSystem, path: str, suffix: str = "", atomic_writer: bool = False) -> Iterator[Path]:
    """Yield a local path to write ``path`` (on ``fs``) through; it appears there complete or not at all.

    On the local disk this is :func:`atomic_path` (a temp file beside ``path``, renamed), or with
    ``atomic_writer=True`` (the writer itself writes atomically, e.g. :class:`ArchiveWriter`) just
    ``path``. Elsewhere the file is written into a local temp folder under its own name (so a
    writer that picks a format from the extension still can) and uploaded with :func:`upload_atomic`.
    """
    if is_local(fs):
        if atomic_writer:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            yield Path(path)
        else:
            with atomic_path(path, suffix=suffix) as tmp:
                yield tmp
        return
    with tempfile.TemporaryDirectory(prefix="v2v-stage-") as folder:
        local = Path(folder) / path.rsplit("/", 1)[-1]
        yield local
        upload_atomic(fs, local, path)


def cache_dir() -> Path:
    """Where remote artifacts are copied for readers that need a local file (``$V2V_CACHE_DIR``)."""
    return Path(os.environ.get("V2V_CACHE_DIR") or Path(tempfile.gettempdir()) / "v2v_pipeline-cache")


def local_copy(fs: fsspec.AbstractFileSystem, path: str) -> Path:
    """A local file with the content of ``path`` on ``fs``: the file itself on the local disk, else a
    cached download (kept per URL and refreshed when the size changes; versioned files never change)."""
    if is_local(fs):
        return Path(path)
    url = fs.unstrip_protocol(path)
    info = fs.info(path)
    size = info.get("size")
    folder = cache_dir() / hashlib.sha256(url.encode()).hexdigest()[:24]
    local = folder / path.rsplit("/", 1)[-1]
    if local.is_file() and size is not None and local.stat().st_size == size:
        return local
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(local, suffix=local.suffix) as tmp:
        fs.get_file(path, str(tmp))
    return local


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_bytes_atomic(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB (H, W, 3) or single-channel (H, W) uint8/uint16 image."""
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image), [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise StorageError(f"could not PNG-encode an array of shape {image.shape} and dtype {image.dtype}")
    return buf.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise StorageError("corrupt PNG member")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    return img


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


class ArchiveWriter:
    """Write a deterministic zip archive. Use as a context manager; it is renamed into place on exit."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._zip: zipfile.ZipFile | None = None
        self._names: set[str] = set()

    def __enter__(self) -> ArchiveWriter:
        tmp = self._ctx.__enter__()
        self._zip = zipfile.ZipFile(tmp, "w", allowZip64=True)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        assert self._zip is not None
        self._zip.close()
        return self._ctx.__exit__(exc_type, exc, tb)

    def add_bytes(self, name: str, data: bytes, compress: bool = False) -> None:
        if self._zip is None:
            raise StorageError("ArchiveWriter used outside its 'with' block")
        if name in self._names:
            raise StorageError(f"duplicate archive member {name!r} in {self.path}")
        self._names.add(name)
        info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        self._zip.writestr(info, data, compress_type=info.compress_type, compresslevel=6 if compress else None)

    def add_image(self, name: str, image: np.ndarray) -> None:
        """Add an image as ``<name>.png`` (RGB or single channel)."""
        self.add_bytes(name if name.endswith(".png") else f"{name}.png", encode_png(image))

    def add_array(self, name: str, array: np.ndarray, compress: bool = True) -> None:
        """Add an array as ``<name>.npy`` (deflate-compressed by default)."""
        self.add_bytes(name if name.endswith(".npy") else f"{name}.npy", _npy_bytes(array), compress)

    def add_json(self, name: str, obj: Any) -> None:
        data = json.dumps(obj, indent=1, sort_keys=True).encode()
        self.add_bytes(name if name.endswith(".json") else f"{name}.json", data, compress=True)


class ArchiveContent(Protocol):
    """Anything a node can return for an archive dataset: it writes itself into a writer."""

    def write_to(self, writer: ArchiveWriter) -> None: ...


class Archive:
    """Lazy read access to an archive written by :class:`ArchiveWriter`.

    Members are addressed by name without extension, e.g. ``"target/000012"``.
    The zip handle is opened per process, so an ``Archive`` can be handed to
    DataLoader workers.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise StorageError(f"archive {self.path} does not exist; run the pipeline that produces it first")
        self._zip: zipfile.ZipFile | None = None
        self._pid = -1
        self._members: dict[str, str] | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def _handle(self) -> zipfile.ZipFile:
        if self._zip is None or self._pid != os.getpid():
            try:
                self._zip = zipfile.ZipFile(self.path, "r")
            except zipfile.BadZipFile as e:
                raise StorageError(f"{self.path} is not a complete archive ({e}); delete it and rebuild") from e
            self._pid = os.getpid()
        return self._zip

    @property
    def members(self) -> dict[str, str]:
        """Map from member key (name without extension) to the stored file name."""
        if self._members is None:
            self._members = {os.path.splitext(n)[0]: n for n in self._handle().namelist()}
        return self._members

    def keys(self, prefix: str = "") -> list[str]:
        return [k for k in self.members if k.startswith(prefix)]

    def __contains__(self, key: str) -> bool:
        return key in self.members

    def __len__(self) -> int:
        return len(self.members)

    def read_bytes(self, key: str) -> bytes:
        try:
            name = self.members[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in archive {self.path}") from None
        return self._handle().read(name)

    def read(self, key: str) -> Any:
        """Decode a member by its extension: PNG -> ndarray, NPY -> ndarray, JSON -> object."""
        name = self.members.get(key)
        if name is None:
            raise KeyError(f"{key!r} is not in archive {self.path}")
        data = self._handle().read(name)
        if name.endswith(".png"):
            return decode_png(data)
        if name.endswith(".npy"):
            return np.load(io.BytesIO(data), allow_pickle=False)
        if name.endswith(".json"):
            return json.loads(data)
        return data

    def sequence(self, prefix: str) -> FrameSequence:
        return FrameSequence(self, prefix)

    def stored_members(self) -> Iterator[tuple[str, bytes, bool]]:
        """``(file name, content, deflated)`` of every member, in the archive's order (for copying)."""
        handle = self._handle()
        for info in handle.infolist():
            yield info.filename, handle.read(info), info.compress_type == zipfile.ZIP_DEFLATED

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


class FrameSequence(Sequence):
    """The numbered members ``<prefix>/000000``, ``<prefix>/000001``, ... of an archive."""

    def __init__(self, archive: Archive, prefix: str):
        self.archive = archive
        self.prefix = prefix.rstrip("/")
        self._keys = sorted(archive.keys(self.prefix + "/"))
        if not self._keys:
            raise KeyError(f"archive {archive.path} has no frames under {self.prefix!r}")

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.archive.read(k) for k in self._keys[i]]
        return self.archive.read(self._keys[i])


def frame_key(video: str, index: int) -> str:
    return f"{video}/{index:06d}"


class FramesContent:
    """Archive content streamed from ``(key, image)`` pairs produced lazily by ``factory()``."""

    def __init__(self, factory: Callable[[], Iterable[tuple[str, np.ndarray]]], kind: str = "image"):
        self.factory = factory
        self.kind = kind

    def write_to(self, writer: ArchiveWriter) -> None:
        add = writer.add_image if self.kind == "image" else writer.add_array
        for key, item in self.factory():
            add(key, item)


class DictContent:
    """Archive content from an in-memory mapping of key -> image / array / json-able object."""

    def __init__(self, items: Mapping[str, Any]):
        self.items = items

    def write_to(self, writer: ArchiveWriter) -> None:
        for key, item in self.items.items():
            if isinstance(item, np.ndarray) and item.dtype == np.uint8 and item.ndim in (2, 3):
                writer.add_image(key, item)
            elif isinstance(item, np.ndarray):
                writer.add_array(key, item)
            else:
                writer.add_json(key, item)


class ConcatContent:
    """The members of several archives, in the given order, copied byte for byte (no image is
    decoded or encoded; deflated members are deflated again at the writer's fixed level, which gives
    the same bytes). An archive written member by member for several videos equals the
    concatenation of the per-video archives written the same way."""

    def __init__(self, archives: Sequence[Archive]):
        self.archives = list(archives)

    def write_to(self, writer: ArchiveWriter) -> None:
        for archive in self.archives:
            for name, data, deflated in archive.stored_members():
                writer.add_bytes(name, data, compress=deflated)


def write_archive(path: str | os.PathLike, content: ArchiveContent | Mapping[str, Any]) -> None:
    if isinstance(content, Mapping):
        content = DictContent(content)
    with ArchiveWriter(path) as writer:
        content.write_to(writer)
