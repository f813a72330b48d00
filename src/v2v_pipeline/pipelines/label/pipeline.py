from kedro.pipeline import Pipeline, node, pipeline

from v2v_pipeline.pipelines.videos import DEFAULT_VIDEOS, GATHER_TAG, bind, for_video

from .nodes import PER_VIDEO, gather_labels, label_video


def video_pipeline(video: str) -> Pipeline:
    """Label one video (namespace ``video``)."""
    return for_video([
        node(bind(label_video, video=video), ["params:label", "frames", "frame_index", "video_metadata"],
             list(PER_VIDEO), name="label_video"),
    ], video, {"params:label"})


def create_pipeline(target: str = DEFAULT_VIDEOS[0], sources: tuple[str, ...] = DEFAULT_VIDEOS[1],
                    **kwargs) -> Pipeline:
    videos = [target, *sources]
    gather = pipeline([  # tagged: `kedro run --pipelines=data --tags=gather` joins stored per-video outputs
        node(gather_labels,
             ["params:label", f"{target}.frames", f"{target}.frame_index", f"{target}.video_metadata"]
             + [f"{v}.{name}" for v in videos for name in PER_VIDEO],
             ["keypoints", "label_frames", "label_maps", "person_masks", "label_metrics", "label_contact_sheet"],
             name="gather_labels"),
    ], tags=GATHER_TAG)
    return sum((video_pipeline(v) for v in videos), Pipeline([])) + gather
