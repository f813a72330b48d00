"""Entry point of the logged pyfunc model ("models from code"): MLflow runs this file when it loads
the model; ``v2v_pipeline`` itself is importable there from the model's ``code/`` folder."""

from mlflow.models import set_model

from v2v_pipeline.mlflow_model import V2VGeneratorModel

set_model(V2VGeneratorModel())
