"""DensePose labels: detectron2 DensePose outputs -> IUV images -> network label channels.

An IUV image is ``(H, W, 3)`` uint8: ``I`` is the body part (0 background, 1..24 the
DensePose chart parts), ``U`` and ``V`` the surface coordinates scaled to 0..255 (the
format DensePose's ``apply_net.py dump`` / vid2vid's DensePose frames use).

detectron2 and its DensePose project are optional and not installed by default; only
:class:`DensePoseBackend` needs them. The conversions below work on plain arrays and are
what the tests cover.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from v2v_pipeline import weights as weights_registry

NUM_PARTS = 24
INSTALL_HINT = (
    "DensePose needs detectron2 and its DensePose project:\n"
    "  pip install 'git+https://github.com/facebookresearch/detectron2'\n"
    "  pip install 'git+https://github.com/facebookresearch/detectron2@main#subdirectory=projects/DensePose'\n"
    "(see https://github.com/facebookresearch/detectron2/tree/main/projects/DensePose). The model "
    "config and weights paths come from the labeling config (densepose.config / densepose.weights)."
)
WEIGHTS_HINT = weights_registry.get("densepose_r50").how()


def _check_iuv(iuv: np.ndarray) -> np.ndarray:
    iuv = np.asarray(iuv)
    if iuv.ndim != 3 or iuv.shape[2] != 3 or iuv.dtype != np.uint8:
        raise ValueError(f"expected an IUV image (H, W, 3) uint8, got {iuv.dtype} {iuv.shape}")
    if iuv[..., 0].max(initial=0) > NUM_PARTS:
        raise ValueError(
            f"IUV part index I must be 0..{NUM_PARTS}, found {int(iuv[..., 0].max())}; is the image stored as BGR (V, U, I)?"
        )
    return iuv


def iuv_to_label(iuv: np.ndarray, mode: str = "onehot") -> np.ndarray:
    """Label channels from an IUV image, float32 in [0, 1].

    ``mode="onehot"``: ``(H, W, 26)``, channels 0..23 one-hot for parts 1..24 (all zero on the
    background) followed by ``U/255`` and ``V/255`` (zero on the background).
    ``mode="iuv"``: ``(H, W, 3)`` = ``I/24, U/255, V/255`` (vid2vid's 3-channel DensePose input).
    """
    iuv = _check_iuv(iuv)
    i = iuv[..., 0].astype(np.int64)
    uv = iuv[..., 1:].astype(np.float32) / 255.0
    if mode == "iuv":
        return np.concatenate([(i / NUM_PARTS)[..., None].astype(np.float32), uv], -1)
    if mode != "onehot":
        raise ValueError(f"mode must be 'onehot' or 'iuv', got {mode!r}")
    onehot = np.eye(NUM_PARTS + 1, dtype=np.float32)[i][..., 1:]
    return np.concatenate([onehot, uv * (i > 0)[..., None]], -1)


def _np(x) -> np.ndarray:
    """Tensor (any device) or array -> numpy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def instances_to_iuv(
    boxes_xyxy,
    coarse_segm,
    fine_segm,
    u,
    v,
    image_size: tuple[int, int],
    scores=None,
) -> np.ndarray:
    """Paste per-instance DensePose chart predictions into one full-frame IUV image.

    Inputs are shaped like detectron2's ``DensePoseChartPredictorOutput`` for ``N`` instances:
    ``coarse_segm (N, 2, S, S)``, ``fine_segm (N, 25, S, S)``, ``u``/``v (N, 25, S, S)`` (U, V in
    [0, 1]), with boxes ``(N, 4)`` as x0, y0, x1, y1 in pixels. As in DensePose's
    ``resample_*_to_bbox``, each map is bilinearly resized to its box, the part is the argmax
    of ``fine_segm`` where the argmax of ``coarse_segm`` is foreground, and U, V are read from
    that part's channel. Instances are pasted in increasing ``scores`` order (the most
    confident one ends on top). ``image_size`` is ``(width, height)``.
    """
    import torch
    import torch.nn.functional as F

    boxes = _np(boxes_xyxy).astype(np.float64).reshape(-1, 4)
    maps = [torch.as_tensor(_np(t), dtype=torch.float32) for t in (coarse_segm, fine_segm, u, v)]
    n = len(boxes)
    if (
        any(m.ndim != 4 or m.shape[0] != n for m in maps)
        or maps[0].shape[1] != 2
        or any(m.shape[1] != NUM_PARTS + 1 for m in maps[1:])
    ):
        raise ValueError(
            f"expected coarse_segm (N, 2, S, S) and fine_segm/u/v (N, 25, S, S) for N={n} boxes, got {[tuple(m.shape) for m in maps]}"
        )
    w, h = int(image_size[0]), int(image_size[1])
    out = np.zeros((h, w, 3), np.uint8)
    order = np.argsort(_np(scores)) if scores is not None else np.arange(n)
    for k in order:
        x0, y0 = int(boxes[k, 0]), int(boxes[k, 1])
        bw, bh = max(int(boxes[k, 2] - boxes[k, 0]), 1), max(int(boxes[k, 3] - boxes[k, 1]), 1)
        coarse, fine, uu, vv = (
            F.interpolate(m[k : k + 1], (bh, bw), mode="bilinear", align_corners=False)[0] for m in maps
        )
        part = fine.argmax(0) * (coarse.argmax(0) > 0)
        idx = part[None]
        iuv = torch.stack(
            [part.float(), uu.gather(0, idx)[0].clamp(0, 1) * 255, vv.gather(0, idx)[0].clamp(0, 1) * 255], -1
        )
        iuv = iuv.round().to(torch.uint8).numpy()
        # clip the box to the image and paste the foreground only
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + bw, w), min(y0 + bh, h)
        if xa >= xb or ya >= yb:
            continue
        crop = iuv[ya - y0 : yb - y0, xa - x0 : xb - x0]
        fg = crop[..., 0] > 0
        out[ya:yb, xa:xb][fg] = crop[fg]
    return out


def densepose_outputs_to_iuv(instances, image_size: tuple[int, int]) -> np.ndarray:
    """IUV image from detectron2 ``Instances`` with ``pred_boxes``, ``scores`` and a
    ``pred_densepose`` chart output (duck-typed; detectron2 is not imported here)."""
    dp = instances.pred_densepose
    boxes = instances.pred_boxes.tensor if hasattr(instances.pred_boxes, "tensor") else instances.pred_boxes
    return instances_to_iuv(
        boxes, dp.coarse_segm, dp.fine_segm, dp.u, dp.v, image_size, getattr(instances, "scores", None)
    )


class DensePoseBackend:
    """Run a detectron2 DensePose model on RGB frames and return IUV images.

    Args:
        config_file: DensePose model config (``configs/densepose_rcnn_R_50_FPN_s1x.yaml`` of
            the DensePose project).
        weights: path to the model weights (``.pkl`` / ``.pth``); nothing is downloaded.
        device: ``"cpu"`` or ``"cuda"``.
        min_score: detection score threshold.
    """

    def __init__(
        self, config_file: str | Path, weights: str | Path, device: str = "cpu", min_score: float = 0.8
    ) -> None:
        weights, config_file = Path(weights), Path(config_file)
        if not weights.is_file():
            raise FileNotFoundError(weights_registry.missing_message("densepose_r50", weights))
        if not config_file.is_file():
            raise FileNotFoundError(
                f"DensePose config {config_file} not found; it is in detectron2's projects/DensePose/configs/"
            )
        try:
            from densepose import add_densepose_config
            from detectron2.config import get_cfg
            from detectron2.engine import DefaultPredictor
        except ImportError as err:
            raise ImportError(f"{err}. {INSTALL_HINT}") from err
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(config_file))
        cfg.MODEL.WEIGHTS = str(weights)
        cfg.MODEL.DEVICE = device
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
        cfg.freeze()
        self._predictor = DefaultPredictor(cfg)
        self._bgr = cfg.INPUT.FORMAT == "BGR"

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """IUV image ``(H, W, 3)`` uint8 of an RGB uint8 frame (zeros if nobody is found)."""
        import torch

        image = frame[..., ::-1].copy() if self._bgr else frame
        with torch.no_grad():
            instances = self._predictor(image)["instances"].to("cpu")
        if len(instances) == 0 or not instances.has("pred_densepose"):
            return np.zeros(frame.shape[:2] + (3,), np.uint8)
        return densepose_outputs_to_iuv(instances, (frame.shape[1], frame.shape[0]))
