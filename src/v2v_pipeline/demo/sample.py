"""Write the built-in demo sample: a target dance clip and a source walking clip.

Each clip is an H.264 mp4 plus its ground-truth keypoints, both as OpenPose JSON files
(one per frame, named and laid out exactly as OpenPose's ``--write_json`` does) and as a
compact ``(N, 25, 3)`` float32 ``.npy``. Every file is written under a temporary name and
renamed when complete, so a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from v2v_pipeline.storage import write_bytes_atomic

from .dancer import DEFAULT_STAGING, Appearance, iter_dancer

__all__ = ["demo_specs", "read_openpose_json", "write_demo_sample", "write_mp4",
           "write_openpose_json"]

SAMPLE_FORMAT = 1  # bump when the renderer changes, so cached samples are rebuilt


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float, crf: int = 18) -> int:
    """Encode RGB uint8 frames as H.264 (yuv420p) mp4, single-threaded so the same frames give the
    same bytes; returns the number of frames (see :func:`v2v_pipeline.video.io.write_video`)."""
    from v2v_pipeline.video.io import write_video  # PyAV is only needed when writing video

    return write_video(path, frames, fps, crf=crf)


def _openpose_record(kp: np.ndarray) -> dict:
    """One frame's JSON object, as OpenPose 1.7 writes it (a single person)."""
    flat = [float(f"{v:.3f}") for v in np.asarray(kp, np.float32).reshape(-1)]
    person = {"person_id": [-1], "pose_keypoints_2d": flat, "face_keypoints_2d": [],
              "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
              "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
              "hand_right_keypoints_3d": []}
    return {"version": 1.3, "people": [person]}


def write_openpose_json(out_dir: Path, name: str, keypoints: np.ndarray) -> Path:
    """Write ``<out_dir>/<name>_keypoints/<name>_<frame:012d>_keypoints.json`` files.

    The folder is assembled under a temporary name and renamed into place.
    """
    final = Path(out_dir) / f"{name}_keypoints"
    tmp = _tmp(final)
    tmp.mkdir(parents=True)
    try:
        for i, kp in enumerate(keypoints):
            with open(tmp / f"{name}_{i:012d}_keypoints.json", "w") as fh:
                json.dump(_openpose_record(kp), fh, separators=(",", ":"))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final


def read_openpose_json(folder: Path) -> np.ndarray:
    """Read a folder of OpenPose JSON files (sorted by name) as (N, 25, 3) float32;
    frames without a person are all zeros; the first person is taken."""
    files = sorted(Path(folder).glob("*_keypoints.json"))
    if not files:
        raise FileNotFoundError(f"No *_keypoints.json files in {folder}.")
    out = np.zeros((len(files), 25, 3), np.float32)
    for i, f in enumerate(files):
        people = json.loads(f.read_text())["people"]
        if people:
            out[i] = np.asarray(people[0]["pose_keypoints_2d"], np.float32).reshape(25, 3)
    return out


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    write_bytes_atomic(path, buf.getvalue())


def _write_clip(out_dir: Path, name: str, frames: Iterable[tuple[np.ndarray, np.ndarray]],
                fps: float, crf: int) -> None:
    keypoints: list[np.ndarray] = []

    def video_frames():
        for frame, kp in frames:
            keypoints.append(kp)
            yield frame

    video = out_dir / f"{name}.mp4"
    write_mp4(video, video_frames(), fps, crf)
    # rounded like the JSON, so the .npy and the JSON files hold identical values
    kps = np.stack(keypoints).astype(np.float32).round(3)
    npy = out_dir / f"{name}_keypoints.npy"
    _save_npy(npy, kps)
    write_openpose_json(out_dir, name, kps)


def demo_specs(seed: int = 0, *, target_frames: int = 240, source_frames: int = 150,
               size: tuple[int, int] = (512, 256), target_fps: float = 15.0,
               source_fps: float = 25.0) -> dict[str, dict]:
    """Arguments of :func:`~v2v_pipeline.demo.render_dancer` for the demo's two clips.

    The target dances close to the camera; the source is another person walking towards
    the camera from far away, off-centre, at another frame rate.
    """
    seed_target, seed_source = (int(s.generate_state(1)[0]) for s in
                                np.random.SeedSequence(seed).spawn(2))
    target_look = Appearance.random(np.random.default_rng(seed_target))
    rng = np.random.default_rng(seed_source)
    source_look = Appearance.random(rng)
    while source_look.shirt == target_look.shirt or source_look.skin == target_look.skin:
        source_look = Appearance.random(rng)  # two people that are easy to tell apart
    return {
        "target": dict(seed=seed_target, n_frames=target_frames, size=tuple(size), fps=target_fps,
                       motion="dance", staging=DEFAULT_STAGING["dance"], appearance=target_look),
        "source": dict(seed=seed_source, n_frames=source_frames, size=tuple(size), fps=source_fps,
                       motion="walk", staging=DEFAULT_STAGING["walk"], appearance=source_look),
    }


def write_demo_sample(out_dir: Path, seed: int = 0, *, target_frames: int = 240,
                      source_frames: int = 150, size: tuple[int, int] = (512, 256),
                      target_fps: float = 15.0, source_fps: float = 25.0, crf: int = 18,
                      overwrite: bool = False) -> dict[str, Path]:
    """Render and write the demo target (dance) and source (walk) clips into ``out_dir``.

    Files: ``target.mp4``, ``target_keypoints.npy`` and ``target_keypoints/`` (OpenPose
    JSON, one file per frame), the same for ``source``, and ``demo_sample.json`` (the
    parameters, written last). The two clips show different people at different scales,
    positions, depth ranges and frame rates. The output depends only on the arguments; if
    ``out_dir`` already holds a complete sample made with the same arguments it is reused
    unless ``overwrite``.

    Returns:
        Paths under the keys ``target``, ``source`` (videos), ``target_keypoints``,
        ``source_keypoints`` (JSON folders), ``target_keypoints_npy``,
        ``source_keypoints_npy`` and ``manifest``.
    """
    out_dir = Path(out_dir)
    params = {"format": SAMPLE_FORMAT, "seed": int(seed), "target_frames": int(target_frames),
              "source_frames": int(source_frames), "size": [int(v) for v in size],
              "target_fps": float(target_fps), "source_fps": float(source_fps), "crf": int(crf)}
    paths = {k: out_dir / v for k, v in (
        ("target", "target.mp4"), ("target_keypoints", "target_keypoints"),
        ("target_keypoints_npy", "target_keypoints.npy"), ("source", "source.mp4"),
        ("source_keypoints", "source_keypoints"), ("source_keypoints_npy", "source_keypoints.npy"),
        ("manifest", "demo_sample.json"))}
    manifest = paths["manifest"]
    if not overwrite and manifest.exists() and all(p.exists() for p in paths.values()):
        try:
            if json.loads(manifest.read_text()) == params:
                return paths
        except (OSError, ValueError):
            pass  # unreadable: render again
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)  # the sample is incomplete until it is rewritten

    specs = demo_specs(seed, target_frames=target_frames, source_frames=source_frames,
                       size=size, target_fps=target_fps, source_fps=source_fps)
    for name, spec in specs.items():
        _write_clip(out_dir, name, iter_dancer(**spec), spec["fps"], crf)
    tmp = _tmp(manifest)
    tmp.write_text(json.dumps(params, indent=1))
    os.replace(tmp, manifest)
    return paths
