"""Project hooks: early parameter validation and the reproducibility manifest."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from v2v_pipeline import interrupt, lineage, validation
from v2v_pipeline.datasets.run_outputs import catalog_filepath, saved_by_run, saved_location
from v2v_pipeline.params import validate_all
from v2v_pipeline.storage import sha256_file, write_json_atomic

log = logging.getLogger(__name__)

MANIFEST_DIR = Path("data/08_reporting")


def code_version(project_path: Path | str = ".") -> str:
    """Git commit of the project, with ``-dirty`` when tracked files have uncommitted changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_path, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_path,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        from v2v_pipeline import __version__

        return f"v{__version__} (no git)"


def parameters_hash(params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def saved_path(dataset: Any) -> Path | str | None:
    """The file a (possibly versioned) file-based dataset has just written (a path or fsspec URL), or None."""
    return saved_location(dataset)


class ProjectHooks:
    def __init__(self) -> None:
        self._context = None
        self._catalog = None
        self._saved: dict[str, Path] = {}
        self._versions: dict[str, str] = {}
        self._guard = interrupt.RunGuard()
        self._produced: set[str] = set()
        self._records: dict[str, lineage.Record] = {}
        self._sha: dict[str, str] = {}
        self._run_id: str | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        """Remember the context; build the per-video namespaces for this run's videos (its
        environment and ``--params``), before the session reads the pipeline registry."""
        self._context = context
        try:
            params = context.config_loader["parameters"]
        except Exception:  # noqa: BLE001 - no parameters: the registry uses the configuration files
            return
        from v2v_pipeline.pipelines.videos import use_run_parameters

        use_run_parameters(params)

    @hook_impl
    def after_catalog_created(self, catalog) -> None:
        self._catalog = catalog

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        """Fail in the first second on a typo or a wrongly typed parameter."""
        from v2v_pipeline.pipelines.videos import use_run_parameters

        use_run_parameters(None)  # the session has read the registry (built for this run's videos)
        self._saved.clear()
        self._versions.clear()
        self._records.clear()
        self._sha.clear()
        self._run_id = run_params.get("run_id")
        params = self._context.params if self._context is not None else {}
        if self._context is not None:
            validate_all(params)
            validation.check_run(params, {n.name for n in pipeline.nodes})
            _check_dataset_labels(params, pipeline, catalog)
        project = Path(run_params.get("project_path") or ".")
        self._produced = set(pipeline.all_outputs())
        interrupt.clean_stale(_leftover_roots(project, params))
        self._guard.start(project / "data", run_params.get("run_id") or run_params.get("session_id"))
        self._guard.on_interrupt = lambda: interrupt.rollback(self._saved, self._versions, self._produced)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline, catalog) -> None:
        """A failed run keeps no half of an artifact group (e.g. a new frame_index without frames)."""
        self._guard.stop()
        interrupt.rollback(self._saved, self._versions, self._produced)

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node) -> None:
        """Remember what each loaded artifact was made from (its lineage sidecar)."""
        if dataset_name in self._records or dataset_name.startswith("params:") or dataset_name == "parameters":
            return
        dataset = self._dataset(dataset_name)
        path, version = _load_path(dataset)
        record = lineage.read(dataset_name, path, version) if path is not None else None
        if record is not None:
            self._records[dataset_name] = record

    @hook_impl
    def before_node_run(self, node, catalog, inputs: dict[str, Any]) -> None:
        """A node that combines artifacts checks that they come from one lineage."""
        records = {n: self._records[n] for n in node.inputs if n in self._records}
        if len(records) > 1:
            lineage.check(node.name, records, rebuild_command)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node) -> None:
        inputs = {n: self._records[n] for n in node.inputs if n in self._records}
        dataset = self._dataset(dataset_name)
        path = saved_path(dataset) if dataset is not None else None
        if isinstance(path, str):  # an fsspec URL (object storage): in the manifest; lineage sidecars are local files
            self._saved[dataset_name] = path
            if getattr(dataset, "_version", None) is not None:
                self._versions[dataset_name] = dataset.resolve_save_version()
            return
        if path is None or not path.is_file():
            ancestors: dict[str, str] = {}
            for rec in inputs.values():
                ancestors.update(rec.family)
            self._records[dataset_name] = lineage.Record(dataset_name, f"memory:{self._run_id}:{dataset_name}",
                                                         ancestors)
            return
        record = lineage.write(dataset_name, path, inputs, self._run_id)
        self._saved[dataset_name] = path
        self._sha[dataset_name] = record.id
        version = getattr(dataset, "_version", None)
        if version is not None:
            self._versions[dataset_name] = dataset.resolve_save_version()
            record.version = self._versions[dataset_name]
        self._records[dataset_name] = record

    def _dataset(self, name: str):
        if self._catalog is None:
            return None
        try:
            return self._catalog.get(name)
        except Exception:  # noqa: BLE001 - a dataset we cannot introspect has no lineage
            return None

    @hook_impl(tryfirst=True)  # before kedro-mlflow ends the MLflow run
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline, catalog) -> None:
        self._guard.stop()
        # ParallelRunner / Dask run the dataset hooks in their workers: find this run's files in the catalog
        for ds, path in saved_by_run(catalog, pipeline.all_outputs() - set(self._saved)).items():
            self._saved[ds] = path
            if getattr(catalog.get(ds), "_version", None) is not None:
                self._versions[ds] = catalog.get(ds).resolve_save_version()
        if not self._saved:
            return
        names = run_params.get("pipeline_names") or [run_params.get("pipeline_name") or "__default__"]
        name = "+".join(names) if isinstance(names, list) else str(names)
        used = sorted(i[len("params:"):] for i in pipeline.inputs() | {x for n in pipeline.nodes for x in n.inputs}
                      if i.startswith("params:"))
        params = self._context.params if self._context is not None else {}
        used_params = {k: _lookup(params, k) for k in used}
        project = Path(run_params.get("project_path") or ".").resolve()
        manifest = {
            "pipeline": name,
            "code_version": code_version(run_params.get("project_path", ".")),
            "parameters_hash": parameters_hash(used_params),
            "artifacts": {
                ds: {"filepath": _relative(catalog_filepath(catalog.get(ds), path), project),
                     "sha256": self._sha.get(ds) or sha256_file(path)}
                for ds, path in sorted(self._saved.items())
            },
        }
        out = MANIFEST_DIR / f"manifest_{name.replace('+', '_').strip('_')}.json"
        write_json_atomic(out, manifest)
        if run_params.get("run_id"):  # per run, so concurrent runs keep their own (the one above is the last finished)
            write_json_atomic(MANIFEST_DIR / "runs" / str(run_params["run_id"]) / out.name, manifest)
        log.info("manifest of %d artifacts written to %s", len(manifest["artifacts"]), out)
        _log_manifest_to_mlflow(out, manifest, self._versions)


def _check_dataset_labels(params: dict[str, Any], pipeline, catalog) -> None:
    """A run that trains or evaluates on the stored dataset (without building it) stops when the
    target's newest labels came from another backend than its configuration names."""
    if "dataset_archive" not in pipeline.inputs():  # built in this run, or not used
        return
    from v2v_pipeline.config import parse
    from v2v_pipeline.params import LabelParams
    from v2v_pipeline.pipelines.videos import video_names

    target = video_names(params)[0]
    try:
        summary = catalog.load(f"{target}.label_summary")
    except Exception:  # noqa: BLE001 - none stored (a dataset from before label summaries): nothing to compare
        return
    wanted = parse(LabelParams, params.get("label"), "label").source_for(target).backend  # as labeling resolves it
    problems = validation.dataset_label_problems(wanted, target, summary)
    if problems:
        raise validation.ValidationError("the run cannot give a correct result:\n  - " + "\n  - ".join(problems))


def _load_path(dataset: Any) -> tuple[Path | None, str | None]:
    """The file a dataset has just loaded (its resolved version) and that version."""
    if dataset is None or getattr(dataset, "_filepath", None) is None:
        return None, None
    try:
        if getattr(dataset, "_version", None) is not None and hasattr(dataset, "_get_load_path"):
            return Path(str(dataset._get_load_path())), dataset.resolve_load_version()
        return Path(str(dataset._filepath)), None
    except Exception:  # noqa: BLE001 - no version on disk: nothing to check
        return None, None


def rebuild_command(dataset: str) -> str:
    """The ``kedro run`` that rebuilds ``dataset``: the smallest registered pipeline making it."""
    try:
        from kedro.framework.project import pipelines

        makers = sorted((len(p.nodes), name) for name, p in pipelines.items()
                        if name != "__default__" and dataset in p.all_outputs())
    except Exception:  # noqa: BLE001
        makers = []
    return f"kedro run --pipelines={makers[0][1]}" if makers else f"kedro run --to-outputs={dataset}"


def _leftover_roots(project: Path, params: dict[str, Any]) -> list[Path]:
    roots = [project / "data"]
    ckpt = (params.get("train") or {}).get("checkpoint_dir") if isinstance(params.get("train"), dict) else None
    if ckpt:
        path = Path(ckpt) if Path(ckpt).is_absolute() else project / ckpt
        if not path.resolve().is_relative_to((project / "data").resolve()):
            roots.append(path)
    return roots


def _relative(path: Any, root: Path) -> str:
    if "://" in str(path):  # an fsspec URL (object storage), not a local path
        return str(path)
    try:
        return Path(str(path)).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _log_manifest_to_mlflow(path: Path, manifest: dict, versions: dict[str, str]) -> None:
    try:
        import mlflow
    except ImportError:  # pragma: no cover
        return
    if mlflow.active_run() is None:
        return
    blob = json.dumps(manifest, sort_keys=True).encode()
    mlflow.set_tags({
        "manifest_sha256": hashlib.sha256(blob).hexdigest(),
        "code_version": manifest["code_version"],
        "parameters_hash": manifest["parameters_hash"],
        **{f"version.{k}": v for k, v in versions.items()},
    })
    mlflow.log_artifact(str(path), artifact_path="manifest")
