"""The trained generator as an MLflow pyfunc model (registered in the model registry).

``mlflow.pyfunc.load_model(uri).predict(labels)`` takes a uint8 array of label maps
``(N, H, W, C)`` (one clip, in order) and returns the generated frames ``(N, h, w, 3)``.
"""

from __future__ import annotations

import numpy as np

try:
    import mlflow.pyfunc

    _Base = mlflow.pyfunc.PythonModel
except ImportError:  # pragma: no cover
    _Base = object


class V2VGeneratorModel(_Base):
    def load_context(self, context) -> None:
        from v2v_pipeline.inference import FrameGenerator, load_model_file

        self.generator = FrameGenerator(load_model_file(context.artifacts["generator"]))

    def predict(self, context, model_input, params=None):
        labels = np.asarray(model_input, dtype=np.uint8)
        return np.stack(list(self.generator.generate_clip(labels)))


def log_and_register(model_path: str, registered_name: str | None) -> str | None:
    """Log ``model_path`` as a pyfunc model of the active run (and register it); returns the model URI."""
    import mlflow

    if mlflow.active_run() is None:
        return None
    from v2v_pipeline import __version__

    info = mlflow.pyfunc.log_model(
        name="generator", python_model=V2VGeneratorModel(), artifacts={"generator": model_path},
        pip_requirements=[f"v2v_pipeline=={__version__}"], registered_model_name=registered_name,
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
