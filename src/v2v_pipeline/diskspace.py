"""Disk full: turn ENOSPC (and torch's opaque ``iostream error`` when the disk is full) into one
line naming the directory, the space needed and free, and the fix."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
MARGIN = 1 << 20  # a write failing with less than this free (or less than it needed) is a full disk


class DiskFullError(OSError):
    """No space left where an artifact or checkpoint is written; ``str()`` is the one-line message."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def free_bytes(directory: str | os.PathLike) -> int:
    path = Path(directory)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return -1


def is_disk_full(error: BaseException, directory: str | os.PathLike, needed: int = 0) -> bool:
    """ENOSPC/EDQUOT/EFBIG anywhere in the cause chain, or a failed write (torch raises
    ``RuntimeError: ... iostream error``) while the directory has less free than it needed."""
    seen = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, (OSError, RuntimeError)):
        free = free_bytes(directory)
        return 0 <= free < max(needed, MARGIN)
    return False


def disk_full_message(path: str | os.PathLike, needed: int = 0, written: int = 0, what: str = "the artifact",
                      fix: str | None = None) -> str:
    path = Path(path)
    directory = path.parent
    free = free_bytes(directory)
    need = f"needs about {human(needed)}" if needed else f"needed more than the {human(written)} written"
    fix = fix or ("free space there, or point the dataset (conf/base/catalog.yml) or the setting that names "
                  "this directory to a disk with room; the previous version is intact")
    return (f"disk full: writing {what} {path.name} to {directory} {need} but {human(max(free, 0))} is free; {fix}")


@contextlib.contextmanager
def disk_guard(path: str | os.PathLike, tmp: str | os.PathLike | None = None, needed: int = 0,
               what: str = "the artifact", fix: str | None = None) -> Iterator[None]:
    """Re-raise a disk-full failure inside the block as :class:`DiskFullError` (one line)."""
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as e:
        directory = Path(path).parent
        if not is_disk_full(e, directory, needed):
            raise
        written = 0
        if tmp is not None:
            with contextlib.suppress(OSError):
                written = os.path.getsize(tmp)
        raise DiskFullError(disk_full_message(path, needed, written, what, fix)) from e
