from kedro.pipeline import Pipeline, node, pipeline

from .nodes import train_model


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(train_model, ["params:train", "dataset_archive", "dataset_frames", "dataset_sequences",
                               "dataset_manifest"],
                 # trained_model_ref saves nothing: it makes transfer / evaluate run after training in `kedro run`
                 ["trained_model", "training_history", "training_samples", "train_metrics", "trained_model_ref"],
                 name="train_model"),
        ]
    )
