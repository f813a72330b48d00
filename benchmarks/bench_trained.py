"""Inference fast paths on a TRAINED generator and real labels: speed, and how far each path is from fp32.

``bench_suite.py``'s generation section uses random weights, where a recurrent generator (EDN, vid2vid) is
chaotic: a rounding difference of 1/255 grows to 230/255 in 20 frames, so its free-running difference says
nothing about a trained model. This script takes a trained generator file (what ``kedro run --pipelines=train``
writes, e.g. ``data/06_models/generator.pt/<version>/generator.pt``) and the test split of the dataset it
was trained on (found by the file's ``dataset_sha256`` among ``data/05_model_input/dataset.zip`` versions),
runs every path free-running over the whole split, and reports:

* frames/s of the generator on the clip (interleaved repeats, best), ratio against the project in fp32
  (bit-identical to eager fp32, ``tests/benchmarks/test_generation_accuracy.py``);
* the difference from fp32 per pixel (max, 99.9th percentile, mean, in 0-255) and its PSNR;
* SSIM / PSNR of the person box against the real test frames, for fp32 and for each path: what a user
  would see change in the evaluation.

Paths: ``project fp32``; ``project auto`` (the project's automatic choice: bf16 with the weights cast once on a
CPU with native bf16, fp32 elsewhere); ``project int8`` (``precision: int8``, :mod:`v2v_pipeline.int8`: ONNX
Runtime, calibrated on the clip's first frames as transfer does; skipped with the reason when onnxruntime is
not installed); with ``--compile`` the project's auto path compiled (``transfer.compile``); with ``--onnx-fp32``
the network exported to ONNX Runtime without quantisation (not a project path: what the runtime alone gives).

    .venv/bin/python benchmarks/bench_trained.py                 # the newest EDN generator file in data/
    .venv/bin/python benchmarks/bench_trained.py --model PATH --onnx-fp32 --compile

Writes ``benchmarks/results/trained-<machine>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_suite import machine_info, machine_line, result_name, say, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- inputs
def newest_model(root: Path, family: str) -> Path:
    for path in sorted(glob.glob(str(root / "data/06_models/generator.pt/*/generator.pt")), reverse=True):
        if torch.load(path, map_location="cpu", weights_only=True)["model_config"]["model"] == family:
            return Path(path)
    raise SystemExit(f"no trained {family} generator under {root}/data/06_models/generator.pt; train one "
                     "(kedro run --pipelines=train) or pass --model PATH")


def dataset_for(root: Path, sha: str) -> tuple[Path, Path]:
    """The dataset archive and frame table whose manifest has ``sha``."""
    for manifest in sorted(glob.glob(str(root / "data/05_model_input/dataset_manifest.json/*/dataset_manifest.json"))):
        if json.loads(Path(manifest).read_text()).get("sha256") == sha:
            version = Path(manifest).parent.name
            return (root / "data/05_model_input/dataset.zip" / version / "dataset.zip",
                    root / "data/05_model_input/dataset_frames.parquet" / version / "dataset_frames.parquet")
    raise SystemExit(f"no dataset with sha256 {sha[:12]}... under {root}/data/05_model_input (the model's training "
                     "data); rebuild it with kedro run --pipelines=data in the env it was trained in, or pass "
                     "--dataset")


def split_frames(archive: Path, frames: Path, split: str, size: tuple[int, int]):
    import pandas as pd

    from v2v_pipeline.report.evaluation import DatasetReader
    from v2v_pipeline.storage import Archive

    table = pd.read_parquet(frames)
    rows = table[table["split"] == split]
    reader = DatasetReader(Archive(archive), size)
    stored_w, stored_h = reader.stored_size(int(rows["frame"].iloc[0]))
    sx, sy = size[0] / stored_w, size[1] / stored_h
    labels = [reader.label(int(f)) for f in rows["frame"]]
    images = [reader.image(int(f)) for f in rows["frame"]]
    boxes = [None if not np.isfinite(r.person_x0)
             else (r.person_x0 * sx, r.person_y0 * sy, r.person_x1 * sx, r.person_y1 * sy) for r in rows.itertuples()]
    return labels, images, boxes


# ----------------------------------------------------------------------------- ONNX Runtime fp32
def onnx_fp32(gen, example: np.ndarray):
    """``gen`` (a fp32 FrameGenerator) with its body network exported to ONNX and run by ONNX Runtime in fp32:
    what the exporter and the runtime give without quantisation (not a project path)."""
    from v2v_pipeline.int8 import Int8Network, export_onnx, require_onnxruntime

    ort = require_onnxruntime()
    owner, attr = gen._network_slot()
    with tempfile.TemporaryDirectory() as tmp:
        export_onnx(getattr(owner, attr), torch.from_numpy(example), Path(tmp) / "net.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = torch.get_num_threads(), 1
        session = ort.InferenceSession(str(Path(tmp) / "net.onnx"), options, providers=["CPUExecutionProvider"])
    setattr(owner, attr, Int8Network(session, f"onnxruntime {ort.__version__} fp32"))  # same wrapper, fp32 graph
    return gen


# ----------------------------------------------------------------------------- measurement
def run_clip(gen, labels: list[np.ndarray], batch: int = 1) -> np.ndarray:
    return np.stack(list(gen.generate_clip(labels, batch_size=batch)))


def first_input(gen, label: np.ndarray) -> np.ndarray:
    """What the body network of ``gen`` sees for ``label`` at the start of a clip (the export's example)."""
    seen: list[np.ndarray] = []
    owner, attr = gen._network_slot()
    hook = getattr(owner, attr).register_forward_pre_hook(lambda m, args: seen.append(args[0].float().numpy().copy()))
    try:
        run_clip(gen, [label])
    finally:
        hook.remove()
    return seen[0]


def quality(frames: np.ndarray, images: list[np.ndarray], boxes: list) -> dict[str, float]:
    from v2v_pipeline.metrics.engine import finite_mean, image_scores

    scores = [image_scores(f, r, b) for f, r, b in zip(frames, images, boxes)]
    return {k: finite_mean([s[k] for s in scores]) for k in ("ssim_person", "psnr_person", "ssim", "psnr")}


def difference(frames: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    d = np.abs(frames.astype(np.int16) - ref.astype(np.int16))
    mse = float((d.astype(np.float64) ** 2).mean())
    return {"max_abs_diff": int(d.max()), "p999_abs_diff": float(np.percentile(d, 99.9)),
            "mean_abs_diff": float(d.mean()), "psnr_vs_fp32": float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)}


def _shown(path: Path) -> Path:
    """``path`` relative to the project when it is inside it (the results files name no home folder)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="a trained generator file (default: the newest of --family in data/)")
    ap.add_argument("--family", default="edn", choices=["edn", "pix2pixhd"])
    ap.add_argument("--dataset", type=Path, help="its dataset.zip (default: found by the model's dataset_sha256)")
    ap.add_argument("--frames-table", type=Path, help="its dataset_frames.parquet (with --dataset)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8, help="pix2pixHD frames per call (transfer.batch_size; EDN: 1)")
    ap.add_argument("--onnx-fp32", action="store_true", help="also the network exported to ONNX Runtime in fp32")
    ap.add_argument("--compile", action="store_true", help="also the project path compiled (transfer.compile)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results")
    args = ap.parse_args(argv)

    from v2v_pipeline.inference import INT8_CALIBRATION_FRAMES, FrameGenerator, load_model_file

    path = _shown(args.model or newest_model(ROOT, args.family))
    model = load_model_file(str(path))
    family, size = model["model_config"]["model"], tuple(model["size"])
    if args.dataset:
        archive, table = args.dataset, args.frames_table or args.dataset.with_name("dataset_frames.parquet")
    else:
        archive, table = dataset_for(ROOT, model["dataset_sha256"])
    archive, table = _shown(archive), _shown(table)
    labels, images, boxes = split_frames(archive, table, args.split, size)
    batch = args.batch if family == "pix2pixhd" else 1
    info = machine_info("cpu")
    say(f"{info['cpu_model']} | {family} step {model['step']} at {size[0]}x{size[1]} | {len(labels)} {args.split} "
        f"frames of {archive} | torch threads {torch.get_num_threads()}")

    paths: dict[str, Any] = {"project fp32": FrameGenerator(model, "cpu", "fp32")}
    auto = FrameGenerator(model, "cpu", "auto")
    paths[f"project auto ({auto.precision})"] = auto
    notes = {"project auto": auto.precision_reason}
    if args.compile:
        paths[f"project auto ({auto.precision}) compiled"] = FrameGenerator(model, "cpu", "auto", compile=True)
    try:
        from v2v_pipeline.int8 import require_onnxruntime

        ort = require_onnxruntime()
        paths["project int8"] = FrameGenerator(model, "cpu", "int8")
        notes["int8"] = (f"onnxruntime {ort.__version__}: int8 QDQ per-channel, calibrated on the clip's first "
                         f"{INT8_CALIBRATION_FRAMES} frames as transfer does (in its warm-up)")
        if args.onnx_fp32:
            paths["onnxruntime fp32"] = onnx_fp32(FrameGenerator(model, "cpu", "fp32"),
                                                  first_input(FrameGenerator(model, "cpu", "fp32"), labels[0]))
    except ImportError as e:
        notes["int8"] = f"not measured: {e}"
        say(f"  project int8: {notes['int8']}")
    outs, warm = {}, {}
    for k, g in paths.items():  # warm-up (oneDNN primitives, compile) and the clip kept for the accuracy columns
        t0 = time.perf_counter()
        outs[k] = run_clip(g, labels, batch)
        warm[k] = time.perf_counter() - t0
        say(f"  warm-up {k}: {warm[k]:.1f} s")
    times: dict[str, list[float]] = {k: [] for k in paths}
    for r in range(args.repeats):
        for k in (list(paths) if r % 2 == 0 else list(paths)[::-1]):
            t0 = time.perf_counter()
            run_clip(paths[k], labels, batch)
            times[k].append(time.perf_counter() - t0)
    base = min(times["project fp32"])
    rows = []
    for k in paths:
        row = {"path": k, "frames_per_s": len(labels) / min(times[k]), "ratio_vs_fp32": base / min(times[k]),
               "warmup_s": warm[k], **difference(outs[k], outs["project fp32"]), **quality(outs[k], images, boxes)}
        rows.append(row)
    if "project int8" in paths:
        notes["int8_check"] = paths["project int8"].int8_check
    res = {"machine": info, "model": str(path), "family": family, "step": model["step"], "size": list(size),
           "dataset": str(archive), "split": args.split, "frames": len(labels), "batch": batch, "repeats": args.repeats,
           "notes": notes, "rows": rows}
    md = [f"# Trained {family} generator: inference paths against fp32 ({info['cpu_model']})", "",
          f"- model `{path}` (step {model['step']}, {size[0]}x{size[1]}); {len(labels)} `{args.split}` frames of "
          f"`{archive}`, free-running from a cold start, batch {batch}",
          machine_line(info),
          f"- project auto: {notes['project auto']}; project int8: {notes['int8']}", "",
          "| path | frames/s | ratio vs fp32 | max / p99.9 / mean abs diff vs fp32 (0-255) | PSNR vs fp32 dB | "
          "SSIM person | PSNR person dB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['path']} | {r['frames_per_s']:.2f} | {r['ratio_vs_fp32']:.2f} | {r['max_abs_diff']} / "
                  f"{r['p999_abs_diff']:.0f} / {r['mean_abs_diff']:.2f} | {r['psnr_vs_fp32']:.1f} | "
                  f"{r['ssim_person']:.4f} | {r['psnr_person']:.2f} |")
    md += ["", "SSIM / PSNR person: against the real test frames inside the person box (the evaluation's "
           "`ssim_person`); frames/s: the body generator over the clip, best of the interleaved repeats."]
    write_results(args.out, f"trained-{family}-{result_name(info)}", res, "\n".join(md))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
