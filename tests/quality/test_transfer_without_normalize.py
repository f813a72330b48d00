"""Transfer from a label folder depends on nothing it does not use: it runs where normalize never ran,
while a transfer from a source video says which pipeline is missing."""

from __future__ import annotations

import shutil

import pytest

from tests.evaluate.synthetic import SIZE, label, write_project_data
from v2v_pipeline.storage import encode_png
from v2v_pipeline.video.io import probe_video


def test_label_folder_transfer_runs_without_normalize_outputs(kedro_project, tmp_path):
    root = kedro_project.root
    write_project_data(root)
    shutil.rmtree(root / "data/04_feature")  # normalize has never run
    folder = tmp_path / "labels"
    folder.mkdir()
    for i in range(5):
        (folder / f"frame{i}.png").write_bytes(encode_png(label(i, SIZE)))
    with pytest.raises(Exception, match="normalize has not run"):
        kedro_project("transfer", params={"transfer": {"source": {"video": "source"}, "device": "cpu"}})
    kedro_project("transfer", params={"transfer": {"source": {"video": None, "label_folder": str(folder), "fps": 5},
                                                   "device": "cpu"}})
    videos = sorted(root.glob("data/07_model_output/transfer.mp4/*/transfer.mp4"))
    assert len(videos) == 1 and probe_video(videos[0]).frame_count == 5
