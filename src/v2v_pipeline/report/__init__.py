"""Generation runs, evaluation, plots and the HTML report (no Kedro).

* :mod:`.generation` - resolve a model (latest / file / ``runs:/``), generate clips once into an archive
* :mod:`.compose` - side-by-side panels with captions, error maps
* :mod:`.evaluation` - self-reconstruction metrics per frame (on :mod:`v2v_pipeline.metrics.engine`), summaries
* :mod:`.evaluate` - the ``evaluate`` pipeline's steps (generation, metrics, video, report) as functions
* :mod:`.plots` - metrics over time, training curves (matplotlib object API)
* :mod:`.html` - self-contained HTML report builder
* :mod:`.assemble` - the evaluation report's layout
"""

from .assemble import TransferInfo, build_report, sample_strips
from .compose import error_map, fit_height, side_by_side
from .evaluation import (
    DatasetReader,
    EvaluationResult,
    MetricModels,
    PoseEstimator,
    comparison_table,
    evaluate_segments,
    make_pose_estimator,
    mean_frame,
    reference_keypoints,
    split_segments,
    summary_metrics,
)
from .generation import (
    Clip,
    GeneratedFramesContent,
    LazyFrames,
    model_summary,
    resets_around_gaps,
    resolve_model,
    training_history,
)
from .html import HtmlReport
from .plots import metrics_over_time, training_curves

__all__ = [
    "Clip", "DatasetReader", "EvaluationResult", "GeneratedFramesContent", "HtmlReport", "LazyFrames",
    "MetricModels", "PoseEstimator", "TransferInfo", "build_report", "comparison_table", "error_map",
    "evaluate_segments", "fit_height", "make_pose_estimator", "mean_frame", "metrics_over_time", "model_summary",
    "reference_keypoints", "resets_around_gaps", "resolve_model", "sample_strips", "side_by_side",
    "split_segments", "summary_metrics", "training_curves", "training_history",
]  # fmt: skip
