"""Build the training dataset: one self-contained archive of the target video at training size.

For every target frame ``t``: the label map, the real frame, the backward flow ``t -> t-1``
(float16; zeros for the first frame) and its validity mask; plus a per-frame table
(split, person found, face and person boxes) and a table of training sequences: runs of
``sequence_length`` consecutive frames inside one split where a person was found in
every frame. Everything is deterministic, so a rebuild gives the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import numpy as np
import pandas as pd

from v2v_pipeline.boxes import scale_box_columns
from v2v_pipeline.flow.video import FlowReader
from v2v_pipeline.progress import progress
from v2v_pipeline.schema import BOX_COLUMNS, frame_member, resize_flow, resize_image, resize_valid
from v2v_pipeline.storage import Archive, ArchiveWriter, frame_key, sha256_file
from v2v_pipeline.video.ingest import usable

log = logging.getLogger(__name__)

def target_frames_table(frame_index: pd.DataFrame, label_frames: pd.DataFrame) -> pd.DataFrame:
    """Per target frame: frame, time, split, found, boxes (from the label pipeline)."""
    target = frame_index[frame_index.role == "target"]
    video = str(target.video.iloc[0])
    labels = label_frames[label_frames.video == video].set_index("frame")
    table = target[["frame", "time", "split"]].reset_index(drop=True).copy()
    missing = set(table.frame) - set(labels.index)
    if missing:
        raise ValueError(f"label_frames has no rows for {len(missing)} frames of '{video}' (e.g. {sorted(missing)[:5]}); "
                         "re-run the label pipeline after ingest")
    rows = labels.loc[table.frame]
    table["found"] = rows["found"].to_numpy(bool) & usable(target)  # frames damaged at ingest are never trained on
    for col in BOX_COLUMNS:
        table[col] = rows[col].to_numpy(np.float64) if col in rows else np.nan
    table.attrs.clear()
    return table


def find_sequences(table: pd.DataFrame, length: int, stride: int = 1) -> pd.DataFrame:
    """Windows of ``length`` consecutive frames, all in one split (train/val/test) and all with a person."""
    rows = []
    frames = table.frame.to_numpy()
    split = table.split.to_numpy()
    ok = table.found.to_numpy(bool) & np.isin(split, ["train", "val", "test"])
    for name in ("train", "val", "test"):
        good = ok & (split == name)
        start = 0
        while start + length <= len(frames):
            window = slice(start, start + length)
            if good[window].all() and (np.diff(frames[window]) == 1).all():
                rows.append((name, int(frames[start]), length))
                start += stride
            else:
                bad = np.flatnonzero(~good[window])
                start += int(bad[-1]) + 1 if len(bad) else 1
    seq = pd.DataFrame(rows, columns=["split", "start_frame", "length"])
    seq.insert(0, "seq", np.arange(len(seq), dtype=np.int64))
    return seq


class TrainingArchiveContent:
    """Streams every target frame's label, image, flow and mask into the dataset archive."""

    def __init__(self, frames: Archive, label_maps: Archive, flows: Archive, video: str, table: pd.DataFrame,
                 size: tuple[int, int] | None = None):
        self.frames, self.label_maps, self.flows = frames, label_maps, flows
        self.video, self.table, self.size = video, table, size

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        reader = FlowReader(self.flows)
        frame_numbers = self.table.frame.to_numpy()
        first = self.frames.read(frame_key(self.video, int(frame_numbers[0])))
        meta = reader.meta
        if len(reader) != int(frame_numbers.max()) or (meta["width"], meta["height"]) != (first.shape[1], first.shape[0]):
            raise ValueError(
                f"the flow archive ({len(reader)} pairs at {meta['width']}x{meta['height']}) does not match the "
                f"frames ({int(frame_numbers.max()) + 1} frames at {first.shape[1]}x{first.shape[0]}); "
                "re-run `kedro run --pipelines=flow` after ingest")
        for f in progress(frame_numbers, desc="dataset", unit="frame", leave=False):
            f = int(f)
            image = self.frames.read(frame_key(self.video, f))
            label = self.label_maps.read(frame_key(self.video, f))
            h, w = image.shape[:2]
            if f > 0:
                flow, valid = reader.backward(f - 1), reader.valid(f - 1).astype(np.uint8) * 255
            else:
                flow, valid = np.zeros((h, w, 2), np.float32), np.zeros((h, w), np.uint8)
            if self.size is not None and (w, h) != tuple(self.size):
                flow = resize_flow(flow, self.size)
                valid = resize_valid(valid, self.size).astype(np.uint8) * 255
                image, label = resize_image(image, self.size), resize_image(label, self.size)
            yield frame_member("label", f), label
            yield frame_member("image", f), image
            yield frame_member("flow", f), flow.astype(np.float16)
            yield frame_member("valid", f), valid

    def write_to(self, writer: ArchiveWriter) -> None:
        for key, item in self.items():
            is_image = item.dtype == np.uint8 and (item.ndim == 2 or item.shape[2] in (3, 4))
            (writer.add_image if is_image else writer.add_array)(key, item)


def scale_boxes(table: pd.DataFrame, frame_size: tuple[int, int], size: tuple[int, int] | None) -> pd.DataFrame:
    return scale_box_columns(table, frame_size, size, BOX_COLUMNS)


def table_hash(df: pd.DataFrame) -> str:
    """Content hash of a table (values and column names), independent of the parquet bytes."""
    h = hashlib.sha256(",".join(map(str, df.columns)).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else int(image.shape[2])


def dataset_manifest(archive: Archive, frames: pd.DataFrame, sequences: pd.DataFrame, params: dict) -> dict:
    """What the training run is tied to: hashes of the archive and tables, counts, parameters."""
    sample = archive.read(frame_member("image", int(frames.frame.iloc[0])))
    manifest = {
        "archive_sha256": sha256_file(archive.path),
        "frames_sha256": table_hash(frames),
        "sequences_sha256": table_hash(sequences),
        "size": [int(sample.shape[1]), int(sample.shape[0])],
        "label_channels": _channels(archive.read(frame_member("label", int(frames.frame.iloc[0])))),
        "frames_per_split": {k: int(v) for k, v in frames.split.value_counts().sort_index().items()},
        "frames_without_person": int((~frames.found).sum()),
        "sequences_per_split": {k: int(v) for k, v in sequences.split.value_counts().sort_index().items()},
        "params": params,
    }
    manifest["sha256"] = hashlib.sha256(repr(sorted(manifest.items())).encode()).hexdigest()
    return manifest
