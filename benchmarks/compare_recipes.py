"""Train several recipes for the same wall-clock budget on the same data, evaluate each on the
held-out test split, and print them side by side (all runs land in one MLflow experiment).

    .venv/bin/python benchmarks/compare_recipes.py --env subject4 --minutes 15
    .venv/bin/python benchmarks/compare_recipes.py --recipes default pix2pixhd_faithful --minutes 2

Run `kedro run --env=<env> --pipelines=data` first. Each recipe is a `kedro run
--pipelines=train,evaluate` with the parameters below as runtime overrides; a recipe's
checkpoints live under its own run key, so a killed comparison resumes where it stopped.
Run nothing else on the machine meanwhile: the budget is wall-clock time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

# Runtime parameters are merged key by key into conf/, so every recipe names each network key the
# base configuration sets (background, upsampling, ...) instead of inheriting the default's.
FAITHFUL_P2PHD = {"ngf": 32, "n_downsampling": 4, "n_blocks": 9, "ndf": 64, "n_layers_D": 3, "num_D": 2,
                  "upsampling": "transpose", "background": False}
PLAIN = {"l1": 0.0}  # the reference recipes have no pixel L1 (VGG is on only where its weights exist)

RECIPES: dict[str, dict] = {
    # this project's default: EDN temporal generator + background plate + L1 + EMA
    "default": {},
    # pix2pixHD as the issue specifies: global G ngf 32, 4 downsamplings, 9 blocks; 2-scale D, 3 layers;
    # LSGAN + feature matching 10; Adam 2e-4, beta1 0.5; batch 1
    "pix2pixhd_faithful": {"model": "pix2pixhd", "network": FAITHFUL_P2PHD, "sequence_length": 1,
                           "batch_size": 1, "loss": PLAIN, "ema_decay": 0.0, "lr": 2e-4, "beta1": 0.5},
    # Everybody Dance Now temporal smoothing on the same generator and discriminator sizes
    "edn_temporal": {"model": "edn", "network": FAITHFUL_P2PHD, "sequence_length": 2, "batch_size": 1,
                     "loss": PLAIN, "ema_decay": 0.0},
    # vid2vid sequential generator (CPU-sized: ngf 32, 3 downsamplings, 6 blocks), 2 real history frames
    "vid2vid": {"model": "vid2vid", "network": {"ngf": 32, "n_downsampling": 3, "n_blocks": 6, "ndf": 32,
                                                "n_layers_D": 3, "num_D": 2, "n_frames_G": 3, "n_frames_D": 3,
                                                "upsampling": "transpose", "background": False},
                "sequence_length": 5, "batch_size": 1, "loss": PLAIN, "ema_decay": 0.0},
}

COLUMNS = {
    "eval/ssim_mean": "SSIM",
    "eval/ssim_person_mean": "SSIM person",
    "eval/psnr_mean": "PSNR",
    "eval/psnr_person_mean": "PSNR person",
    "eval/warp_error_mean": "warp err",
    "eval/tof_mean": "tOF",
    "eval/pose_distance_mean": "pose dist",
    "eval/baseline_ssim_mean": "baseline SSIM",
    "eval/baseline_ssim_person_mean": "baseline SSIM person",
    "eval/warp_error_real_mean": "real warp err",
}


def run_recipe(name: str, env: str, minutes: float, extra: dict) -> str:
    import mlflow
    from kedro.framework.session import KedroSession

    params = {"train": {**RECIPES[name], **extra, "max_minutes": minutes, "max_steps": 10_000_000,
                        "registered_model_name": None}}
    t0 = time.time()
    with KedroSession.create(project_path=Path.cwd(), env=env, runtime_params=params) as session:
        session.run(pipeline_names=["train", "evaluate"])
    run = mlflow.search_runs(experiment_names=["v2v_pipeline"], order_by=["start_time DESC"], max_results=1).iloc[0]
    for key, value in RECIPES[name].get("network", {}).items():  # the run really used the recipe's network
        logged = run.get(f"params.train.network.{key}")
        if logged is not None and str(logged) != str(value):
            raise RuntimeError(f"recipe {name}: network.{key} was {logged}, not {value}")
    mlflow.MlflowClient().set_tag(run.run_id, "recipe", name)
    mlflow.MlflowClient().set_tag(run.run_id, "mlflow.runName", f"recipe:{name}")
    print(f"[{name}] done in {(time.time() - t0) / 60:.1f} min, MLflow run {run.run_id}", flush=True)
    return run.run_id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", default="subject4")
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per recipe (wall clock)")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = ap.parse_args(argv)

    import mlflow
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(Path.cwd())
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    extra = {"threads": args.threads} if args.threads else {}
    ids = {name: run_recipe(name, args.env, args.minutes, extra) for name in args.recipes}

    runs = mlflow.search_runs(experiment_names=["v2v_pipeline"])
    runs = runs.set_index("run_id").loc[list(ids.values())]
    rows = []
    for name, run_id in ids.items():
        r = runs.loc[run_id]
        row = {"recipe": name, "steps": _last_step(run_id)}
        row.update({label: r.get(f"metrics.{key}", float("nan")) for key, label in COLUMNS.items()})
        rows.append(row)
    import pandas as pd

    table = pd.DataFrame(rows).set_index("recipe")
    pd.set_option("display.width", 200)
    print(f"\nbudget: {args.minutes} min of training per recipe, env {args.env}; test split of the target")
    print(table.round(4).to_string())
    return 0


def _last_step(run_id: str) -> int:
    import mlflow

    hist = mlflow.MlflowClient().get_metric_history(run_id, "G_total")
    return int(max((m.step for m in hist), default=0))


if __name__ == "__main__":
    sys.exit(main())
