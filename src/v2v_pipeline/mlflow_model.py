"""The trained generator as an MLflow pyfunc model (registered in the model registry).

``mlflow.pyfunc.load_model(uri).predict(labels)`` takes a uint8 array of label maps
``(N, H, W, C)`` (one clip, in order; any size, resized to the model's) and returns the
generated frames ``(N, h, w, 3)`` uint8 at the model's size. The logged model carries

- a signature (uint8 tensors) and an input example (``serving_input_example.json``, one
  blank label map), so ``mlflow models predict`` knows how to parse its input;
- the ``v2v_pipeline`` package itself (``code_paths``), so it loads without installing this
  project: only torch, torchvision and numpy are needed, e.g. offline with
  ``mlflow models predict -m models:/v2v_generator@champion -i input.json --env-manager local``.

Its requirements name those libraries (never ``v2v_pipeline``, which no index has).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

try:
    import mlflow.pyfunc

    _Base = mlflow.pyfunc.PythonModel
except ImportError:  # pragma: no cover
    _Base = object

ARTIFACT = "generator"  # the artifact key; v2v_pipeline.model_uri finds the model file by it
REQUIREMENTS = ("torch", "torchvision", "numpy")  # what the packaged code imports to generate frames


class V2VGeneratorModel(_Base):
    def load_context(self, context) -> None:
        from v2v_pipeline.inference import FrameGenerator, load_model_file

        self.generator = FrameGenerator(load_model_file(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input, params=None):
        if isinstance(model_input, dict) and len(model_input) == 1:  # {"inputs": {name: array}} from a server
            model_input = next(iter(model_input.values()))
        labels = np.asarray(model_input, dtype=np.uint8)
        if labels.ndim == 3:  # one label map
            labels = labels[None]
        if labels.ndim != 4:
            raise ValueError(f"expected label maps (N, H, W, C) or one (H, W, C), got an array of shape {labels.shape}")
        return np.stack(list(self.generator.generate_clip(labels)))


def signature_and_example(model: dict[str, Any], example_frames: int = 1):
    """The pyfunc signature (uint8 label maps in, uint8 frames out) and a small input example.

    The example is a blank (white) label map at a quarter of the model's size: the model
    resizes any input, and a full-size example would be megabytes of JSON.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    width, height = (int(v) for v in model["size"])
    channels = int(model.get("label_channels", 3))
    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, -1, -1, channels))]),
        outputs=Schema([TensorSpec(np.dtype(np.uint8), (-1, height, width, 3))]),
    )
    example = np.full((example_frames, max(height // 4, 8), max(width // 4, 8), channels), 255, np.uint8)
    return signature, example


def pip_requirements() -> list[str]:
    """The installed versions of the libraries the packaged code needs (a local build tag dropped)."""
    out = []
    for name in REQUIREMENTS:
        try:
            out.append(f"{name}=={metadata.version(name).split('+')[0]}")
        except metadata.PackageNotFoundError:  # pragma: no cover - torch is a hard dependency
            out.append(name)
    return out


def package_dir() -> Path:
    """The folder of the ``v2v_pipeline`` package (copied into the logged model as its code)."""
    import v2v_pipeline

    return Path(v2v_pipeline.__file__).resolve().parent


def log_and_register(model_path: str, registered_name: str | None) -> str | None:
    """Log ``model_path`` as a pyfunc model of the active run (and register it); returns the model URI."""
    import mlflow
    import torch

    if mlflow.active_run() is None:
        return None
    model = torch.load(model_path, map_location="cpu", weights_only=True)
    signature, example = signature_and_example(model)
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "v2v_pipeline"  # the package without its bytecode caches
        shutil.copytree(package_dir(), code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        info = mlflow.pyfunc.log_model(  # "models from code": the model is this package's code, not a pickle
            name="generator", python_model=str(code / "pyfunc_entry.py"), artifacts={ARTIFACT: model_path},
            code_paths=[str(code)], pip_requirements=pip_requirements(), signature=signature,
            input_example=example, registered_model_name=registered_name,
            metadata={"v2v_pipeline_format": model.get("format"), "family": model["model_config"]["model"],
                      "size": json.dumps([int(v) for v in model["size"]]), "step": int(model.get("step", 0))},
        )
    mlflow.log_artifact(model_path, artifact_path="model")
    return info.model_uri


def export_model_file(model_file: dict, registered_name: str | None) -> str | None:
    """Save a trained model file (tagged with the active run's id) and log/register it; returns the URI."""
    import tempfile
    from pathlib import Path

    import mlflow
    import torch

    if mlflow.active_run() is None:
        return None
    model_file["mlflow_run_id"] = mlflow.active_run().info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generator.pt"
        torch.save(model_file, path)
        uri = log_and_register(str(path), registered_name)
    if uri:
        import logging

        registered = f"registered as '{registered_name}'" if registered_name else "not registered"
        logging.getLogger(__name__).info("model logged to MLflow as %s (%s)", uri, registered)
    return uri
