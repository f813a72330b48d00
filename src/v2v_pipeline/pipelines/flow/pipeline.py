from kedro.pipeline import Pipeline, node

from v2v_pipeline.pipelines.videos import DEFAULT_VIDEOS, for_video

from .nodes import compute_flows, report_flows


def create_pipeline(target: str = DEFAULT_VIDEOS[0], sources: tuple[str, ...] = DEFAULT_VIDEOS[1],
                    **kwargs) -> Pipeline:
    """Flow of the target video only (in the target's namespace, from ``<target>.frames``); its
    outputs ``flows``, ``flow_metrics`` and ``flow_preview`` are one per run, so they keep their names."""
    return for_video([
        node(compute_flows, ["params:flow", "frames", "frame_index"], "flows", name="compute_flows"),
        node(report_flows, ["params:flow", "flows", "frames", "frame_index"],
             ["flow_metrics", "flow_preview"], name="report_flows"),
    ], target, {"params:flow"}, outputs={"flows": "flows", "flow_metrics": "flow_metrics",
                                         "flow_preview": "flow_preview"})
