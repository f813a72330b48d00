"""Training data: short time-ordered sequences of (label map, frame, flow, occlusion mask, face box).

The dataset pipeline writes one archive per dataset build with members
``label/<frame>``, ``image/<frame>``, ``flow/<frame>`` (float16 backward flow from frame t
to t-1, zeros for the first frame of a run) and ``valid/<frame>`` (uint8 mask, 255 where
the flow is reliable), plus a per-frame table and a per-sequence table.
For CPU-sized data the whole split is decoded once into uint8/float16 tensors in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from v2v_pipeline.progress import progress

from v2v_pipeline.storage import Archive

log = logging.getLogger(__name__)


def frame_member(kind: str, frame: int) -> str:
    return f"{kind}/{int(frame):06d}"


@dataclass
class FrameTensors:
    """All frames of one split, decoded into memory, indexed by position in ``frames``."""

    frames: np.ndarray  # frame numbers (target video), sorted
    labels: torch.Tensor  # uint8 (N, C, H, W)
    images: torch.Tensor  # uint8 (N, 3, H, W)
    flows: torch.Tensor  # float16 (N, 2, H, W), backward flow t -> t-1 in pixels
    valid: torch.Tensor  # uint8 (N, 1, H, W)
    face_boxes: torch.Tensor  # float32 (N, 4) x0, y0, x1, y1 in pixels; NaN when no face
    person_boxes: torch.Tensor  # float32 (N, 4)

    def position(self, frame: int) -> int:
        return int(np.searchsorted(self.frames, frame))


def _chw(array: np.ndarray) -> torch.Tensor:
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def load_frames(archive: Archive, frame_table: pd.DataFrame, frames: np.ndarray, desc: str = "load") -> FrameTensors:
    frames = np.sort(np.asarray(frames, dtype=np.int64))
    rows = frame_table.set_index("frame").loc[frames]
    labels, images, flows, valid = [], [], [], []
    for f in progress(frames, desc=desc, unit="frame", leave=False):
        labels.append(_chw(archive.read(frame_member("label", f))))
        images.append(_chw(archive.read(frame_member("image", f))))
        flows.append(torch.from_numpy(archive.read(frame_member("flow", f)).transpose(2, 0, 1).copy()))
        valid.append(_chw(archive.read(frame_member("valid", f))))
    box = lambda p: torch.tensor(rows[[f"{p}_x0", f"{p}_y0", f"{p}_x1", f"{p}_y1"]].to_numpy(np.float32))  # noqa: E731
    return FrameTensors(frames, torch.stack(labels), torch.stack(images), torch.stack(flows).to(torch.float16),
                        torch.stack(valid), box("face"), box("person"))


class SequenceDataset(Dataset):
    """Items are sequences of ``length`` consecutive frames starting at each row of ``sequences``.

    Returns tensors: ``label`` (T, C, H, W) in [-1, 1], ``image`` (T, 3, H, W) in [-1, 1],
    ``flow`` (T, 2, H, W) pixels, ``valid`` (T, 1, H, W) in {0, 1}, ``face_box`` (T, 4),
    ``person_box`` (T, 4), ``frame`` (T,). ``scale`` < 1 downsamples everything (coarse stage).
    """

    def __init__(self, tensors: FrameTensors, sequences: pd.DataFrame, length: int, scale: float = 1.0,
                 flip: bool = False):
        self.t = tensors
        self.starts = sequences["start_frame"].to_numpy(np.int64)
        self.seq_len = sequences["length"].to_numpy(np.int64)
        if (self.seq_len < length).any():
            raise ValueError(f"dataset sequences are shorter than the requested length {length}; rebuild the dataset "
                             "with a larger dataset.sequence_length or lower the training length")
        self.length = length
        self.scale = scale
        self.flip = flip

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        p = self.t.position(self.starts[i])
        sl = slice(p, p + self.length)
        item = {
            "label": self.t.labels[sl].float() / 127.5 - 1.0,
            "image": self.t.images[sl].float() / 127.5 - 1.0,
            "flow": self.t.flows[sl].float(),
            "valid": self.t.valid[sl].float() / 255.0,
            "face_box": self.t.face_boxes[sl].clone(),
            "person_box": self.t.person_boxes[sl].clone(),
            "frame": torch.from_numpy(self.t.frames[sl].copy()),
        }
        item["flow"][0] = 0.0  # the first frame of a sample has no predecessor inside it
        item["valid"][0] = 0.0
        if self.scale != 1.0:
            item = rescale_item(item, self.scale)
        return item


def rescale_item(item: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    """Downsample a sample (flows and boxes are in pixels, so they scale too)."""
    out = dict(item)
    for key in ("label", "image"):
        out[key] = F.interpolate(item[key], scale_factor=scale, mode="bilinear", align_corners=False, antialias=True)
    out["flow"] = F.interpolate(item["flow"], scale_factor=scale, mode="bilinear", align_corners=False) * scale
    out["valid"] = (F.interpolate(item["valid"], scale_factor=scale, mode="area") > 0.99).float()
    out["face_box"] = item["face_box"] * scale
    out["person_box"] = item["person_box"] * scale
    return out
