from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import dag, task

from kedro.framework.session import KedroSession
from kedro.framework.project import configure_project

# Kedro settings required to run your pipeline
env = "local"
pipeline_name = "data"
project_path = Path.cwd()
package_name = "v2v_pipeline"
conf_source = "" or Path.cwd() / "conf"


def _run_kedro_node(node_names=None, namespaces=None):
    """Run a Kedro pipeline slice. Pass node_names for regular node groups or namespaces for namespace groups."""
    configure_project(package_name)
    with KedroSession.create(project_path=project_path, env=env, conf_source=conf_source) as session:
        if namespaces is not None:
            session.run(pipeline_names=[pipeline_name], namespaces=namespaces)
        else:
            session.run(pipeline_names=[pipeline_name], node_names=node_names)


@dag(
    dag_id="v2v-pipeline",
    start_date=datetime(2023,1,1),
    max_active_runs=1,  # tasks load the newest version of their inputs: one run at a time
    schedule="@once",
    catchup=False,
    default_args=dict(
        owner="airflow",
        depends_on_past=False,
        email_on_failure=False,
        email_on_retry=False,
        retries=1,
        retry_delay=timedelta(minutes=5)
    ),
)
def v2v_pipeline():

    @task(task_id="source-probe-video")
    def source_probe_video():
        _run_kedro_node(node_names=["source.probe_video"])

    @task(task_id="target-probe-video")
    def target_probe_video():
        _run_kedro_node(node_names=["target.probe_video"])

    @task(task_id="gather-video-metadata")
    def gather_video_metadata():
        _run_kedro_node(node_names=["gather_video_metadata"])

    @task(task_id="source-index-frames")
    def source_index_frames():
        _run_kedro_node(node_names=["source.index_frames"])

    @task(task_id="target-index-frames")
    def target_index_frames():
        _run_kedro_node(node_names=["target.index_frames"])

    @task(task_id="gather-frame-index")
    def gather_frame_index():
        _run_kedro_node(node_names=["gather_frame_index"])

    @task(task_id="source-extract-frames")
    def source_extract_frames():
        _run_kedro_node(node_names=["source.extract_frames"])

    @task(task_id="target-extract-frames")
    def target_extract_frames():
        _run_kedro_node(node_names=["target.extract_frames"])

    @task(task_id="gather-frames")
    def gather_frames():
        _run_kedro_node(node_names=["gather_frames"])

    @task(task_id="source-label-video")
    def source_label_video():
        _run_kedro_node(node_names=["source.label_video"])

    @task(task_id="target-compute-flows")
    def target_compute_flows():
        _run_kedro_node(node_names=["target.compute_flows"])

    @task(task_id="target-label-video")
    def target_label_video():
        _run_kedro_node(node_names=["target.label_video"])

    @task(task_id="gather-labels")
    def gather_labels():
        _run_kedro_node(node_names=["gather_labels"])

    @task(task_id="source-normalize-video")
    def source_normalize_video():
        _run_kedro_node(node_names=["source.normalize_video"])

    @task(task_id="target-report-flows")
    def target_report_flows():
        _run_kedro_node(node_names=["target.report_flows"])

    @task(task_id="build-dataset")
    def build_dataset():
        _run_kedro_node(node_names=["build_dataset"])

    @task(task_id="gather-normalized")
    def gather_normalized():
        _run_kedro_node(node_names=["gather_normalized"])

    @task(task_id="describe-dataset")
    def describe_dataset():
        _run_kedro_node(node_names=["describe_dataset"])

    tasks = {
        "source-probe-video": source_probe_video(),
        "target-probe-video": target_probe_video(),
        "gather-video-metadata": gather_video_metadata(),
        "source-index-frames": source_index_frames(),
        "target-index-frames": target_index_frames(),
        "gather-frame-index": gather_frame_index(),
        "source-extract-frames": source_extract_frames(),
        "target-extract-frames": target_extract_frames(),
        "gather-frames": gather_frames(),
        "source-label-video": source_label_video(),
        "target-compute-flows": target_compute_flows(),
        "target-label-video": target_label_video(),
        "gather-labels": gather_labels(),
        "source-normalize-video": source_normalize_video(),
        "target-report-flows": target_report_flows(),
        "build-dataset": build_dataset(),
        "gather-normalized": gather_normalized(),
        "describe-dataset": describe_dataset(),
    }
    tasks["source-probe-video"] >> tasks["gather-video-metadata"]
    tasks["target-probe-video"] >> tasks["gather-video-metadata"]
    tasks["source-probe-video"] >> tasks["source-index-frames"]
    tasks["target-probe-video"] >> tasks["target-index-frames"]
    tasks["source-index-frames"] >> tasks["gather-frame-index"]
    tasks["target-index-frames"] >> tasks["gather-frame-index"]
    tasks["source-probe-video"] >> tasks["source-extract-frames"]
    tasks["source-index-frames"] >> tasks["source-extract-frames"]
    tasks["target-probe-video"] >> tasks["target-extract-frames"]
    tasks["target-index-frames"] >> tasks["target-extract-frames"]
    tasks["source-extract-frames"] >> tasks["gather-frames"]
    tasks["target-extract-frames"] >> tasks["gather-frames"]
    tasks["source-probe-video"] >> tasks["source-label-video"]
    tasks["source-index-frames"] >> tasks["source-label-video"]
    tasks["source-extract-frames"] >> tasks["source-label-video"]
    tasks["target-index-frames"] >> tasks["target-compute-flows"]
    tasks["target-extract-frames"] >> tasks["target-compute-flows"]
    tasks["target-probe-video"] >> tasks["target-label-video"]
    tasks["target-index-frames"] >> tasks["target-label-video"]
    tasks["target-extract-frames"] >> tasks["target-label-video"]
    tasks["target-probe-video"] >> tasks["gather-labels"]
    tasks["target-index-frames"] >> tasks["gather-labels"]
    tasks["target-extract-frames"] >> tasks["gather-labels"]
    tasks["source-label-video"] >> tasks["gather-labels"]
    tasks["target-label-video"] >> tasks["gather-labels"]
    tasks["source-probe-video"] >> tasks["source-normalize-video"]
    tasks["target-probe-video"] >> tasks["source-normalize-video"]
    tasks["source-index-frames"] >> tasks["source-normalize-video"]
    tasks["target-index-frames"] >> tasks["source-normalize-video"]
    tasks["source-label-video"] >> tasks["source-normalize-video"]
    tasks["target-label-video"] >> tasks["source-normalize-video"]
    tasks["target-index-frames"] >> tasks["target-report-flows"]
    tasks["target-extract-frames"] >> tasks["target-report-flows"]
    tasks["target-compute-flows"] >> tasks["target-report-flows"]
    tasks["gather-video-metadata"] >> tasks["build-dataset"]
    tasks["gather-frame-index"] >> tasks["build-dataset"]
    tasks["gather-frames"] >> tasks["build-dataset"]
    tasks["target-compute-flows"] >> tasks["build-dataset"]
    tasks["gather-labels"] >> tasks["build-dataset"]
    tasks["gather-labels"] >> tasks["gather-normalized"]
    tasks["source-normalize-video"] >> tasks["gather-normalized"]
    tasks["build-dataset"] >> tasks["describe-dataset"]


v2v_pipeline()