from kedro.pipeline import Pipeline, node, pipeline

from .nodes import encode_transfer_videos, generate_transfer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            # the model runs once, while transfer_frames is written; the videos are encoded from that archive.
            # trained_model arrives unopened (a ModelRef): --load-versions=trained_model:<version> picks it.
            # The normalize outputs are optional (*_ref: the newest file or None): only a source video needs them,
            # a transfer from a label folder runs without normalize
            node(generate_transfer,
                 ["params:transfer", "video_metadata", "trained_model", "frame_index", "normalized_label_maps_ref",
                  "normalized_label_frames_ref"],
                 "transfer_frames", name="generate_transfer"),
            # transfer_video_ref saves nothing: it orders the evaluation report after this node in a full run
            node(encode_transfer_videos, ["transfer_frames", "frames"],
                 ["transfer_video", "transfer_side_by_side", "transfer_video_ref"], name="encode_transfer_videos"),
        ]
    )
