"""Motion transfer as a library: the source clip, the lazy generated frames, the output videos.

The Kedro nodes in ``pipelines/transfer`` only parse parameters and call these. Generation
happens once: :func:`generate_transfer` returns a lazy archive content object, so the model runs
while ``transfer_frames`` is written (frames streamed, memory flat in video length);
:func:`transfer_videos` returns two lazy videos that each read that archive.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from v2v_pipeline import runtime
from v2v_pipeline.inference import FrameGenerator
from v2v_pipeline.params import TransferParams
from v2v_pipeline.report import (
    Clip,
    GeneratedFramesContent,
    LazyFrames,
    model_summary,
    resets_around_gaps,
    resolve_model,
    side_by_side,
)
from v2v_pipeline.schema import FACE_BOX
from v2v_pipeline.storage import Archive, frame_key
from v2v_pipeline.tracking import log_params, set_tags
from v2v_pipeline.video.io import VideoContent, fit_to_size

log = logging.getLogger(__name__)


def generate_transfer(p: TransferParams, fit: str, trained_model_path: str | None, frame_index: pd.DataFrame,
                      maps: Archive | None, label_frames: pd.DataFrame | None) -> GeneratedFramesContent:
    """The generated frames of the transfer source (lazy: the model runs while they are saved).

    ``maps`` / ``label_frames`` (the normalized source poses) are read only for ``source.video``;
    a transfer from ``source.label_folder`` passes None.
    """
    rt = runtime.resolve(p.device, p.precision, p.threads, what="transfer", compile=p.compile)
    if p.precision == "auto" and rt.device.type == "cpu" and rt.precision == "fp32":
        log.info("transfer: this CPU runs the generator in fp32; transfer.precision: int8 (ONNX Runtime) ran trained "
                 "EDN and pix2pixHD generators at 1.9-2.2x fp32 on a CPU without native bf16, 0.3-1.4 of 255 from "
                 "fp32 on average (docs/performance.md)")
    model = resolve_model(p.model, trained_model_path)
    generator = FrameGenerator(model, str(rt.device), rt.precision, compile=rt.compile,
                               on_compile_fallback=lambda status: set_tags({"transfer.compile_status": status}))
    info = model_summary(model, p.model, trained_model_path if p.model == "latest" else None)
    if p.source.video is not None:
        if maps is None or label_frames is None:
            raise ValueError(f"transfer.source.video {p.source.video!r} needs normalized_label_maps and "
                             "normalized_label_frames; run `kedro run --pipelines=normalize` first")
        clip, source = video_clip(p, frame_index, maps, label_frames, generator)
    else:
        clip, source = folder_clip(p, generator, fit)
    log.info("transfer: %s model (step %d) on %d frames of %s at %.3g fps", info["family"], info["step"],
             len(clip.keys), source["name"], source["fps"])
    set_tags({"transfer.model": info["path"] or p.model, "transfer.model_family": info["family"],
              "transfer.source": source["name"], "transfer.compile": str(rt.compile).lower()})
    log_params(rt.mlflow_params("transfer/runtime"))
    meta = {"model": info, "source": source["name"], "source_kind": source["kind"], "fps": source["fps"],
            "source_frames": source.get("frames"), "panel_height": p.panel_height}
    return GeneratedFramesContent(generator, lambda: [clip], batch_size=p.batch_size, store_labels=True, meta=meta,
                                  metric_prefix="transfer", total=len(clip.keys))


def video_clip(p: TransferParams, frame_index: pd.DataFrame, maps: Archive, label_frames: pd.DataFrame,
               generator: FrameGenerator) -> tuple[Clip, dict]:
    name = p.source.video
    rows = frame_index[frame_index.video.astype(str) == name]
    if rows.empty:
        sources = sorted(frame_index.loc[frame_index.role == "source", "video"].astype(str).unique())
        from v2v_pipeline.config import where_to_fix

        first = f"set transfer.source.video to one of {sources} in {where_to_fix('transfer.source.video')}" if sources \
            else "no source video is ingested"
        raise ValueError(f"transfer.source.video {name!r} is not an ingested video: {first} (e.g. "
                         f"`make run ARGS=\"--pipelines=transfer --params=transfer.source.video={sources[0] if sources else 'NAME'}\"`). "
                         "To use another video, add it to ingest.sources and run ingest, label and normalize; or set "
                         "transfer.source.label_folder to a folder of label maps")
    keys = sorted(maps.keys(name + "/"))
    if not keys:
        raise ValueError(f"normalized_label_maps has no label maps of {name!r}; run `kedro run --pipelines=normalize`")
    keys = keys[: p.max_frames]
    frames = [int(k.rsplit("/", 1)[1]) for k in keys]
    boxes = None
    table = label_frames[label_frames.video.astype(str) == name].set_index("frame").reindex(frames)
    if generator.face_generator is not None and p.faces:
        boxes = table[FACE_BOX].to_numpy(np.float64) if set(FACE_BOX) <= set(table.columns) else None
        if boxes is None:
            log.warning("transfer: normalized_label_frames has no face boxes; the face GAN is not used")
    found = table["found"].fillna(False).to_numpy(bool) if "found" in table.columns else np.ones(len(frames), bool)
    if not found.all():
        log.warning("transfer: %d of %d frames of %s have no person (their labels are empty); the model's temporal "
                    "state restarts around them", int((~found).sum()), len(found), name)
    fps = float(rows.fps.iloc[0])
    clip = Clip([f"{i:06d}" for i in range(len(keys))], LazyFrames(maps.read, keys), boxes,
                resets_around_gaps(found))
    return clip, {"kind": "video", "name": name, "fps": fps, "frames": frames}


def folder_clip(p: TransferParams, generator: FrameGenerator, fit: str) -> tuple[Clip, dict]:
    from v2v_pipeline.labels.precomputed import match_label_files, read_label_map

    files = match_label_files(Path(p.source.label_folder))[: p.max_frames]
    size = generator.size

    def read(path: Path) -> np.ndarray:
        label = read_label_map(path)
        if label.ndim == 3:  # same geometry as the training frames (ingest.fit); white borders like the maps
            label = fit_to_size(label, size, fit, pad_value=255)
        if label.ndim != 3 or label.shape[2] != 3:
            raise ValueError(f"label map {path} is not an RGB image (shape {label.shape}); this model expects RGB "
                             "label maps like the ones the label pipeline renders")
        return label

    boxes = None
    if generator.face_generator is not None and p.faces:  # no keypoints: the boxes come from the maps' head colours
        from v2v_pipeline.labels.map_boxes import face_boxes_from_maps

        def native():  # at the maps' own resolution; an index (one-channel) map has no head colours
            for path in files:
                label = read_label_map(path)
                yield label if label.ndim == 3 else np.full((1, 1, 3), 255, np.uint8)

        boxes = face_boxes_from_maps(native(), (size, fit))
        found = int(np.isfinite(boxes[:, 0]).sum())
        log.info("transfer: face boxes from the label maps' head colours for %d of %d frames (the face GAN refines "
                 "those)", found, len(files))
    clip = Clip([f"{i:06d}" for i in range(len(files))], LazyFrames(read, files), boxes)
    return clip, {"kind": "label_folder", "name": str(p.source.label_folder), "fps": float(p.source.fps)}


def transfer_videos(transfer_frames: Archive, frames: Archive) -> tuple[VideoContent, VideoContent, int]:
    """The output video and the side-by-side (source frame | label | output; label | output for a folder).

    The third output is the frame count.
    """
    meta = transfer_frames.read("meta")
    keys, fps = meta["keys"], float(meta["fps"])
    output = LazyFrames(lambda k: transfer_frames.read(f"output/{k}"), keys)
    label = LazyFrames(lambda k: transfer_frames.read(f"label/{k}"), keys)
    height = int(meta["model"]["size"][1])
    panel_height = int(meta.get("panel_height") or height)
    if meta["source_kind"] == "video":
        source = LazyFrames(lambda f: frames.read(frame_key(meta["source"], f)), meta["source_frames"])
        panels, captions = (source, label, output), ["source", "label", "output"]
    else:
        panels, captions = (label, output), ["label", "output"]

    def sides():
        for images in zip(*panels, strict=True):
            yield side_by_side(images, panel_height, captions)

    return VideoContent(lambda: iter(output), fps), VideoContent(sides, fps), len(keys)
