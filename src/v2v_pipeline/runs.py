"""``v2v-runs``: list, compare and pick MLflow runs of the v2v_pipeline experiment.

::

    v2v-runs list [--name evaluate] [--metrics eval/ssim_mean ...] [--params train.model ...] [--limit 20]
    v2v-runs compare RUN RUN [RUN ...]          # params that differ, then all metrics
    v2v-runs best --metric eval/ssim_person_mean [--mode max|min]
    v2v-runs promote RUN --alias champion       # alias the model version RUN registered (or evaluated)

Runs may be given by a unique prefix of their id. The tracking URI is ``--tracking-uri``,
else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` (the project's default, so run it
from the project folder). ``best`` prints the run id and the ``runs:/<id>`` model URI to put
in ``transfer.model`` / ``evaluate.model``. The same functions load runs into DataFrames in
``notebooks/compare_runs.ipynb``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import pandas as pd

from v2v_pipeline.metrics import registry as metric_registry

DEFAULT_URI = "sqlite:///mlflow.db"
DEFAULT_EXPERIMENT = "v2v_pipeline"
KEY_METRICS = metric_registry.key_metrics("eval/")
MODEL_ARTIFACT = "model/generator.pt"


class RunsError(RuntimeError):
    """A tracking store, experiment, run or metric that cannot be used; the message says why."""


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def _client(uri: str | None):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(uri))


def load_runs(uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT, max_results: int = 1000) -> pd.DataFrame:
    """One row per run, newest first: ``run_id, run_name, status, start_time``, then ``params.*``,
    ``metrics.*`` (latest values) and ``tags.*`` columns (as ``mlflow.search_runs`` names them)."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        names = [e.name for e in client.search_experiments()]
        raise RunsError(f"no experiment {experiment!r} in {tracking_uri(uri)} (experiments: {names or 'none'}); "
                        "run a pipeline first (`kedro run`), or pass --tracking-uri / --experiment")
    rows = []
    for run in client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"],
                                  max_results=max_results):
        row = {"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
               "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True)}
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items() if not k.startswith("mlflow.")})
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else ["run_id", "run_name", "status", "start_time"])
    return df.reindex(columns=list(df.columns[:4]) + sorted(df.columns[4:]))


def resolve_run_ids(runs: pd.DataFrame, prefixes: Sequence[str]) -> list[str]:
    """Full run ids for ids or unique id prefixes."""
    out = []
    for p in prefixes:
        hits = [r for r in runs["run_id"] if r.startswith(p)]
        if len(hits) != 1:
            what = "no run" if not hits else f"{len(hits)} runs"
            raise RunsError(f"{what} with an id starting with {p!r}; see `v2v-runs list`")
        out.append(hits[0])
    return out


def varying_columns(runs: pd.DataFrame, prefix: str) -> list[str]:
    """Columns starting with ``prefix`` with at least two different values among the runs that have them.

    (kedro-mlflow logs only the parameters a pipeline uses, so a run of another pipeline
    simply lacks them: that is not a difference.)
    """
    cols = [c for c in runs.columns if c.startswith(prefix)]
    return [c for c in cols if runs[c].dropna().astype(str).nunique() > 1]


def metric_mode(metric: str) -> str:
    """``max`` for metrics where larger is better (SSIM, PSNR, detection rate, fps), else ``min`` (the registry's)."""
    return metric_registry.direction(metric)


def best_run(runs: pd.DataFrame, metric: str, mode: str = "auto") -> pd.Series:
    """The run with the best value of ``metric`` (``mode``: max, min, or auto from the metric's name)."""
    col = metric if metric.startswith("metrics.") else f"metrics.{metric}"
    if col not in runs or runs[col].notna().sum() == 0:
        have = sorted(c[len("metrics."):] for c in runs.columns if c.startswith("metrics."))
        raise RunsError(f"no run has metric {metric!r}; metrics logged: {', '.join(have) or 'none'} "
                        "(eval/* metrics come from `kedro run --pipelines=evaluate`)")
    mode = metric_mode(metric) if mode == "auto" else mode
    values = runs[col].astype(float)
    return runs.loc[values.idxmax() if mode == "max" else values.idxmin()]


def model_uri(run: pd.Series, uri: str | None = None) -> str | None:
    """What to put in ``transfer.model`` to use the model evaluated in ``run``, or None.

    ``runs:/<id>`` of ``run`` itself when it logged ``model/generator.pt`` (train and evaluate
    in one ``kedro run``), else of the run named by its ``eval.model_run_id`` tag, else the
    model file path of its ``eval.model`` tag.
    """
    client = _client(uri)
    try:
        if MODEL_ARTIFACT in {a.path for a in client.list_artifacts(run["run_id"], "model")}:
            return f"runs:/{run['run_id']}"
    except Exception:  # noqa: BLE001 - an unreachable artifact store just means "unknown"
        pass
    for tag, fmt in (("tags.eval.model_run_id", "runs:/{}"), ("tags.eval.model", "{}")):
        value = run.get(tag)
        if isinstance(value, str) and value and value != "latest":
            return fmt.format(value)
    return None


def list_table(runs: pd.DataFrame, metrics: Sequence[str] | None = None, params: Sequence[str] | None = None,
               max_params: int = 6) -> pd.DataFrame:
    """Short table: id prefix, name, status, start, chosen (or varying) params, key metrics present."""
    if params is None:
        params = [c[len("params."):] for c in varying_columns(runs, "params.")][:max_params]
    metrics = [m for m in (metrics or KEY_METRICS) if f"metrics.{m}" in runs]
    table = pd.DataFrame({"run": runs["run_id"].str[:8], "name": runs["run_name"], "status": runs["status"],
                          "start": runs["start_time"].dt.strftime("%Y-%m-%d %H:%M")})
    for p in params:
        table[p] = runs.get(f"params.{p}")
    for m in metrics:
        table[m] = runs[f"metrics.{m}"]
    return table


def compare_table(runs: pd.DataFrame, run_ids: Sequence[str], all_params: bool = False) -> tuple[pd.DataFrame,
                                                                                                   pd.DataFrame]:
    """``(params, metrics)``: one column per run; params that differ (or all), every metric."""
    sub = runs.set_index("run_id").loc[list(run_ids)].reset_index()
    names = [r[:8] for r in sub["run_id"]]
    pcols = [c for c in sub.columns if c.startswith("params.")] if all_params else varying_columns(sub, "params.")
    mcols = [c for c in sub.columns if c.startswith("metrics.") and sub[c].notna().any()]
    params = sub[pcols].T.set_axis(names, axis=1).rename(index=lambda c: c[len("params."):])
    metrics = sub[mcols].T.set_axis(names, axis=1).rename(index=lambda c: c[len("metrics."):])
    return params, metrics


def promote(runs: pd.DataFrame, run: str, alias: str, uri: str | None = None, name: str | None = None):
    """Point ``alias`` at the registered model version of ``run`` (a train run, or an evaluate run:
    then the version of the run named by its ``eval.model_run_id`` tag); returns the ``ModelVersion``."""
    (run_id,) = resolve_run_ids(runs, [run])
    row = runs.set_index("run_id").loc[run_id]
    evaluated = row.get("tags.eval.model_run_id")
    candidates = [run_id] + ([evaluated] if isinstance(evaluated, str) and evaluated != run_id else [])
    client = _client(uri)
    for rid in candidates:
        versions = [v for v in client.search_model_versions(f"run_id = '{rid}'") if name in (None, v.name)]
        if versions:
            version = max(versions, key=lambda v: int(v.version))
            client.set_registered_model_alias(version.name, alias, version.version)
            return version
    raise RunsError(f"run {run_id[:8]} registered no model version{f' of {name!r}' if name else ''} "
                    f"(nor did the run it evaluated); promote a train run that had train.registered_model_name set "
                    "(`v2v-runs list --name train`)")


def _print(df: pd.DataFrame, empty: str) -> None:
    if df.empty:
        print(empty)
    else:
        with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 48,
                               "display.float_format", "{:.4g}".format):
            print(df.to_string())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="v2v-runs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", help=f"MLflow tracking URI (default: $MLFLOW_TRACKING_URI or {DEFAULT_URI})")
    parser.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment name (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="runs with key metrics and the params that vary")
    p_list.add_argument("--metrics", nargs="+", help=f"metric columns (default: those of {', '.join(KEY_METRICS)})")
    p_list.add_argument("--params", nargs="+", help="param columns (default: params that differ between runs)")
    p_list.add_argument("--limit", type=int, default=20, help="newest N runs (default: %(default)s)")
    p_list.add_argument("--name", help="only runs whose name contains this (kedro-mlflow names runs by pipeline)")
    p_cmp = sub.add_parser("compare", help="runs side by side: params that differ, metrics")
    p_cmp.add_argument("runs", nargs="+", metavar="RUN_ID", help="run ids or unique prefixes")
    p_cmp.add_argument("--all-params", action="store_true", help="show every param, not only those that differ")
    p_best = sub.add_parser("best", help="the best run by a metric, and its model URI")
    p_best.add_argument("--metric", required=True, help="e.g. eval/ssim_person_mean")
    p_best.add_argument("--mode", choices=("auto", "max", "min"), default="auto",
                        help="max or min; auto: max for ssim/psnr/..., min for errors and distances")
    p_promote = sub.add_parser("promote", help="set a registry alias (e.g. champion) on the model version of a run")
    p_promote.add_argument("run", metavar="RUN_ID", help="a train run, or an evaluate run (its evaluated model)")
    p_promote.add_argument("--alias", required=True, help="e.g. champion; use it as models:/<name>@<alias>")
    p_promote.add_argument("--name", help="registered model name, when the run registered several")
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.tracking_uri, args.experiment)
        if args.command == "list":
            if args.name:
                runs = runs[runs["run_name"].fillna("").str.contains(args.name, regex=False)]
            _print(list_table(runs.head(args.limit), args.metrics, args.params), "no runs")
        elif args.command == "compare":
            ids = resolve_run_ids(runs, args.runs)
            params, metrics = compare_table(runs, ids, args.all_params)
            print("params" + ("" if args.all_params else " that differ") + ":")
            _print(params, "  (none)")
            print("\nmetrics:")
            _print(metrics, "  (none)")
        elif args.command == "promote":
            version = promote(runs, args.run, args.alias, args.tracking_uri, args.name)
            print(f"{version.name} version {version.version} (run {version.run_id}) is now @{args.alias}: "
                  f"use transfer.model / evaluate.model = models:/{version.name}@{args.alias}")
        else:
            run = best_run(runs, args.metric, args.mode)
            mode = metric_mode(args.metric) if args.mode == "auto" else args.mode
            print(f"best run by {args.metric} ({mode}): {run['run_id']}  {args.metric} = "
                  f"{float(run['metrics.' + args.metric.removeprefix('metrics.')]):.6g}")
            uri = model_uri(run, args.tracking_uri)
            print(f"model: {uri}" if uri else "model: unknown (no model/generator.pt artifact, no eval.model_run_id "
                                              "or eval.model tag in this run)")
    except RunsError as e:
        print(f"v2v-runs: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
