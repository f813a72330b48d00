from kedro.pipeline import Pipeline, node, pipeline

from v2v_pipeline.pipelines.videos import DEFAULT_VIDEOS, GATHER_TAG, bind, for_video

from .nodes import extract_frames, gather_frame_index, gather_frames, gather_video_metadata, index_frames, probe_video


def video_pipeline(video: str) -> Pipeline:
    """Probe, index and extract one video (namespace ``video``)."""
    return for_video([
        node(bind(probe_video, video=video), "params:ingest", "video_metadata", name="probe_video"),
        node(bind(index_frames, video=video), ["params:ingest", "video_metadata"], "frame_index", name="index_frames"),
        node(bind(extract_frames, video=video), ["params:ingest", "video_metadata", "frame_index"], "frames",
             name="extract_frames"),
    ], video, {"params:ingest"})


def create_pipeline(target: str = DEFAULT_VIDEOS[0], sources: tuple[str, ...] = DEFAULT_VIDEOS[1],
                    **kwargs) -> Pipeline:
    videos = [target, *sources]
    gather = pipeline([  # tagged: `kedro run --pipelines=data --tags=gather` joins stored per-video outputs
        node(gather_video_metadata, [f"{v}.video_metadata" for v in videos], "video_metadata",
             name="gather_video_metadata"),
        node(gather_frame_index, [f"{v}.frame_index" for v in videos], "frame_index", name="gather_frame_index"),
        node(gather_frames, [f"{v}.frames" for v in videos], "frames", name="gather_frames"),
    ], tags=GATHER_TAG)
    return sum((video_pipeline(v) for v in videos), Pipeline([])) + gather
