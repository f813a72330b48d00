"""Training sequences: inside one split, only frames with a person, consecutive frames only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from v2v_pipeline.training.build import find_sequences, table_hash


def test_sequences_skip_frames_without_a_person_and_never_cross_splits():
    split = ["train"] * 10 + ["gap"] * 2 + ["val"] * 4 + ["gap"] * 2 + ["test"] * 5
    found = np.ones(len(split), bool)
    found[4] = False  # a frame where the labeler found nobody
    table = pd.DataFrame({"frame": np.arange(len(split)), "split": split, "found": found})
    seq = find_sequences(table, length=3)
    train = seq[seq.split == "train"].start_frame.tolist()
    assert train == [0, 1, 5, 6, 7]  # no window contains frame 4
    assert seq[seq.split == "val"].start_frame.tolist() == [12, 13]
    assert seq[seq.split == "test"].start_frame.tolist() == [18, 19, 20]
    for _, row in seq.iterrows():
        frames = table.iloc[row.start_frame : row.start_frame + row.length]
        assert (frames.split == row.split).all() and frames.found.all()


def test_table_hash_sees_values_not_bytes():
    a = pd.DataFrame({"frame": [0, 1], "x": [0.5, 1.5]})
    assert table_hash(a) == table_hash(a.copy())
    assert table_hash(a) != table_hash(a.assign(x=[0.5, 1.25]))
