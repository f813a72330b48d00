"""Session ids that are unique across the processes of one project (``settings.SESSION_STORE_CLASS``).

Kedro names a session by the millisecond it was created (``kedro.io.core.generate_timestamp``) and uses
that name as the save version of every versioned dataset of the run. Two ``kedro run`` started in the
same millisecond in one project (a scheduler starting jobs together, ``ParallelRunner`` sweeps, tests) would
save to the same version folders and the second one fail with "must not exist if versioning is enabled"
after it has done its work. Kedro has no setting for the id itself, but it reads the id a run uses from
the session store, whose class is a project setting: this store hands out, under a lock on a file of the
project, the creation time or, when an earlier session already took it, the next free millisecond. The
ids keep Kedro's format (they sort as times; kedro-viz, ``load_versions`` and the run manifests parse
them) and are strictly increasing in a project on one machine and on shared filesystems with ``flock``.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kedro.framework.session.store import BaseSessionStore
from kedro.io.core import VERSION_FORMAT

from v2v_pipeline.storage import file_lock

LOCK_NAME = ".session-ids"  # in the project's data/ folder (git-ignored): the last id handed out


def parse_id(session_id: str) -> datetime:
    """The time of a Kedro session id / save version (``2026-12-08T02.28.00.520Z``)."""
    return datetime.strptime(session_id[:-1] + "000Z", VERSION_FORMAT).replace(tzinfo=timezone.utc)


def format_id(t: datetime) -> str:
    """``t`` as Kedro writes a session id (milliseconds, as ``generate_timestamp``)."""
    s = t.astimezone(timezone.utc).strftime(VERSION_FORMAT)
    return s[:-4] + s[-1:]


def lock_file(project: Path) -> Path:
    """Where a project's last session id is kept: ``data/.session-ids``, else (a read-only project) a file
    in the temporary directory named after the project's path."""
    folder = project / "data"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_NAME
        with open(path, "a"):
            return path
    except OSError:
        digest = hashlib.sha1(str(project.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"v2v-session-ids-{digest}"


def unique_session_id(session_id: str, project: Path) -> str:
    """``session_id``, or one millisecond after the newest id handed out in ``project`` when that is not older."""
    try:
        wanted = parse_id(session_id)
    except ValueError:
        return session_id  # not a timestamp (set by hand): leave it alone
    with file_lock(lock_file(project)) as handle:
        handle.seek(0)
        last = handle.read().strip()
        try:
            newest = parse_id(last) if last else None
        except ValueError:
            newest = None  # a damaged file: start again from the clock
        chosen = wanted if newest is None or wanted > newest else newest + timedelta(milliseconds=1)
        handle.seek(0)
        handle.truncate()
        handle.write(format_id(chosen))
        handle.flush()
    return format_id(chosen)


class UniqueSessionStore(BaseSessionStore):
    """Kedro's (non-persistent) session store, with the session id made unique in the project (see above).

    ``path`` is ``<project>/sessions`` (Kedro's default ``SESSION_STORE_ARGS``), so the project is its parent."""

    def __init__(self, path: str, session_id: str):
        self._raw_id = session_id
        self._unique_id = unique_session_id(session_id, Path(path).parent)
        super().__init__(path, self._unique_id)

    def __setitem__(self, key, value) -> None:
        if key == "session_id" and value == self._raw_id:  # KedroSession.create stores its own id: the run reads it here
            value = self._unique_id
        super().__setitem__(key, value)
