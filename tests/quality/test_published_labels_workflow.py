"""The published-label workflow end to end on real footage (EDN subject 4 with its own OpenPose label maps):
``data`` (keypoints for normalization and boxes from MediaPipe on the target's frames, the maps as the
training input), a few training steps with the face GAN, ``evaluate`` with person-box metrics, and
``transfer`` from a folder of label maps the model never saw, without normalize's outputs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_file
from v2v_pipeline.storage import Archive
from v2v_pipeline.video.io import probe_video

N_FRAMES = 120  # ingest.max_frames: frames 0..119 of the 800; the transfer uses maps of frames 790..799


def _newest(root: Path, pattern: str) -> Path:
    found = sorted(root.glob(pattern))
    assert found, f"nothing matches {pattern}"
    return found[-1]


@pytest.mark.slow
@pytest.mark.realdata
def test_published_label_maps_data_train_evaluate_transfer(kedro_project, tmp_path, caplog):
    video = shared_file("edn_subject4", "target_train.mp4")
    maps, mapping = shared_file("edn_subject4", "openpose"), shared_file("edn_subject4", "frames.csv")
    root = kedro_project.root
    params = {
        "ingest": {"target": {"name": "subject4", "path": str(video)}, "size": [256, 128], "max_frames": N_FRAMES,
                   "sources": [{"name": "source", "path": "demo:source"}]},
        "label": {"videos": {"subject4": {"backend": "label_maps", "path": str(maps), "mapping": str(mapping)}}},
        "dataset": {"size": [128, 64]},
    }
    kedro_project("data", params=params)

    frames = pd.read_parquet(_newest(root, "data/03_primary/label_frames.parquet/*/*.parquet"))
    target = frames[frames.video == "subject4"]
    assert (target.backend == "label_maps").all()
    assert target.found.mean() > 0.9  # MediaPipe on the target's own frames
    boxes = ["person_x0", "person_y0", "person_x1", "person_y1", "face_x0", "face_y0", "face_x1", "face_y1"]
    assert np.isfinite(target.loc[target.found, boxes].to_numpy()).mean() > 0.9
    norm = json.loads(_newest(root, "data/04_feature/normalization.json/*/*.json").read_text())
    assert norm["source"]["normalized"]  # normalize ran on the target's keypoints
    label_maps = Archive(_newest(root, "data/03_primary/label_maps.zip/*/label_maps.zip"))
    stored = label_maps.read("subject4/000010")  # the published map of frame 10 (frame020041.png), resized
    assert stored.shape == (128, 256, 3) and (stored > 240).all(axis=2).mean() > 0.8  # white background

    train = {"train": {"max_steps": 6, "scale": 1.0, "val_every": 3, "val_frames": 4, "checkpoint_every": 100,
                       "log_every": 2, "threads": 2, "device": "cpu", "registered_model_name": None,
                       "network": {"ngf": 8, "n_downsampling": 2, "n_blocks": 1, "ndf": 8, "num_D": 1,
                                   "n_layers_D": 2, "face_gan": True},
                       "face": {"enabled": True, "fraction": 0.5, "crop": 16}}}
    kedro_project("train", params=train)
    history = pd.read_parquet(_newest(root, "data/07_model_output/training_history.parquet/*/*.parquet"))
    assert history.filter(like="ssim_person").notna().any().any()  # validation's person-box metrics
    assert "F_rec" in history.columns and history.F_rec.notna().any()  # the face GAN trained on MediaPipe face boxes
    import torch

    model = torch.load(_newest(root, "data/06_models/generator.pt/*/generator.pt"), weights_only=False)
    assert model["face_generator"] is not None

    kedro_project("evaluate", params={"evaluate": {"device": "cpu", "max_frames": 6, "pose": {"enabled": False}}})
    per_frame = pd.read_parquet(_newest(root, "data/08_reporting/evaluation_per_frame.parquet/*/*.parquet"))
    assert per_frame.ssim_person.notna().all() and per_frame.psnr_person.notna().all()

    unseen = tmp_path / "unseen_maps"  # the last 10 published maps: frames the model never saw
    unseen.mkdir()
    table = pd.read_csv(mapping)
    for source_frame in table.source_frame.iloc[-10:]:
        shutil.copy(maps / f"frame{source_frame:06d}.png", unseen)
    shutil.rmtree(root / "data/04_feature")  # transfer from a folder needs nothing of normalize
    with caplog.at_level(logging.INFO, logger="v2v_pipeline.transfer"):
        kedro_project("transfer", params={"transfer": {"source": {"video": None, "label_folder": str(unseen),
                                                                  "fps": 7.5}, "device": "cpu"}})
    assert "face boxes from the label maps' head colours for 10 of 10 frames" in caplog.text  # the face GAN runs
    info = probe_video(_newest(root, "data/07_model_output/transfer.mp4/*/transfer.mp4"))
    assert (info.frame_count, info.width, info.height) == (10, 128, 64)
