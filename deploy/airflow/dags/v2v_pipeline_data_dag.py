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

    @task(task_id="probe-videos")
    def probe_videos():
        _run_kedro_node(node_names=["probe_videos"])

    @task(task_id="index-frames")
    def index_frames():
        _run_kedro_node(node_names=["index_frames"])

    @task(task_id="extract-frames")
    def extract_frames():
        _run_kedro_node(node_names=["extract_frames"])

    @task(task_id="compute-flows")
    def compute_flows():
        _run_kedro_node(node_names=["compute_flows"])

    @task(task_id="label-videos")
    def label_videos():
        _run_kedro_node(node_names=["label_videos"])

    @task(task_id="build-dataset")
    def build_dataset():
        _run_kedro_node(node_names=["build_dataset"])

    @task(task_id="normalize-sources")
    def normalize_sources():
        _run_kedro_node(node_names=["normalize_sources"])

    @task(task_id="report-flows")
    def report_flows():
        _run_kedro_node(node_names=["report_flows"])

    @task(task_id="describe-dataset")
    def describe_dataset():
        _run_kedro_node(node_names=["describe_dataset"])

    tasks = {
        "probe-videos": probe_videos(),
        "index-frames": index_frames(),
        "extract-frames": extract_frames(),
        "compute-flows": compute_flows(),
        "label-videos": label_videos(),
        "build-dataset": build_dataset(),
        "normalize-sources": normalize_sources(),
        "report-flows": report_flows(),
        "describe-dataset": describe_dataset(),
    }
    tasks["probe-videos"] >> tasks["index-frames"]
    tasks["probe-videos"] >> tasks["extract-frames"]
    tasks["index-frames"] >> tasks["extract-frames"]
    tasks["index-frames"] >> tasks["compute-flows"]
    tasks["extract-frames"] >> tasks["compute-flows"]
    tasks["probe-videos"] >> tasks["label-videos"]
    tasks["index-frames"] >> tasks["label-videos"]
    tasks["extract-frames"] >> tasks["label-videos"]
    tasks["index-frames"] >> tasks["build-dataset"]
    tasks["extract-frames"] >> tasks["build-dataset"]
    tasks["compute-flows"] >> tasks["build-dataset"]
    tasks["label-videos"] >> tasks["build-dataset"]
    tasks["index-frames"] >> tasks["normalize-sources"]
    tasks["label-videos"] >> tasks["normalize-sources"]
    tasks["index-frames"] >> tasks["report-flows"]
    tasks["extract-frames"] >> tasks["report-flows"]
    tasks["compute-flows"] >> tasks["report-flows"]
    tasks["build-dataset"] >> tasks["describe-dataset"]


v2v_pipeline()