from kedro.pipeline import Pipeline, node, pipeline

from .nodes import label_videos


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(label_videos, ["params:label", "frames", "frame_index", "video_metadata"],
                 ["keypoints", "label_frames", "label_maps", "person_masks", "label_metrics", "label_contact_sheet"],
                 name="label_videos"),
        ]
    )
