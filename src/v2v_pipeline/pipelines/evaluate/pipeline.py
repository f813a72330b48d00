from kedro.pipeline import Pipeline, node, pipeline

from .nodes import build_evaluation_report, compute_evaluation, generate_evaluation_frames, render_evaluation_video


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            # the model runs once, while evaluation_frames is written; everything else reads that archive.
            # trained_model arrives unopened (a ModelRef): --load-versions=trained_model:<version> picks it
            node(generate_evaluation_frames,
                 ["params:evaluate", "trained_model", "dataset_archive", "dataset_frames", "dataset_manifest"],
                 "evaluation_frames", name="generate_evaluation_frames"),
            node(compute_evaluation,
                 ["params:evaluate", "evaluation_frames", "dataset_archive", "dataset_frames", "keypoints",
                  "video_metadata", "frame_index"],
                 ["evaluation_per_frame", "evaluation_summary", "evaluation_metrics", "evaluation_per_frame_strides"],
                 name="compute_evaluation"),
            node(render_evaluation_video, ["evaluation_frames", "dataset_archive", "frame_index"], "evaluation_video",
                 name="render_evaluation_video"),
            # *_ref inputs are optional: the newest file's path, or None when that pipeline has not run
            node(build_evaluation_report,
                 ["params:evaluate", "evaluation_per_frame", "evaluation_summary", "evaluation_frames",
                  "dataset_archive", "evaluation_video", "transfer_frames_ref",
                  "transfer_video_ref", "transfer_side_by_side_ref", "evaluation_per_frame_strides"],
                 ["evaluation_report", "evaluation_metrics_plot", "training_curves_plot"],
                 name="build_evaluation_report"),
        ]
    )
