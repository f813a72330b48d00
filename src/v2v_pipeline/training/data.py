"""Training data: short time-ordered sequences of (label map, frame, flow, occlusion mask, face box).

The dataset pipeline writes one archive per dataset build with members
``label/<frame>``, ``image/<frame>``, ``flow/<frame>`` (float16 backward flow from frame t
to t-1, zeros for the first frame of a run) and ``valid/<frame>`` (uint8 mask, 255 where
the flow is reliable), plus a per-frame table and a per-sequence table.
Small datasets are decoded once into uint8/float16 tensors in memory; large ones (EDN's
1024x512 footage) are read from the archive on demand by DataLoader workers.
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
from v2v_pipeline.schema import FACE_BOX, PERSON_BOX, frame_member
from v2v_pipeline.storage import Archive

log = logging.getLogger(__name__)


class ArchiveTensor:
    """Read-on-demand stand-in for an ``(N, C, H, W)`` tensor of one member kind of the dataset archive.

    Indexing with an int, a slice or an index array decodes just those frames.
    """

    def __init__(self, archive: Archive, kind: str, frames: np.ndarray, dtype: torch.dtype):
        self.archive, self.kind, self.frames, self.dtype = archive, kind, frames, dtype
        self._shape: tuple[int, ...] | None = None

    def _one(self, i: int) -> torch.Tensor:
        return _chw(self.archive.read(frame_member(self.kind, int(self.frames[i])))).to(self.dtype)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def shape(self) -> tuple[int, ...]:
        if self._shape is None:
            self._shape = (len(self.frames), *self._one(0).shape)
        return self._shape

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, (int, np.integer)):
            return self._one(int(index))
        positions = np.arange(len(self.frames))[index]
        return torch.stack([self._one(int(i)) for i in positions])


@dataclass
class FrameTensors:
    """All frames of one split, indexed by position in ``frames``: tensors in memory, or
    :class:`ArchiveTensor` views that read from the archive when indexed."""

    frames: np.ndarray  # frame numbers (target video), sorted
    labels: torch.Tensor | ArchiveTensor  # uint8 (N, C, H, W)
    images: torch.Tensor | ArchiveTensor  # uint8 (N, 3, H, W)
    flows: torch.Tensor | ArchiveTensor  # float16 (N, 2, H, W), backward flow t -> t-1 in pixels
    valid: torch.Tensor | ArchiveTensor  # uint8 (N, 1, H, W)
    face_boxes: torch.Tensor  # float32 (N, 4) x0, y0, x1, y1 in pixels; NaN when no face
    person_boxes: torch.Tensor  # float32 (N, 4)

    def position(self, frame: int) -> int:
        return int(np.searchsorted(self.frames, frame))


def _chw(array: np.ndarray) -> torch.Tensor:
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def frame_bytes(archive: Archive, frames: np.ndarray) -> int:
    """Memory that :func:`load_frames` needs per split in memory (label + image + flow + mask)."""
    if len(frames) == 0:
        return 0
    f = int(frames[0])
    label = archive.read(frame_member("label", f))
    h, w = label.shape[:2]
    channels = 1 if label.ndim == 2 else label.shape[2]
    return len(frames) * h * w * (channels + 3 + 4 + 1)


def load_frames(archive: Archive, frame_table: pd.DataFrame, frames: np.ndarray, desc: str = "load",
                in_memory: bool = True) -> FrameTensors:
    frames = np.sort(np.asarray(frames, dtype=np.int64))
    rows = frame_table.set_index("frame").loc[frames]
    box = lambda cols: torch.tensor(rows[cols].to_numpy(np.float32))  # noqa: E731
    if not in_memory:
        lazy = {kind: ArchiveTensor(archive, kind, frames, dtype)
                for kind, dtype in (("label", torch.uint8), ("image", torch.uint8), ("flow", torch.float16),
                                    ("valid", torch.uint8))}
        return FrameTensors(frames, lazy["label"], lazy["image"], lazy["flow"], lazy["valid"], box(FACE_BOX),
                            box(PERSON_BOX))
    labels, images, flows, valid = [], [], [], []
    for f in progress(frames, desc=desc, unit="frame", leave=False):
        labels.append(_chw(archive.read(frame_member("label", f))))
        images.append(_chw(archive.read(frame_member("image", f))))
        flows.append(_chw(archive.read(frame_member("flow", f))))
        valid.append(_chw(archive.read(frame_member("valid", f))))
    return FrameTensors(frames, torch.stack(labels), torch.stack(images), torch.stack(flows).to(torch.float16),
                        torch.stack(valid), box(FACE_BOX), box(PERSON_BOX))


class SequenceDataset(Dataset):
    """Items are sequences of ``length`` consecutive frames starting at each row of ``sequences``.

    Returns tensors: ``label`` (T, C, H, W) in [-1, 1], ``image`` (T, 3, H, W) in [-1, 1],
    ``flow`` (T, 2, H, W) pixels, ``valid`` (T, 1, H, W) in {0, 1}, ``face_box`` (T, 4),
    ``person_box`` (T, 4), ``frame`` (T,).
    """

    def __init__(self, tensors: FrameTensors, sequences: pd.DataFrame, length: int):
        self.t = tensors
        self.starts = sequences["start_frame"].to_numpy(np.int64)
        self.seq_len = sequences["length"].to_numpy(np.int64)
        if (self.seq_len < length).any():
            raise ValueError(f"dataset sequences are shorter than the requested length {length}; rebuild the dataset "
                             "with a larger dataset.sequence_length or lower the training length")
        self.length = length

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
        return item


def resize_item(item: dict[str, torch.Tensor], size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """Resize a (flattened) sample to ``size=(width, height)``; flows and boxes are in pixels, so they scale too."""
    w, h = size
    sx, sy = w / item["image"].shape[-1], h / item["image"].shape[-2]
    out = dict(item)
    for key in ("label", "image"):
        out[key] = F.interpolate(item[key], size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    out["flow"] = F.interpolate(item["flow"], size=(h, w), mode="bilinear", align_corners=False) * torch.tensor(
        [sx, sy], dtype=item["flow"].dtype).view(1, 2, 1, 1)
    out["valid"] = (F.interpolate(item["valid"], size=(h, w), mode="area") > 0.99).float()
    box_scale = torch.tensor([sx, sy, sx, sy], dtype=item["face_box"].dtype)
    out["face_box"] = item["face_box"] * box_scale
    out["person_box"] = item["person_box"] * box_scale
    return out
