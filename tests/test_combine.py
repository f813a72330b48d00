"""The gather nodes' library code: per-video artifacts joined into the combined ones give the bytes
and tables one loop over the videos gives (v2v_pipeline.combine, storage.ConcatContent)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from v2v_pipeline.combine import concat_archives, groups, records_table
from v2v_pipeline.storage import Archive, sha256_file, write_archive


def _members(video: str) -> dict:
    rng = np.random.default_rng(len(video))
    return {f"{video}/000000": rng.integers(0, 255, (8, 12, 3), dtype=np.uint8),  # PNG, stored
            f"{video}/000001": rng.normal(size=(4, 4)).astype(np.float16),  # npy, deflated
            f"{video}/meta": {"video": video}}  # json, deflated


def test_concatenated_archives_are_the_archive_written_in_one_loop(tmp_path):
    write_archive(tmp_path / "a.zip", _members("target"))
    write_archive(tmp_path / "b.zip", _members("source"))
    write_archive(tmp_path / "one.zip", {**_members("target"), **_members("source")})
    write_archive(tmp_path / "joined.zip", concat_archives([Archive(tmp_path / "a.zip"), Archive(tmp_path / "b.zip")]))
    assert sha256_file(tmp_path / "joined.zip") == sha256_file(tmp_path / "one.zip")


def test_records_table_infers_the_column_types_over_all_videos(tmp_path):
    rows = [{"video": "t", "rotation": None, "fps": 15}, {"video": "s", "rotation": 90, "fps": 25.0}]
    parts = []
    for i, row in enumerate(rows):  # each video's one-row table, stored and loaded
        pd.DataFrame([row]).to_parquet(tmp_path / f"{i}.parquet")
        parts.append(pd.read_parquet(tmp_path / f"{i}.parquet"))
    pd.testing.assert_frame_equal(records_table(parts), pd.DataFrame(rows))


def test_groups_splits_a_gather_nodes_inputs_per_video():
    assert groups(["a1", "a2", "b1", "b2"], 2) == [("a1", "a2"), ("b1", "b2")]
