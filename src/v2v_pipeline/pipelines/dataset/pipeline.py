from kedro.pipeline import Pipeline, node, pipeline

from .nodes import build_dataset, describe_dataset


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(build_dataset,
                 ["params:dataset", "frames", "frame_index", "video_metadata", "label_maps", "label_frames", "flows"],
                 ["dataset_archive", "dataset_frames", "dataset_sequences"], name="build_dataset"),
            node(describe_dataset, ["params:dataset", "dataset_archive", "dataset_frames", "dataset_sequences"],
                 ["dataset_manifest", "dataset_metrics"], name="describe_dataset"),
        ]
    )
