"""Synthetic artifacts with the layouts of the catalog, for transfer / evaluate tests.

The target "video" is a sinusoidal texture sliding ``SPEED`` pixels right per frame, so the
exact backward flow (frame t -> t-1) is ``(-SPEED, 0)`` everywhere, valid except in the
left ``SPEED`` columns; its label map *is* the frame, so a model that returns its label is
a perfect model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from v2v_pipeline.models.factory import build_models, resolve_config
from v2v_pipeline.storage import Archive, DictContent, FramesContent, frame_key, write_archive

SIZE = (64, 32)  # width, height
SPEED = 2
TINY = {"ngf": 8, "n_downsampling": 2, "n_blocks": 1}


def model_file(family: str = "pix2pixhd", size: tuple[int, int] = SIZE, face: bool = False, seed: int = 0,
               **config) -> dict:
    """A model file dict (``v2v_pipeline.inference`` format) with random tiny networks."""
    torch.manual_seed(seed)
    extra = {"face_gan": True, "face_ngf": 8, "face_n_downsampling": 1, "face_n_blocks": 1} if face else {}
    if family == "vid2vid":
        extra["n_frames_G"] = 2
    cfg = resolve_config({"model": family, **TINY, **extra, **config})
    nets = build_models(cfg)
    return {"format": "v2v_pipeline/generator-v1", "model_config": cfg, "generator": nets.generator.state_dict(),
            "face_generator": nets.face_generator.state_dict() if nets.face_generator is not None else None,
            "face_crop": 16, "size": list(size), "label_channels": 3, "step": 7}


def frame(t: int, size: tuple[int, int] = SIZE, phase: float = 0.0) -> np.ndarray:
    w, h = size
    x = np.arange(w, dtype=np.float64)[None, :] - SPEED * t
    y = np.arange(h, dtype=np.float64)[:, None]
    r = 128 + 100 * np.sin(2 * np.pi * x / 23 + phase) * np.cos(2 * np.pi * y / 17)
    g = 128 + 90 * np.cos(2 * np.pi * (x + y) / 31 + phase)
    b = 128 + 80 * np.sin(2 * np.pi * x / 11) * np.ones_like(y)
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def label(t: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A white canvas with a moving coloured bar (an RGB label map)."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    x0 = (3 * t) % (w - 8)
    img[h // 4 : 3 * h // 4, x0 : x0 + 8] = (255, 0, 85)
    return img


def splits(n: int) -> list[str]:
    """train ... | gap x2 | val x4 | gap x2 | test: last quarter, with one gap frame inside it (two segments)."""
    out = ["train"] * n
    t0 = n - n // 4
    out[t0 - 8 : t0 - 6] = ["gap"] * 2
    out[t0 - 6 : t0 - 2] = ["val"] * 4
    out[t0 - 2 : t0] = ["gap"] * 2
    out[t0:] = ["test"] * (n - t0)
    out[t0 + (n - t0) // 2] = "gap"  # a hole in the test split: the temporal state must reset
    return out


def dataset_frames(n: int, size: tuple[int, int] = SIZE) -> pd.DataFrame:
    w, h = size
    table = pd.DataFrame({"frame": np.arange(n, dtype=np.int64), "time": np.arange(n) / 10.0, "split": splits(n),
                          "found": np.ones(n, bool)})
    table["face_x0"], table["face_y0"], table["face_x1"], table["face_y1"] = w * 0.4, 1.0, w * 0.6, h * 0.4
    table["person_x0"], table["person_y0"], table["person_x1"], table["person_y1"] = w * 0.25, 2.0, w * 0.75, h - 2.0
    table.loc[n - 1, ["person_x0", "person_y0", "person_x1", "person_y1"]] = np.nan  # a frame without a person
    return table


def dataset_archive(n: int, size: tuple[int, int] = SIZE, label_is_image: bool = True) -> DictContent:
    w, h = size
    items = {}
    for t in range(n):
        img = frame(t, size)
        flow = np.zeros((h, w, 2), np.float16)
        valid = np.zeros((h, w), np.uint8)
        if t > 0:
            flow[..., 0] = -SPEED
            valid[:, SPEED:] = 255
        items[f"label/{t:06d}"] = img if label_is_image else label(t, size)
        items[f"image/{t:06d}"] = img
        items[f"flow/{t:06d}"] = flow
        items[f"valid/{t:06d}"] = valid
    return DictContent(items)


def stored_dataset(folder: Path, n: int) -> tuple[Archive, pd.DataFrame]:
    """:func:`dataset_archive` written to ``folder/dataset.zip`` and opened, with its frames table."""
    path = folder / "dataset.zip"
    write_archive(path, dataset_archive(n))
    return Archive(path), dataset_frames(n)


def keypoints_table(video: str, n: int, size: tuple[int, int] = SIZE) -> pd.DataFrame:
    """Tidy BODY_25 table: joint j of frame t at a fixed spot, confidence 0.9 (joints 15..24 missing)."""
    w, h = size
    rows = []
    for t in range(n):
        for j in range(25):
            rows.append((video, t, 0, j, w * (0.3 + 0.016 * j), h * (0.1 + 0.03 * j), 0.9 if j < 15 else 0.0))
    return pd.DataFrame(rows, columns=["video", "frame", "person", "joint", "x", "y", "confidence"])


def frame_index(target: str, n_target: int, sources: dict[str, int], fps: float = 10.0) -> pd.DataFrame:
    rows = []
    for video, role, count in [(target, "target", n_target)] + [(s, "source", c) for s, c in sources.items()]:
        sp = splits(count) if role == "target" else ["source"] * count
        for i in range(count):
            rows.append((video, role, i, i / fps, i, i / fps, fps, sp[i]))
    return pd.DataFrame(rows, columns=["video", "role", "frame", "time", "source_frame", "source_time", "fps", "split"])


def video_metadata(target: str, sources: list[str], size: tuple[int, int] = SIZE) -> pd.DataFrame:
    """The recorded geometry of each video (stored at ``size``, no borders), as ingest writes it."""
    from v2v_pipeline.video.geometry import VideoGeometry

    geometry = VideoGeometry.of(size, size, "pad").columns()
    return pd.DataFrame([{"video": v, "role": role, "width": size[0], "height": size[1], **geometry}
                         for v, role in [(target, "target")] + [(s, "source") for s in sources]])


def label_frames(video: str, n: int, size: tuple[int, int] = SIZE) -> pd.DataFrame:
    w, h = size
    return pd.DataFrame({"video": video, "frame": np.arange(n), "found": True, "interpolated": False,
                         "face_x0": w * 0.4, "face_y0": 1.0, "face_x1": w * 0.6, "face_y1": h * 0.4,
                         "person_x0": w * 0.25, "person_y0": 2.0, "person_x1": w * 0.75, "person_y1": h - 2.0})


def write_project_data(root: Path, n_target: int = 40, n_source: int = 12, family: str = "pix2pixhd",
                       face: bool = False, model_size: tuple[int, int] = SIZE, size: tuple[int, int] = SIZE,
                       history: list[dict] | None = None) -> dict:
    """Save every input of ``transfer`` and ``evaluate`` into ``root``'s catalog paths (as versioned saves);
    ``history`` is stored in the model file as its training history."""
    import yaml
    from kedro.io import DataCatalog

    config = yaml.safe_load((root / "conf" / "base" / "catalog.yml").read_text())
    names = ["video_metadata", "frame_index", "frames", "normalized_label_maps", "normalized_label_frames", "dataset_archive",
             "dataset_frames", "dataset_sequences", "dataset_manifest", "keypoints", "trained_model"]
    config = {k: {**v, "filepath": str(root / v["filepath"])} for k, v in config.items() if k in names}
    catalog = DataCatalog.from_config(config)
    target, source = "target", "source"

    def frames_items():
        for t in range(n_target):
            yield frame_key(target, t), frame(t, size)
        for t in range(n_source):
            yield frame_key(source, t), frame(t, size, phase=1.0)

    catalog.save("video_metadata", video_metadata(target, [source], size))
    catalog.save("frame_index", frame_index(target, n_target, {source: n_source}))
    catalog.save("frames", FramesContent(frames_items))
    catalog.save("normalized_label_maps", DictContent({frame_key(source, t): label(t, size) for t in range(n_source)}))
    catalog.save("normalized_label_frames", label_frames(source, n_source, size))
    catalog.save("dataset_archive", dataset_archive(n_target, size))
    catalog.save("dataset_frames", dataset_frames(n_target, size))
    from v2v_pipeline.training.build import find_sequences

    catalog.save("dataset_sequences", find_sequences(dataset_frames(n_target, size), 2))  # what train reads
    from v2v_pipeline.storage import sha256_file

    archive = sorted((root / config["dataset_archive"]["filepath"]).glob("*/*"))[-1]
    catalog.save("dataset_manifest", {"sha256": "synthetic", "archive_sha256": sha256_file(archive)})
    catalog.save("keypoints", keypoints_table(target, n_target, size))
    model = model_file(family, model_size, face)
    if history is not None:
        model["history"] = history
    catalog.save("trained_model", model)
    return model
