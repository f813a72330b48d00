from kedro.pipeline import Pipeline, node, pipeline

from v2v_pipeline.pipelines.videos import DEFAULT_VIDEOS, GATHER_TAG, bind, for_video

from .nodes import PER_SOURCE, gather_normalized, normalize_video

TARGET_INPUTS = ("keypoints", "frame_index", "video_metadata")  # of the target namespace


def source_pipeline(source: str, target: str) -> Pipeline:
    """Normalize one source video to the target (namespace ``source``; reads ``<target>.keypoints`` ...)."""
    return for_video([
        node(bind(normalize_video, video=source),
             ["params:normalize", "params:label", "keypoints", "label_frames", "frame_index", "video_metadata",
              "label_maps"] + [f"target_{name}" for name in TARGET_INPUTS],
             list(PER_SOURCE), name="normalize_video"),
    ], source, {"params:normalize", "params:label"}, inputs={f"target_{n}": f"{target}.{n}" for n in TARGET_INPUTS})


def create_pipeline(target: str = DEFAULT_VIDEOS[0], sources: tuple[str, ...] = DEFAULT_VIDEOS[1],
                    **kwargs) -> Pipeline:
    gather = pipeline([  # tagged: `kedro run --pipelines=data --tags=gather` joins stored per-video outputs
        node(gather_normalized, ["keypoints", "label_frames"] + [f"{s}.{name}" for s in sources for name in PER_SOURCE],
             ["normalization", "normalized_keypoints", "normalized_label_frames", "normalized_label_maps",
              "normalization_plot", "normalization_metrics",
              # save nothing: they order transfer (which reads them only for a source video) after this node
              "normalized_label_maps_ref", "normalized_label_frames_ref"], name="gather_normalized"),
    ], tags=GATHER_TAG)
    return sum((source_pipeline(s, target) for s in sources), Pipeline([])) + gather
