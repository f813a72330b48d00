"""Labels made elsewhere: folders of label-map PNGs and OpenPose JSON keypoint files.

Label maps (pix2pixHD / EDN ``train_label`` style) are matched to video frames either by
sorted file name (the *i*-th file is frame *i*) or by a mapping table with columns
``index, source_frame`` (``frames.csv``: row *i* is frame *i* and file
``name_format.format(source_frame)``). Reading is exact: a PNG is returned as stored
(RGB, or the raw indices of a single-channel / palette image); only a requested size change
resamples, with nearest neighbour for index maps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from v2v_pipeline.validation import check_label_files
from v2v_pipeline.video.io import IMAGE_SUFFIXES

from . import skeleton as sk


def _natural_key(path: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def match_label_files(
    folder: str | Path,
    num_frames: int | None = None,
    mapping: pd.DataFrame | str | Path | None = None,
    name_format: str = "frame{:06d}.png",
) -> list[Path]:
    """Label file for each video frame, in frame order.

    Args:
        folder: directory of label images.
        num_frames: number of video frames; a different number of labels is an error.
        mapping: table (or CSV path) with columns ``index, source_frame``; without it the
            images in ``folder`` are taken in natural sort order (``frame2`` before ``frame10``).
        name_format: file name of a ``source_frame`` number, used with ``mapping``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"label folder {folder} does not exist")
    if mapping is None:
        files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=_natural_key)
        if not files:
            raise FileNotFoundError(f"no label images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        check_label_files(files)  # odd sizes / kinds and numbering gaps, with their positions
    else:
        table = pd.read_csv(mapping) if isinstance(mapping, str | Path) else mapping
        if not {"index", "source_frame"} <= set(table.columns):
            raise ValueError(f"mapping table needs columns 'index' and 'source_frame', has {list(table.columns)}")
        table = table.sort_values("index")
        if not np.array_equal(table["index"].to_numpy(), np.arange(len(table))):
            raise ValueError("mapping table 'index' must be 0..n-1 without gaps or repeats")
        files = [folder / name_format.format(int(s)) for s in table["source_frame"]]
        absent = [f.name for f in files if not f.is_file()]
        if absent:
            raise FileNotFoundError(
                f"{len(absent)} label files named in the mapping are missing from {folder}, e.g. {absent[:3]}"
            )
        check_label_files(files, gaps=False)  # a mapping may skip numbers; sizes must still agree
    if num_frames is not None and len(files) != num_frames:
        raise ValueError(
            f"{len(files)} label maps in {folder} for {num_frames} video frames; pass a mapping table (index, source_frame) or fix the folder"
        )
    return files


def read_label_map(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read one label image exactly: RGB ``(H, W, 3)`` uint8, or ``(H, W)`` indices for
    single-channel and palette PNGs (alpha is dropped). ``size = (width, height)`` resizes:
    nearest neighbour for index maps, area (down) or linear (up) for RGB maps."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode == "P":
            arr = np.asarray(im)  # palette indices, not colours
        elif im.mode in ("L", "I", "I;16", "1"):
            arr = np.asarray(im)
        else:
            arr = np.asarray(im.convert("RGB"))
    if arr.dtype == bool:
        arr = arr.astype(np.uint8)
    if size is not None and tuple(arr.shape[1::-1]) != tuple(size):
        if arr.ndim == 2:
            arr = cv2.resize(arr, tuple(size), interpolation=cv2.INTER_NEAREST)
        else:
            down = size[0] < arr.shape[1]
            arr = cv2.resize(arr, tuple(size), interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)
    return np.ascontiguousarray(arr)


def iter_label_maps(files: Sequence[str | Path], size: tuple[int, int] | None = None) -> Iterator[np.ndarray]:
    """Yield :func:`read_label_map` for each file (constant memory)."""
    for f in files:
        yield read_label_map(f, size)


def read_label_maps(files: Sequence[str | Path], size: tuple[int, int] | None = None) -> np.ndarray:
    """Stack of :func:`read_label_map`; all maps must share one shape (or pass ``size``)."""
    maps = list(iter_label_maps(files, size))
    shapes = {m.shape for m in maps}
    if len(shapes) > 1:
        raise ValueError(f"label maps differ in shape {sorted(shapes)}; pass size=(width, height)")
    return np.stack(maps) if maps else np.zeros((0,), np.uint8)


# --------------------------------------------------------------------------- OpenPose JSON
@dataclass
class OpenPosePerson:
    """One person of an OpenPose ``*_keypoints.json`` file (body always as BODY_25)."""

    body: np.ndarray  # (25, 3)
    face: np.ndarray | None = None  # (70, 3)
    hands: np.ndarray | None = None  # (2, 21, 3): left, right
    source_layout: str = "BODY_25"


def _points(values: Sequence[float] | None, joints: int, what: str, path: Path) -> np.ndarray | None:
    if not values:
        return None
    arr = np.asarray(values, np.float32)
    if arr.size != joints * 3:
        raise ValueError(f"{path}: {what} has {arr.size} numbers, expected {joints * 3}")
    return arr.reshape(joints, 3)


def read_openpose_json(path: str | Path) -> list[OpenPosePerson]:
    """Parse one OpenPose keypoint file; COCO-18 bodies (54 numbers) are converted to BODY_25."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if "people" not in data:
        raise ValueError(f"{path} has no 'people' list; is it an OpenPose *_keypoints.json file?")
    people = []
    for person in data["people"]:
        raw = person.get("pose_keypoints_2d") or []
        if len(raw) == 75:
            body, layout = _points(raw, 25, "pose_keypoints_2d", path), "BODY_25"
        elif len(raw) == 54:
            body, layout = sk.coco18_to_body25(_points(raw, 18, "pose_keypoints_2d", path)), "COCO_18"
        else:
            raise ValueError(f"{path}: pose_keypoints_2d has {len(raw)} numbers; expected 75 (BODY_25) or 54 (COCO-18)")
        face = _points(person.get("face_keypoints_2d"), 70, "face_keypoints_2d", path)
        left = _points(person.get("hand_left_keypoints_2d"), 21, "hand_left_keypoints_2d", path)
        right = _points(person.get("hand_right_keypoints_2d"), 21, "hand_right_keypoints_2d", path)
        hands = None
        if left is not None or right is not None:
            hands = np.zeros((2, 21, 3), np.float32)
            hands[0] = left if left is not None else 0
            hands[1] = right if right is not None else 0
        people.append(OpenPosePerson(body, face, hands, layout))
    return people


def read_openpose_folder(
    folder: str | Path, num_frames: int | None = None, pattern: str = "*_keypoints.json"
) -> list[list[OpenPosePerson]]:
    """People of every frame, files in natural sort order (OpenPose names them ``<video>_<frame:012d>_keypoints.json``)."""
    folder = Path(folder)
    files = sorted(folder.glob(pattern), key=_natural_key)
    if not files:
        raise FileNotFoundError(f"no OpenPose files matching {pattern!r} in {folder}")
    if num_frames is not None and len(files) != num_frames:
        raise ValueError(f"{len(files)} OpenPose files in {folder} for {num_frames} video frames")
    return [read_openpose_json(f) for f in files]


def body_candidates(frames: Sequence[Sequence[OpenPosePerson]]) -> list[np.ndarray]:
    """Per-frame ``(P, 25, 3)`` body arrays, the input of :func:`~v2v_pipeline.labels.tracking.track_person`."""
    return [np.stack([p.body for p in people]) if people else np.zeros((0, 25, 3), np.float32) for people in frames]
