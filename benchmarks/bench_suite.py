"""`make bench`: training, generation and transfer throughput of the project against a plain baseline.

    .venv/bin/python benchmarks/bench_suite.py                 # 256x128, 200 steps per recipe
    .venv/bin/python benchmarks/bench_suite.py --large         # also 512x256 (slow on 2 cores)
    .venv/bin/python benchmarks/bench_suite.py --quick         # smoke test: tiny networks, a few steps
    .venv/bin/python benchmarks/bench_suite.py --project auto fp32 bf16+cl --only training
    .venv/bin/python benchmarks/bench_suite.py --no-compile    # without the torch.compile rows (they compile for minutes)
    .venv/bin/python benchmarks/bench_suite.py --render benchmarks/results/amd-epyc.json   # measure nothing

Prints a table and writes benchmarks/results/<cpu-or-gpu-name>.json and .md (machine, ISA flags,
torch, threads), and <name>-losses.png when it trained (each recipe's G loss, baseline vs project;
--render rebuilds the .md and the plot from a stored JSON). The project's path (through
benchmarks/_project.py, the only file that calls the trainer and generator) and the plain baseline (benchmarks/_baseline.py: same networks, eager fp32,
contiguous memory, default threads, a Python loop over in-memory tensors) run INTERLEAVED in chunks of
steps in one process, so a load from other processes hits both alike; speeds are best-of-chunks and
ratios compare the same statistic. Numbers from a shared machine are provisional.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import re
import resource
import sys
import tempfile
import threading
import time
import queue
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _baseline import PlainGenerator, PlainTrainer  # noqa: E402
from _data import synthetic_clip, sample_order  # noqa: E402
from _project import ProjectGenerator, make_project_trainer, project_generator, resolved_precision  # noqa: E402
from _recipes import NAMES, images_per_step, network_config, quick, recipe  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile", "amx_int8")
SOURCE_VIDEO = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sources" / "studio_walk.mp4"


CLOCK = {"fn": time.perf_counter, "name": "wall"}


def now() -> float:
    """The benchmark clock: wall time, or (``--clock cpu``) this thread's CPU time, which a busy machine
    inflates much less (torch then runs on one thread, in this thread)."""
    return CLOCK["fn"]()


def say(line: str = "") -> None:
    print(line, flush=True)  # noqa: T201


# ----------------------------------------------------------------------------- machine
def machine_info(device: str) -> dict[str, Any]:
    from v2v_pipeline.runtime import onednn_isa_cap

    model, flags = platform.processor() or "unknown CPU", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        f = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        flags = set(f.group(1).split()) if f else set()
    except OSError:
        pass
    try:
        import subprocess

        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"^Model name:\s*(.+)$", out, re.M)
        model = m.group(1).strip() if m else model
    except (OSError, subprocess.SubprocessError):
        pass
    info = {
        "cpu_model": model, "isa_flags": {k: k in flags for k in ISA_FLAGS},
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "torch": torch.__version__,
        "python": platform.python_version(), "torch_threads": torch.get_num_threads(),
        "cpus_in_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(), "load_average_at_start": list(os.getloadavg()),
        "device": device, "gpu": None,
        # ONEDNN_MAX_CPU_ISA below avx512_core_bf16: a CPU without native bf16 emulated on this one (runtime.py)
        "onednn_isa_cap": cap.split("=", 1)[1] if (cap := onednn_isa_cap()) else None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info["gpu"] = {"name": p.name, "capability": f"{p.major}.{p.minor}", "memory_gb": round(p.total_memory / 2**30, 1)}
    return info


def machine_line(info: dict[str, Any]) -> str:
    """``- torch ..., threads N, ISA: ..., load average at start L``: the machine line of a results file."""
    isa = ", ".join(k for k, v in info["isa_flags"].items() if v) or "none of " + ", ".join(ISA_FLAGS)
    cap = f", oneDNN capped at {info['onednn_isa_cap']} (ONEDNN_MAX_CPU_ISA)" if info.get("onednn_isa_cap") else ""
    return (f"- torch {info['torch']}, threads {info['torch_threads']}, ISA: {isa}{cap}, load average at start "
            f"{info['load_average_at_start'][0]:.2f}")


def result_name(info: dict[str, Any]) -> str:
    name = info["gpu"]["name"] if info["gpu"] else info["cpu_model"]
    flags = {} if info["gpu"] else info.get("isa_flags") or {}
    if flags.get("amx_bf16"):  # one model name ("Intel(R) Xeon(R) Processor" under KVM) covers Xeons with AMX
        name += " amx"  # and Xeons without bf16: files of one must not overwrite the other's
    elif flags and not flags.get("avx512_bf16"):
        name += " no bf16"
    if info.get("onednn_isa_cap"):  # an emulated CPU gets its own files
        name += f" onednn {info['onednn_isa_cap']}"
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "unknown"


def write_results(out: Path, stem: str, res: dict[str, Any], md: str) -> None:
    """``<out>/<stem>.json`` and ``.md`` (and ``<stem>-losses.png`` when it trained), then the table on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1))
    png = loss_figure(res)
    if png is not None:
        (out / f"{stem}-losses.png").write_bytes(png)
        md += f"\n![G loss per step, baseline and project]({stem}-losses.png)\n"
    (out / f"{stem}.md").write_text(md + "\n")
    say("")
    say(md)
    say(f"wrote {out / (stem + '.json')} and .md")


# ----------------------------------------------------------------------------- training
def parse_variant(v: str) -> tuple[str, dict[str, Any]]:
    """``precision[+cl][+compile]`` -> (precision, TrainParams overrides)."""
    parts = v.split("+")
    over = {"channels_last": "cl" in parts[1:], "compile": "compile" in parts[1:]}
    unknown = set(parts[1:]) - {"cl", "compile"}
    if unknown or parts[0] not in ("auto", "fp32", "bf16", "fp16"):
        raise SystemExit(f"bad --project variant {v!r}: use auto|fp32|bf16|fp16 with optional +cl and +compile")
    return parts[0], over


def smoothing_window(steps: int) -> int:
    """The moving-average window over ``steps`` losses: a tenth of them (what the agreement and the plot use)."""
    return max(1, steps // 10)


def smoothed(x: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(x)))
    return np.convolve(x, np.ones(window) / window, mode="valid")


def loss_figure(res: dict[str, Any]) -> bytes | None:
    """PNG of every training row's G loss per step: each path raw (faint) and as the moving average that
    :func:`loss_agreement` compares (solid), so a reader sees whether the project follows the baseline."""
    rows = [r for r in res.get("training") or [] if all(p.get("loss_G") for p in r["paths"].values())]
    if not rows:
        return None
    from matplotlib.figure import Figure

    from v2v_pipeline.figures import figure_png

    cols = min(len(rows), 4)
    nrows = -(-len(rows) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * nrows))
    for i, row in enumerate(rows):
        ax = fig.add_subplot(nrows, cols, i + 1)
        for name, path in row["paths"].items():
            y = np.asarray(path["loss_G"], float)
            w = smoothing_window(len(y))
            (raw,) = ax.plot(np.arange(len(y)), y, lw=0.7, alpha=0.3)
            ax.plot(np.arange(w - 1, len(y)), smoothed(y, w), color=raw.get_color(), lw=1.6,
                    label=f"{name} ({path['precision']})")
        ax.set_title(f"{row['recipe']} {row['size']}", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("G loss")
        if np.all(np.asarray(row["paths"]["baseline"]["loss_G"]) > 0):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    sep = " " if cols > 2 else "\n"  # one or two plots: the title would not fit their width on one line
    fig.suptitle(f"G loss per step, same seed and samples{sep}(solid: moving average over a tenth of the steps)",
                 fontsize=10)
    fig.tight_layout()
    return figure_png(fig)


def loss_agreement(a: list[float], b: list[float]) -> dict[str, float]:
    """How far path ``a``'s losses are from the baseline ``b``'s: mean |diff| of the moving averages over the
    baseline's mean |loss| (0 = identical), plus the same for the raw first step."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    w = smoothing_window(len(a))
    sa, sb = smoothed(a, w), smoothed(b, w)
    scale = float(np.mean(np.abs(sb))) or 1.0
    return {"smoothed_rel_mean_abs_diff": float(np.mean(np.abs(sa - sb)) / scale),
            "first_step_rel_diff": float(abs(a[0] - b[0]) / (abs(b[0]) or 1.0)),
            "rel_std_step_to_step": float(np.std(np.diff(b)) / scale) if len(b) > 2 else float("nan"),
            "window": w}


def bench_training(name: str, size: tuple[int, int], variants: list[str], steps: int, chunk: int, tiny: bool,
                   device: str, seed: int = 0, verbose: bool = True) -> dict[str, Any]:
    train = recipe(name)
    if tiny:
        train = quick(train)
    clip = synthetic_clip(max(24, int(train["sequence_length"]) + 8), size, seed)
    paths: dict[str, Any] = {"baseline": PlainTrainer(train, clip, seed)}
    resolved = {}
    for v in variants:
        precision, over = parse_variant(v)
        paths[f"project {v}"] = make_project_trainer(train, clip, precision, device, seed, **over)
        resolved[f"project {v}"] = paths[f"project {v}"].precision
    order = sample_order(paths["baseline"].n_samples, steps, int(train["batch_size"]), seed)
    losses = {k: {"G_total": [], "D_loss": []} for k in paths}
    times: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    times_first: dict[str, float] = {}  # the warm-up chunk's seconds (oneDNN primitives; +compile: compiling)
    for c, first in enumerate(range(0, steps, chunk)):
        idx = order[first : first + chunk]
        # alternate who goes first so that a load spike does not always hit the same path
        for k in (names if c % 2 == 0 else names[::-1]):
            t0 = now()
            for i in idx:
                out = paths[k].step(i)
                for key in losses[k]:
                    losses[k][key].append(out[key])
            times[k].append((now() - t0) / len(idx))
            times_first.setdefault(k, times[k][0] * len(idx))
        if verbose:
            print(f"    chunk {c}: " + ", ".join(f"{k} {times[k][-1]:.2f} s/step" for k in names), file=sys.stderr, flush=True)
    ips = images_per_step(train)
    row: dict[str, Any] = {"recipe": name, "size": f"{size[0]}x{size[1]}", "steps": steps, "chunk": chunk,
                           "images_per_step": ips, "paths": {}}
    for k in names:
        timed = times[k][1:] or times[k]  # the first chunk is warm-up (oneDNN primitives, compile)
        best, med = min(timed), float(np.median(timed))
        row["paths"][k] = {"precision": resolved.get(k, "fp32"), "compile": getattr(paths[k], "compile_status", "off"),
                           "warmup_s": times_first[k],
                           "steps_per_s": 1 / best, "images_per_s": ips / best,
                           "steps_per_s_median": 1 / med, "chunks": len(timed),
                           "loss_G": losses[k]["G_total"], "loss_D": losses[k]["D_loss"]}
        if k != "baseline":
            bt = times["baseline"][1:] or times["baseline"]
            row["paths"][k]["ratio_vs_baseline"] = min(bt) / best
            row["paths"][k]["ratio_vs_baseline_median"] = float(np.median(bt)) / med
            row["paths"][k]["loss_G_agreement"] = loss_agreement(losses[k]["G_total"], losses["baseline"]["G_total"])
            row["paths"][k]["loss_D_agreement"] = loss_agreement(losses[k]["D_loss"], losses["baseline"]["D_loss"])
            twin = k.replace("+compile", "")
            if twin != k and twin in losses:  # compiled against the same variant eager: what compiling changes
                row["paths"][k]["loss_G_agreement_vs_eager_twin"] = loss_agreement(losses[k]["G_total"],
                                                                                   losses[twin]["G_total"])
                row["paths"][k]["eager_twin"] = twin
    for p in paths.values():
        getattr(p, "close", lambda: None)()
    return row


# ----------------------------------------------------------------------------- generation
FAMILY_RECIPE = {"pix2pixhd": "pix2pixhd_faithful", "edn": "default", "vid2vid": "vid2vid"}


def family_generator(family: str, size: tuple[int, int], tiny: bool, seed: int = 0):
    """A randomly initialised generator of ``family`` at ``size`` (with its plate when the recipe has one)."""
    from v2v_pipeline.models.factory import build_models

    train = recipe(FAMILY_RECIPE[family])
    if tiny:
        train = quick(train)
    config = network_config(train, size)
    torch.manual_seed(seed)
    g = build_models(config).generator
    if config.get("background"):
        composite = g if hasattr(g, "set_plate") else g.generator
        composite.set_plate(synthetic_clip(8, size, seed).images.float().median(dim=0).values[None] / 127.5 - 1)
    return config, g


def int8_available() -> bool:
    try:
        from v2v_pipeline.int8 import require_onnxruntime

        require_onnxruntime()
        return True
    except ImportError:
        return False


def bench_generation(family: str, size: tuple[int, int], frames: int, batches: list[int], repeats: int,
                     tiny: bool, device: str, precision: str, fastpaths: list[str],
                     compile: bool = False) -> list[dict[str, Any]]:
    """``compile``: also the project path with ``transfer.compile: true`` (row ``project compiled``, same precision
    as ``project <precision>``; its first call, in the untimed warm-up, compiles)."""
    from v2v_pipeline.fastpath import optimize_for_inference
    from v2v_pipeline.models.networks import set_subpixel

    config, g = family_generator(family, size, tiny)
    labels = list(synthetic_clip(frames, size, 1).labels.permute(0, 2, 3, 1).numpy())
    project = project_generator(config, g.state_dict(), size, precision, device)
    # the baseline computes `upsampling: nearest` literally (upsample, pad, 3x3 conv), as reference code does
    plain = PlainGenerator(set_subpixel(copy.deepcopy(g), False), family, int(config.get("n_frames_G", 3)))
    variants = {"baseline eager fp32": plain, f"project {precision}": project}
    if compile:
        variants["project compiled"] = project_generator(config, g.state_dict(), size, precision, device, compile=True)
    if family != "vid2vid" and device == "cpu" and precision != "int8" and int8_available():
        # precision int8 (ONNX Runtime): calibrates on the first frames of its warm-up clip, as a transfer does
        variants["project int8"] = project_generator(config, g.state_dict(), size, "int8", device)
    for fp in fastpaths:  # candidate fast paths (v2v_pipeline.fastpath), same plain loop around them
        prec, *opts = fp.split("+")
        m = optimize_for_inference(copy.deepcopy(g), torch.device(device), prec, channels_last="cl" in opts,
                                   compile="compile" in opts, cast="cast" in opts)
        variants[f"fastpath {fp}"] = PlainGenerator(m, family, int(config.get("n_frames_G", 3)))
    rows = []
    recurrent = not project.batchable
    # EDN and vid2vid feed their previous output back in: free-running, a path's rounding difference of one step
    # (1/255 for fp32 channels_last) is fed back and, with random weights, amplified frame after frame (about 3x
    # per frame for the default EDN at 256x128: 1/255 for 4 frames, 70/255 after 8, about 230/255 after 20), so the clip-level difference says
    # nothing about a path's accuracy. The accuracy column is therefore teacher-forced: every path gets the
    # eager-fp32 baseline's previous outputs as its previous outputs (one step's error per frame); the
    # free-running difference is kept next to it.
    ref_float = plain.outputs(labels, 1) if recurrent else None
    for b in (batches if project.batchable else [1]):
        ref = plain.clip(labels, b)
        warmup: dict[str, float] = {}
        outs = {}
        for k, v in variants.items():  # warm-up (and compile)
            t0 = now()
            outs[k] = v.clip(labels, b)
            warmup[k] = now() - t0
        forced = {k: v.clip(labels, b, feed=ref_float) for k, v in variants.items()} if recurrent else outs
        t: dict[str, list[float]] = {k: [] for k in variants}
        for r in range(repeats):
            for k in (list(variants) if r % 2 == 0 else list(variants)[::-1]):
                t0 = now()
                outs[k] = variants[k].clip(labels, b)
                t[k].append(now() - t0)
        base = min(t["baseline eager fp32"])
        for k in variants:
            diff = np.abs(forced[k].astype(int) - ref.astype(int))
            free = np.abs(outs[k].astype(int) - ref.astype(int))
            rows.append({"family": family, "size": f"{size[0]}x{size[1]}", "batch": b, "path": k,
                         "compile": getattr(variants[k], "compile_status", "off"), "warmup_s": warmup[k],
                         "frames_per_s": frames / min(t[k]), "ratio_vs_eager_fp32": base / min(t[k]),
                         "max_abs_diff_uint8": int(diff.max()), "mean_abs_diff_uint8": float(diff.mean()),
                         "diff_fed": "eager fp32 previous outputs" if recurrent else "no temporal state",
                         "max_abs_diff_uint8_free_running": int(free.max()),
                         "mean_abs_diff_uint8_free_running": float(free.mean())})
    return rows


# ----------------------------------------------------------------------------- transfer
def source_frames(n: int, size: tuple[int, int], tmp: Path) -> tuple[Path, str]:
    if SOURCE_VIDEO.is_file():
        return SOURCE_VIDEO, "shared/data/sources/studio_walk.mp4"
    from v2v_pipeline.demo.sample import write_demo_sample

    paths = write_demo_sample(tmp / "demo", target_frames=2, source_frames=n, size=(512, 256))
    return paths["source"], f"built-in demo source ({n} frames, 512x256)"


def bench_transfer(n: int, size: tuple[int, int], tiny: bool, device: str, precision: str,
                   label_workers: int = 1, model_path: Path | None = None) -> dict[str, Any]:
    """Per-stage frames/s of a transfer (decode, label, normalize, generate, encode), sequential and pipelined;
    the source labeled in ``label_workers`` parallel chunks (``label.workers``).

    The generator is the default recipe's with random weights, or the trained one of ``model_path`` (a model file
    of ``kedro run --pipelines=train``; the transfer then runs at its size). Random weights generate noise-like
    frames, which cost the video encoder about ten times what real pictures do: the encode stage, and so the end
    to end rate, is pessimistic without a trained model."""
    import cv2

    from v2v_pipeline.flow import DISFlow, compute_flow_pairs
    from v2v_pipeline.labels.chunks import label_in_chunks
    from v2v_pipeline.labels.mediapipe_backend import MediaPipeBackend
    from v2v_pipeline.labels.render import render_pose
    from v2v_pipeline.pose.normalize import PoseNormConfig, normalize_poses
    from v2v_pipeline.video.geometry import VideoGeometry
    from v2v_pipeline.video.io import fit_to_size, iter_frames, probe_video, write_video

    tmp = Path(tempfile.mkdtemp(prefix="v2v-bench-transfer-"))
    video, source = source_frames(n, size, tmp)
    if model_path is None:
        config, g = family_generator("edn", size, tiny)
        gen = project_generator(config, g.state_dict(), size, precision, device)
        generator = "default recipe (edn), random weights"
    else:
        gen = ProjectGenerator.from_model_file(model_path, precision, device)
        size = gen.gen.size
        generator = (f"trained {gen.gen.family} of {model_path.name} (step {gen.gen.model_file.get('step')}, "
                     f"{size[0]}x{size[1]})")
    stages: dict[str, float] = {}
    info = probe_video(video)
    # as the label pipeline does (labels/backends.py): MediaPipe sees the picture inside the letterbox borders
    # that fit: pad added, where its detector finds the person larger (before 2026-12-08 this benchmark labeled
    # the whole padded frame: slower, and the person was lost on about a fifth of studio_walk's frames)
    picture = VideoGeometry.of((info.width, info.height), size, "pad").picture_box

    def decode():
        out = []
        for frame in iter_frames(video):
            out.append(fit_to_size(frame.image, size))
            if len(out) == n:
                break
        return out

    t0 = time.perf_counter()
    frames = decode()
    stages["decode"] = time.perf_counter() - t0
    n = len(frames)
    with MediaPipeBackend(enable_segmentation=False) as mp:
        mp.process(frames[:2], crop=picture)  # model files into the page cache

    def label(source: list[np.ndarray]):
        return label_in_chunks(source, lambda: MediaPipeBackend(enable_segmentation=False), label_workers,
                               keep_masks=False, crop=picture)

    t0 = time.perf_counter()
    seq, label_report = label(frames)
    [render_pose(k, size) for k in seq.keypoints]
    stages["label"] = time.perf_counter() - t0
    standing = np.tile(np.array([[size[0] / 2, size[1] * (0.2 + 0.03 * j), 0.9] for j in range(25)], np.float32),
                       (n, 1, 1))

    def normalized(kps: np.ndarray) -> np.ndarray:
        # the source normalized into its own frame (no target here): the same work as into a target's
        config = PoseNormConfig(min_frames=max(1, min(10, n // 4)))
        try:
            return normalize_poses(kps, kps, config).keypoints
        except ValueError:  # too few full-body detections (tiny or synthetic frames): time a standing skeleton
            return normalize_poses(standing, standing, config).keypoints

    kp = seq.keypoints
    t0 = time.perf_counter()
    norm = normalized(kp)
    labels = [render_pose(k, size) for k in norm]
    stages["normalize"] = time.perf_counter() - t0
    gen.clip(labels[:2])  # warm-up
    t0 = time.perf_counter()
    outputs = gen.clip(labels)
    stages["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    write_video(tmp / "out.mp4", list(outputs), 25.0)
    stages["encode"] = time.perf_counter() - t0
    sequential = sum(stages.values())

    # pipelined stream: decode -> MediaPipe in one thread pair, then render -> generate -> encode overlapped
    def run_stream() -> float:
        t_start = time.perf_counter()
        q1: queue.Queue = queue.Queue(maxsize=16)

        def producer():
            for f in decode():
                q1.put(f)
            q1.put(None)

        threading.Thread(target=producer, daemon=True).start()

        def frames_iter():
            while (f := q1.get()) is not None:
                yield f
        if label_workers == 1:
            with MediaPipeBackend(enable_segmentation=False) as mp2:
                kps = mp2.process(frames_iter(), keep_masks=False, crop=picture).keypoints
        else:  # the chunks need the whole video: decoding is not overlapped with labeling then
            kps = label(list(frames_iter()))[0].keypoints
        nk = normalized(kps)
        q2: queue.Queue = queue.Queue(maxsize=16)
        q3: queue.Queue = queue.Queue(maxsize=16)

        def render():
            for k in nk:
                q2.put(render_pose(k, size))
            q2.put(None)

        def encode():
            def it():
                while (f := q3.get()) is not None:
                    yield f
            write_video(tmp / "out2.mp4", it(), 25.0)

        threads = [threading.Thread(target=render, daemon=True), threading.Thread(target=encode, daemon=True)]
        for th in threads:
            th.start()
        gen.gen.reset()

        def labels_iter():
            while (lab := q2.get()) is not None:
                yield lab
        for frame in gen.gen.generate_clip(labels_iter()):
            q3.put(frame)
        q3.put(None)
        for th in threads:
            th.join()
        return time.perf_counter() - t_start

    pipelined = run_stream()
    cv2.setNumThreads(max(1, torch.get_num_threads()))
    t0 = time.perf_counter()
    pairs = min(n - 1, 40)
    compute_flow_pairs(frames[: pairs + 1], DISFlow("medium"))
    flow_s = time.perf_counter() - t0
    return {"source": source, "frames": n, "size": f"{size[0]}x{size[1]}", "generator": generator,
            "precision": gen.precision,
            "stages_frames_per_s": {k: n / v for k, v in stages.items()},
            "end_to_end_sequential_frames_per_s": n / sequential,
            "end_to_end_pipelined_frames_per_s": n / pipelined,
            "persons_found": int(seq.found.sum()),
            "label_workers": label_workers, "label_chunks": label_report.as_dict(),
            "labeling_frames_per_s": n / stages["label"],
            "flow_dis_medium_pairs_per_s": pairs / flow_s}


# ----------------------------------------------------------------------------- report
def _compile_note(path: dict[str, Any]) -> str:
    """`` (compiled in 41 s)`` / `` (compile FAILED: eager)`` for a path with torch.compile, else nothing."""
    status = str(path.get("compile", "off"))
    if status == "off":
        return ""
    if status == "compiled":
        return f" (compiled; warm-up {path.get('warmup_s', float('nan')):.0f} s)"
    return f" (NOT compiled: {status})"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    isa = ", ".join(k for k, v in m["isa_flags"].items() if v) or "none of " + ", ".join(ISA_FLAGS)
    lines = [f"# Benchmark: {m['cpu_model']}" + (f" + {m['gpu']['name']}" if m["gpu"] else ""), "",
             f"- torch {m['torch']}, CPU capability {m['torch_cpu_capability']}, ISA: {isa}"
             + (f"; oneDNN capped at {m['onednn_isa_cap']} (ONEDNN_MAX_CPU_ISA: no native bf16 for oneDNN)"
                if m.get("onednn_isa_cap") else ""),
             f"- threads {m['torch_threads']} (affinity {m['cpus_in_affinity']} CPUs), device {m['device']}, "
             f"load average at start {m['load_average_at_start'][0]:.2f}",
             f"- mode: {res['config']['mode']}, clock: {res['config'].get('clock', 'wall')}"
             + (f", training {res['config']['steps']} steps per path in chunks of {res['config']['chunk']} (the first "
                "chunk is warm-up)" if res.get("training") else "")
             + "; PROVISIONAL when other processes share the machine", ""]
    if res.get("training"):
        lines += ["## Training (interleaved with the plain eager-fp32 baseline; best chunk)", "",
                  "| recipe | size | path | precision | steps/s | images/s | ratio | ratio (median) | G loss diff | "
                  "G loss noise |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for row in res["training"]:
            for k, p in row["paths"].items():
                agreement = p.get("loss_G_agreement", {})
                agree, noise = agreement.get("smoothed_rel_mean_abs_diff"), agreement.get("rel_std_step_to_step")
                lines.append(f"| {row['recipe']} | {row['size']} | {k}{_compile_note(p)} | {p['precision']} | "
                             f"{p['steps_per_s']:.3f} | "
                             f"{p['images_per_s']:.3f} | {p.get('ratio_vs_baseline', 1.0):.2f} | "
                             f"{p.get('ratio_vs_baseline_median', 1.0):.2f} | "
                             f"{'' if agree is None else f'{agree:.4f}'} | {'' if noise is None else f'{noise:.3f}'} |")
        lines += ["", "G loss diff: mean |difference| of the moving-average G loss over the first steps, relative to "
                      "the baseline's mean G loss (same seed, same samples). G loss noise: the baseline's own "
                      "step-to-step spread on the same scale (std of its consecutive differences); a diff well below "
                      "it is agreement within noise.", ""]
        for row in res["training"]:
            for k, p in row["paths"].items():
                if "loss_G_agreement_vs_eager_twin" in p:
                    lines.append(f"- {row['recipe']} {row['size']}: `{k}` vs `{p['eager_twin']}` (the same path "
                                 f"without compile): G loss diff "
                                 f"{p['loss_G_agreement_vs_eager_twin']['smoothed_rel_mean_abs_diff']:.4f}, "
                                 f"warm-up chunk (compiling) {p['warmup_s']:.0f} s vs "
                                 f"{row['paths'][p['eager_twin']]['warmup_s']:.1f} s")
        lines.append("")
    if res.get("generation"):
        lines += ["## Generation (interleaved, best of repeats)", "",
                  "| family | size | batch | path | frames/s | ratio vs eager fp32 | max abs diff (0-255) | "
                  "free-running max abs diff |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in res["generation"]:
            lines.append(f"| {r['family']} | {r['size']} | {r['batch']} | {r['path']}{_compile_note(r)} | "
                         f"{r['frames_per_s']:.2f} | "
                         f"{r['ratio_vs_eager_fp32']:.2f} | {r['max_abs_diff_uint8']} | "
                         f"{r.get('max_abs_diff_uint8_free_running', '')} |")
        lines += ["", "max abs diff: per frame against eager fp32 of the same weights and labels; EDN and vid2vid "
                      "get the eager-fp32 previous outputs as their previous outputs (teacher forcing), so it is one "
                      "step's error. Free-running: each path feeds back its own outputs over the clip; with random "
                      "weights the recurrent families amplify any rounding difference frame after frame, so that "
                      "column says nothing about a trained model.", ""]
    if res.get("transfer"):
        t = res["transfer"]
        lines += [f"## Transfer: {t['frames']} frames of {t['source']} at {t['size']} ({t['generator']}, "
                  f"{t['precision']})", "", "| stage | frames/s |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in t["stages_frames_per_s"].items()]
        lines += [f"| **end to end, sequential** | {t['end_to_end_sequential_frames_per_s']:.1f} |",
                  f"| **end to end, pipelined stream** | {t['end_to_end_pipelined_frames_per_s']:.1f} |",
                  f"| labeling (MediaPipe + render, label.workers {t.get('label_workers', 1)}) | "
                  f"{t['labeling_frames_per_s']:.1f} |",
                  f"| flow (DIS medium, pairs/s) | {t['flow_dis_medium_pairs_per_s']:.1f} |", "",
                  f"Person found on {t['persons_found']} of {t['frames']} frames."
                  + (f" Label chunks {t['label_chunks']['chunks']}, hand-overs at "
                     f"{sorted(t['label_chunks']['handovers'].values()) or '-'}." if t.get("label_chunks") else ""), ""]
    mem = res["memory"]
    lines += ["## Memory", "", f"- peak RSS {mem['peak_rss_mb']:.0f} MB"
              + (f", CUDA max allocated {mem['cuda_max_allocated_mb']:.0f} MB" if mem.get("cuda_max_allocated_mb") else ""), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke test: tiny networks and size, a few steps")
    ap.add_argument("--large", action="store_true", help="also train at 512x256 (slow on 2 cores)")
    ap.add_argument("--size", default="256x128", help="WIDTHxHEIGHT")
    ap.add_argument("--steps", type=int, default=None, help="training steps per path (default 200, --quick 6)")
    ap.add_argument("--chunk", type=int, default=None, help="steps per interleaved chunk (default 10, --quick 2)")
    ap.add_argument("--recipes", nargs="+", default=list(NAMES), choices=list(NAMES))
    ap.add_argument("--project", nargs="+", default=None,
                    help="project variants: precision[+cl][+compile], e.g. auto fp32 bf16+cl "
                         "(default: auto, and auto+compile unless --no-compile)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                    help="also measure torch.compile: training variant auto+compile and the generation row "
                         "'project compiled' (default: on, off with --quick; compiling takes minutes per network)")
    ap.add_argument("--precision", default="auto", help="project precision for generation and transfer")
    ap.add_argument("--fastpaths", nargs="*", default=None,
                    help="inference fast paths to compare (fastpath.optimize_for_inference): precision[+cl][+compile][+cast]")
    ap.add_argument("--gen-frames", type=int, default=None)
    ap.add_argument("--families", nargs="+", default=["pix2pixhd", "edn", "vid2vid"], choices=["pix2pixhd", "edn", "vid2vid"])
    ap.add_argument("--batches", type=int, nargs="+", default=None, help="pix2pixHD generation batches (default 1 4 8)")
    ap.add_argument("--transfer-frames", type=int, default=None)
    ap.add_argument("--label-workers", type=int, default=1,
                    help="transfer: label the source in this many parallel chunks (label.workers; default 1)")
    ap.add_argument("--model", type=Path, default=None,
                    help="transfer: a trained generator file (kedro run --pipelines=train) instead of random weights, "
                         "whose noise-like frames make the encode stage pessimistic; the transfer runs at its size")
    ap.add_argument("--only", nargs="+", choices=["training", "generation", "transfer"], default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: time training and generation by this thread's CPU time with torch on 1 thread "
                         "(ratios that survive a busy machine; absolute speeds are then single-thread)")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--render", metavar="JSON", default=None,
                    help="measure nothing: rewrite the .md and the loss plot beside a results JSON from its numbers")
    args = ap.parse_args(argv)
    if args.render:
        stored = Path(args.render)
        if not stored.is_file():
            ap.error(f"--render: {stored} is not a file (give a results JSON, e.g. benchmarks/results/<cpu>.json)")
        res = json.loads(stored.read_text())
        write_results(stored.parent, stored.stem, res, markdown(res))
        return 0
    if args.model is not None and not args.model.is_file():
        ap.error(f"--model: {args.model} is not a file (give a generator file of kedro run --pipelines=train, "
                 "e.g. one under data/06_models/)")
    if args.label_workers < 1:
        ap.error(f"--label-workers must be >= 1 (got {args.label_workers}); 1 labels the source sequentially")
    q = args.quick
    compile_rows = (not q) if args.compile is None else args.compile
    if args.project is None:
        args.project = ["auto"] + (["auto+compile"] if compile_rows else [])
    if args.clock == "cpu":
        torch.set_num_threads(1)
        CLOCK.update(fn=time.thread_time, name="cpu (1 thread)")
    size = (64, 32) if q else tuple(int(v) for v in args.size.lower().split("x"))
    steps = args.steps or (6 if q else 200)
    chunk = args.chunk or (2 if q else 10)
    gen_frames = args.gen_frames or (4 if q else 32)
    transfer_frames = args.transfer_frames or (8 if q else 200)
    fastpaths = args.fastpaths if args.fastpaths is not None else (["bf16"] if q else ["fp32+cl", "bf16+cast", "bf16+cast+cl"])
    only = set(args.only or ["training", "generation", "transfer"])
    info = machine_info(args.device)
    res: dict[str, Any] = {"machine": info, "config": {
        "mode": "quick" if q else "full", "clock": CLOCK["name"], "size": list(size), "steps": steps, "chunk": chunk,
        "project_variants": args.project, "precision": args.precision, "compile_rows": compile_rows,
        "resolved_precision": resolved_precision(args.device, args.precision), "fastpaths": fastpaths},
        "training": [], "generation": [], "transfer": None}
    say(f"{info['cpu_model']} | torch {info['torch']} {info['torch_cpu_capability']} | threads {info['torch_threads']} | "
        f"ISA {', '.join(k for k, v in info['isa_flags'].items() if v)} | project precision auto -> "
        f"{res['config']['resolved_precision']}")
    if "training" in only:
        sizes = [size] + ([(512, 256)] if args.large and not q else [])
        for s in sizes:
            for name in args.recipes:
                say(f"training {name} at {s[0]}x{s[1]}: {steps} steps per path, chunks of {chunk}")
                row = bench_training(name, s, args.project, steps, chunk, q, args.device)
                res["training"].append(row)
                for k, p in row["paths"].items():
                    say(f"  {k:<22} {p['steps_per_s']:.3f} steps/s {p['images_per_s']:.3f} img/s"
                        + (f"  x{p['ratio_vs_baseline']:.2f} (median x{p['ratio_vs_baseline_median']:.2f}), G loss "
                           f"diff {p['loss_G_agreement']['smoothed_rel_mean_abs_diff']:.4f}" if k != "baseline" else ""))
    if "generation" in only:
        for fam in args.families:
            say(f"generation {fam}: {gen_frames} frames")
            rows = bench_generation(fam, size, gen_frames, args.batches or ([1, 4, 8] if not q else [1, 2]), 2 if q else 3, q,
                                    args.device, args.precision, fastpaths, compile=compile_rows)
            res["generation"] += rows
            for r in rows:
                say(f"  batch {r['batch']} {r['path']:<24} {r['frames_per_s']:7.2f} fps  x{r['ratio_vs_eager_fp32']:.2f}"
                    f"  max|diff| {r['max_abs_diff_uint8']} (free-running {r['max_abs_diff_uint8_free_running']})")
    if "transfer" in only:
        say(f"transfer: {transfer_frames} frames at {size[0]}x{size[1]}")
        res["transfer"] = bench_transfer(transfer_frames, size, q, args.device, args.precision, args.label_workers,
                                         args.model)
        t = res["transfer"]
        say("  " + ", ".join(f"{k} {v:.1f}" for k, v in t["stages_frames_per_s"].items())
            + f" | end to end {t['end_to_end_sequential_frames_per_s']:.1f} fps sequential, "
              f"{t['end_to_end_pipelined_frames_per_s']:.1f} fps pipelined")
    res["memory"] = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        res["memory"]["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated() / 2**20
    write_results(Path(args.out), result_name(info) + ("-quick" if q else ""), res, markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
