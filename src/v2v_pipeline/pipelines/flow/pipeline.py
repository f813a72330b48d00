from kedro.pipeline import Pipeline, node, pipeline

from .nodes import compute_flows, report_flows


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(compute_flows, ["params:flow", "frames", "frame_index"], "flows", name="compute_flows"),
            node(report_flows, ["params:flow", "flows", "frames", "frame_index"],
                 ["flow_metrics", "flow_preview"], name="report_flows"),
        ]
    )
