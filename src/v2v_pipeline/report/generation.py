"""Run a trained generator over clips of label maps, streaming the frames into an archive.

Generation happens once: :class:`GeneratedFramesContent` is an archive content object
(``write_to(writer)``) that runs the model while the archive is written, one clip at a time
with the model's temporal state reset per clip, holding no more than one pix2pixHD batch in
memory. Videos, metrics and reports then read the archive instead of running the model again.

Archive layout::

    output/<key>.png   generated frame (RGB, model size)
    label/<key>.png    the label map as fed to the model (only with ``store_labels``)
    meta.json          model, clips, frame keys and whatever the caller adds (no timings:
                       the archive stays byte-identical for the same inputs on the CPU)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2v_pipeline.inference import FrameGenerator, load_model_file, mlflow_run_id
from v2v_pipeline.metrics import registry as metric_registry
from v2v_pipeline.progress import progress
from v2v_pipeline.storage import ArchiveWriter
from v2v_pipeline.tracking import log_metrics

log = logging.getLogger(__name__)


def resolve_model(spec: str, latest: Path | str | None) -> dict[str, Any]:
    """The model dict for ``spec``: ``latest`` (the newest trained file, ``latest``), a path, or ``runs:/<id>``."""
    if spec == "latest":
        if latest is None:
            raise FileNotFoundError(
                "model: latest, but no model has been trained yet (data/06_models/generator.pt has no version). "
                "Run `kedro run --pipelines=train`, or set the model parameter to a .pt file or runs:/<mlflow run id> "
                "(`v2v-runs best --metric eval/ssim_person_mean` prints one)"
            )
        return load_model_file(latest)
    return load_model_file(spec)


HISTORY_METRICS = ("G_total", "G_gan", "G_feat", "G_l1", "G_vgg", "G_flow", "G_warp", "D_loss",
                   *metric_registry.validation_names("val_"))


def training_history(model: dict[str, Any], spec: str) -> pd.DataFrame | None:
    """The training curves of this model: the history stored in its file, else (files written before
    histories were stored) the metrics of the MLflow run it came from; None when neither exists."""
    rows = model.get("history")
    if rows:
        return pd.DataFrame(rows)
    run_id = mlflow_run_id(spec)
    if run_id is None:
        return None
    import mlflow

    client = mlflow.MlflowClient()
    series = {}
    for key in HISTORY_METRICS:
        points = client.get_metric_history(run_id, key)
        if points:
            series[key] = pd.Series({m.step: m.value for m in points}, dtype=np.float64)
    if not series:
        return None
    return pd.DataFrame(series).rename_axis("step").reset_index()


def model_summary(model: dict[str, Any], spec: str, path: Path | str | None = None) -> dict[str, Any]:
    """JSON-able description of a model file (for archive metadata, MLflow tags and the report)."""
    return {
        "spec": spec,
        "path": str(path) if path is not None else None,
        "family": model["model_config"]["model"],
        "size": [int(v) for v in model["size"]],
        "step": int(model.get("step", 0)),
        "face_generator": model.get("face_generator") is not None,
        "dataset_sha256": model.get("dataset_sha256"),
    }


class LazyFrames(Sequence):
    """A sequence of images read on access by ``read(key)`` (nothing is cached)."""

    def __init__(self, read: Callable[[Any], np.ndarray], keys: Sequence[Any]):
        self.read, self.keys = read, list(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return LazyFrames(self.read, self.keys[i])
        return self.read(self.keys[i])

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.read(k) for k in self.keys)


@dataclass
class Clip:
    """Consecutive frames generated with one temporal state (the generator is reset before each clip)."""

    keys: Sequence[str]  # archive member names (without the output/ prefix), one per frame
    labels: Sequence[np.ndarray]  # read lazily, in order
    face_boxes: np.ndarray | None = None  # (N, 4) x0, y0, x1, y1 in label pixels, NaN where no face
    resets: np.ndarray | None = None  # (N,) bool: drop the temporal state before these frames

    def __post_init__(self) -> None:
        if len(self.keys) != len(self.labels):
            raise ValueError(f"clip has {len(self.keys)} keys but {len(self.labels)} labels")
        for name in ("face_boxes", "resets"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.keys):
                raise ValueError(f"clip has {len(self.keys)} frames but {len(value)} {name}")


def resets_around_gaps(found: np.ndarray) -> np.ndarray:
    """Reset flags for a clip: every frame without a person, and the first frame after such a gap."""
    found = np.asarray(found, bool)
    after_gap = np.zeros_like(found)
    after_gap[1:] = ~found[:-1]
    return ~found | after_gap


class GeneratedFramesContent:
    """Archive content: every clip's frames generated by ``generator`` while the archive is written.

    ``clips`` is a callable so that nothing is read before the dataset saves. Frames/s are
    logged to the log and, under ``metric_prefix``, to the active MLflow run.
    """

    def __init__(self, generator: FrameGenerator, clips: Callable[[], Iterable[Clip]], *, batch_size: int = 8,
                 store_labels: bool = False, meta: dict[str, Any] | None = None, metric_prefix: str = "generate",
                 total: int | None = None):
        self.generator, self.clips = generator, clips
        self.batch_size, self.store_labels = batch_size, store_labels
        self.meta, self.metric_prefix, self.total = dict(meta or {}), metric_prefix, total
        self.stats: dict[str, float] = {}

    def frames(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(key, label, generated)`` for every frame of every clip, generated on the fly."""
        for clip in self.clips():
            labels = _Tee(clip.labels)
            outputs = self.generator.generate_clip(labels, clip.face_boxes, batch_size=self.batch_size,
                                                   resets=clip.resets)
            for key, out in zip(clip.keys, outputs, strict=True):
                yield key, labels.pop(), out

    def write_to(self, writer: ArchiveWriter) -> None:
        start = time.perf_counter()
        busy = 0.0  # time spent reading labels and running the model (not PNG-encoding outputs)
        keys: list[str] = []
        it = self.frames()
        with progress(total=self.total, desc=self.metric_prefix, unit="frame", leave=False) as bar:
            while True:
                t = time.perf_counter()
                try:
                    key, label, out = next(it)
                except StopIteration:
                    break
                busy += time.perf_counter() - t
                writer.add_image(f"output/{key}", out)
                if self.store_labels:
                    writer.add_image(f"label/{key}", label[..., :3] if label.ndim == 3 else label)  # for display
                keys.append(key)
                bar.update(1)
        if not keys:
            raise ValueError("nothing to generate: the label source has no frames")
        wall = time.perf_counter() - start
        self.stats = {"frames": len(keys), "seconds": wall, "fps": len(keys) / wall, "generation_fps": len(keys) / busy,
                      **getattr(self.generator, "int8_check", {})}  # precision int8: how far the quantised network is from fp32
        writer.add_json("meta", {**self.meta, "frames": len(keys), "keys": keys, "stores_labels": self.store_labels})
        log.info("%s: %d frames in %.1f s: %.2f frames/s overall, %.2f frames/s reading labels + generating (%s, %s)",
                 self.metric_prefix, len(keys), wall, self.stats["fps"], self.stats["generation_fps"],
                 self.generator.family, self.generator.device)
        log_metrics({f"{self.metric_prefix}/{k}": v for k, v in self.stats.items()})


class _Tee:
    """Iterate labels once, handing each to the generator and keeping it until its output is paired."""

    def __init__(self, labels: Iterable[np.ndarray]):
        self._it = iter(labels)
        self._pending: list[np.ndarray] = []  # at most one pix2pixHD batch

    def __iter__(self) -> _Tee:
        return self

    def __next__(self) -> np.ndarray:
        label = next(self._it)
        self._pending.append(label)
        return label

    def pop(self) -> np.ndarray:
        return self._pending.pop(0)
