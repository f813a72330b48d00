from kedro.pipeline import Pipeline, node, pipeline

from .nodes import normalize_sources


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(normalize_sources,
                 ["params:normalize", "params:label", "keypoints", "label_frames", "frame_index", "video_metadata",
                  "label_maps"],
                 ["normalization", "normalized_keypoints", "normalized_label_frames", "normalized_label_maps",
                  "normalization_plot", "normalization_metrics",
                  # save nothing: they order transfer (which reads them only for a source video) after this node
                  "normalized_label_maps_ref", "normalized_label_frames_ref"], name="normalize_sources"),
        ]
    )
