"""Is a temporal model's error carried by its own previous output? Evaluate one trained model on the
test split with its temporal state kept (as in `evaluate`), restarted every N frames, and restarted
before every frame (no feedback at all), and print the metrics side by side, per quarter of the clip.

    .venv/bin/python benchmarks/temporal_state.py --env subject4 --run <mlflow run id>

If the pose distance or SSIM gets worse along the clip with the state kept but not without it, the
model drifts on its own outputs (exposure bias); if both rise alike, the later frames are harder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", default="subject4")
    ap.add_argument("--run", required=True, help="MLflow run id of a trained edn or vid2vid model")
    ap.add_argument("--periods", type=int, nargs="+", default=[1, 10], help="restart every N frames")
    args = ap.parse_args(argv)

    import mlflow
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from v2v_pipeline.inference import FrameGenerator, load_model_file
    from v2v_pipeline.report import DatasetReader, evaluate_segments, make_pose_estimator, reference_keypoints
    from v2v_pipeline.report import split_segments
    from v2v_pipeline.report.evaluation import MetricModels

    bootstrap_project(Path.cwd())
    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    with KedroSession.create(env=args.env) as session:
        catalog = session.load_context().catalog
        archive, table = catalog.load("dataset_archive"), catalog.load("dataset_frames")
        keypoints, frames, index = catalog.load("keypoints"), catalog.load("frames"), catalog.load("frame_index")
    model = load_model_file(f"runs:/{args.run}")
    size = tuple(model["size"])
    reader = DatasetReader(archive, size)
    segments = split_segments(table, "test")
    video = str(index[index.role == "target"].video.iloc[0])
    fh, fw = frames.read(sorted(frames.keys(video + "/"))[0]).shape[:2]
    reference = reference_keypoints(keypoints, video, (size[0] / fw, size[1] / fh))
    stored = reader.stored_size(int(segments[0][0]))
    box_scale = (size[0] / stored[0], size[1] / stored[1])

    print(f"model {args.run} ({model['model_config']['model']}, step {model.get('step')}), "
          f"{sum(len(s) for s in segments)} test frames")
    for period in [None, *args.periods]:
        generator, outputs = FrameGenerator(model, "cpu", "auto"), {}
        for seg in segments:
            resets = None if period is None else np.arange(len(seg)) % period == 0
            labels = (reader.label(int(f)) for f in seg)
            outputs.update(zip(seg.tolist(), generator.generate_clip(labels, resets=resets), strict=True))
        models = MetricModels()
        models.pose = make_pose_estimator("mediapipe", 1)
        d = evaluate_segments(segments, lambda f: outputs[int(f)], reader, table, models=models,
                              reference=reference, box_scale=box_scale).per_frame
        quarters = np.array_split(np.arange(len(d)), 4)
        per_q = lambda col: " ".join(f"{d[col].iloc[q].mean():.3f}" for q in quarters)  # noqa: E731
        name = "state kept" if period is None else f"restart every {period}"
        print(f"{name:>17}: SSIM {d.ssim.mean():.4f}  SSIM person {d.ssim_person.mean():.4f}  "
              f"warp err {d.warp_error.mean():.3f}  pose dist {d.pose_distance.mean():.2f}  "
              f"| per quarter: pose dist {per_q('pose_distance')}  SSIM person {per_q('ssim_person')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
