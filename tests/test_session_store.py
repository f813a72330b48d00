"""Session ids unique across the processes of one project (settings.SESSION_STORE_CLASS)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from kedro.io.core import generate_timestamp

from v2v_pipeline.session_store import LOCK_NAME, format_id, parse_id, unique_session_id

SAME_MS = "2026-12-08T02.28.00.520Z"


def _take(args) -> str:
    project, raw = args
    return unique_session_id(raw, Path(project))


def test_ids_keep_kedros_format():
    now = generate_timestamp()
    assert format_id(parse_id(now)) == now
    assert format_id(parse_id(SAME_MS)) == SAME_MS


def test_processes_starting_in_the_same_millisecond_get_increasing_ids(tmp_path):
    with mp.get_context("spawn").Pool(4) as pool:
        ids = pool.map(_take, [(str(tmp_path), SAME_MS)] * 8)
    assert len(set(ids)) == 8
    assert min(ids) == SAME_MS and max(ids) == "2026-12-08T02.28.00.527Z"  # the next free milliseconds
    assert (tmp_path / "data" / LOCK_NAME).read_text() == max(ids)


def test_a_later_clock_is_kept_and_an_earlier_one_moves_past_the_newest(tmp_path):
    assert unique_session_id(SAME_MS, tmp_path) == SAME_MS
    assert unique_session_id("2026-12-08T02.28.01.000Z", tmp_path) == "2026-12-08T02.28.01.000Z"
    assert unique_session_id(SAME_MS, tmp_path) == "2026-12-08T02.28.01.001Z"  # the clock went back (NTP)
    assert unique_session_id("by-hand", tmp_path) == "by-hand"  # not a timestamp: left alone


def test_a_damaged_lock_file_starts_again_from_the_clock(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / LOCK_NAME).write_text("garbage")
    assert unique_session_id(SAME_MS, tmp_path) == SAME_MS


def test_two_kedro_sessions_created_in_the_same_millisecond_run_under_different_versions(kedro_project, monkeypatch):
    import kedro.framework.session.session as kedro_session
    from kedro.framework.session import KedroSession

    monkeypatch.setattr(kedro_session, "generate_timestamp", lambda: SAME_MS)  # a frozen clock: every create collides
    root = kedro_project.root
    first = KedroSession.create(project_path=root)
    second = KedroSession.create(project_path=root)
    try:
        assert first.store["session_id"] == SAME_MS
        assert second.store["session_id"] == "2026-12-08T02.28.00.521Z"  # what session.run uses as save version
    finally:
        first.close()
        second.close()
