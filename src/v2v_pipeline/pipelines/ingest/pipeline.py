from kedro.pipeline import Pipeline, node, pipeline

from .nodes import extract_frames, index_frames, probe_videos


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(probe_videos, "params:ingest", "video_metadata", name="probe_videos"),
            node(index_frames, ["params:ingest", "video_metadata"], "frame_index", name="index_frames"),
            node(extract_frames, ["params:ingest", "video_metadata", "frame_index"], "frames", name="extract_frames"),
        ]
    )
