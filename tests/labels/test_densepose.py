import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from v2v_pipeline.labels import densepose_backend as D


def test_iuv_to_label_exact_values():
    iuv = np.zeros((2, 3, 3), np.uint8)
    iuv[0, 0] = (1, 255, 0)
    iuv[0, 1] = (24, 51, 102)
    iuv[1, 2] = (0, 200, 200)  # background: U, V ignored
    onehot = D.iuv_to_label(iuv)
    assert onehot.shape == (2, 3, 26) and onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot[0, 0, :24], np.eye(24)[0])
    np.testing.assert_array_equal(onehot[0, 1, :24], np.eye(24)[23])
    np.testing.assert_allclose(onehot[0, 0, 24:], [1.0, 0.0])
    np.testing.assert_allclose(onehot[0, 1, 24:], [0.2, 0.4])
    assert np.all(onehot[1] == 0)
    np.testing.assert_allclose(D.iuv_to_label(iuv, "iuv")[0, 1], [1.0, 0.2, 0.4])
    np.testing.assert_allclose(D.iuv_to_label(iuv, "iuv")[1, 2], [0.0, 200 / 255, 200 / 255], rtol=1e-6)


def test_iuv_to_label_rejects_bad_input():
    with pytest.raises(ValueError, match="0..24"):
        D.iuv_to_label(np.full((2, 2, 3), 25, np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        D.iuv_to_label(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="onehot"):
        D.iuv_to_label(np.zeros((2, 2, 3), np.uint8), mode="rgb")


def fake_instance(part: int, u: float, v: float, s: int = 8, fg: slice = slice(None)):
    coarse = torch.zeros(1, 2, s, s)
    coarse[0, 1][fg] = 5.0  # foreground where requested
    fine = torch.zeros(1, 25, s, s)
    fine[0, part] = 5.0
    uu = torch.zeros(1, 25, s, s)
    vv = torch.zeros(1, 25, s, s)
    uu[0, part], vv[0, part] = u, v
    return coarse, fine, uu, vv


def test_instances_to_iuv_pastes_boxes():
    c1, f1, u1, v1 = fake_instance(3, 0.5, 1.0)
    c2, f2, u2, v2 = fake_instance(7, 0.2, 0.4)
    boxes = torch.tensor([[2.0, 1.0, 10.0, 7.0], [6.0, 4.0, 14.0, 12.0]])
    cat = lambda a, b: torch.cat([a, b])  # noqa: E731
    iuv = D.instances_to_iuv(
        boxes, cat(c1, c2), cat(f1, f2), cat(u1, u2), cat(v1, v2), (16, 12), scores=torch.tensor([0.9, 0.8])
    )
    assert iuv.shape == (12, 16, 3) and iuv.dtype == np.uint8
    np.testing.assert_array_equal(iuv[2, 3], [3, 128, 255])  # only instance 1
    np.testing.assert_array_equal(iuv[10, 12], [7, 51, 102])  # only instance 2
    np.testing.assert_array_equal(iuv[5, 7], [3, 128, 255])  # overlap: higher score on top
    assert np.all(iuv[0] == 0) and np.all(iuv[:, 15] == 0)  # outside both boxes
    # lower score for instance 1 -> instance 2 on top in the overlap
    iuv2 = D.instances_to_iuv(boxes, cat(c1, c2), cat(f1, f2), cat(u1, u2), cat(v1, v2), (16, 12), scores=[0.1, 0.8])
    np.testing.assert_array_equal(iuv2[5, 7], [7, 51, 102])


def test_instances_to_iuv_uses_coarse_foreground_and_clips_to_image():
    c, f, u, v = fake_instance(12, 0.0, 0.0, s=4, fg=(slice(0, 2), slice(None)))  # top half only
    iuv = D.instances_to_iuv(np.array([[-4.0, -2.0, 4.0, 6.0]]), c, f, u, v, (6, 6))  # box leaves the image
    assert iuv[0, 0, 0] == 12 and iuv[:2, :4, 0].min() == 12
    assert np.all(iuv[4:, :, 0] == 0)  # bottom half of the box is background
    assert np.all(iuv[:, 4:] == 0)
    with pytest.raises(ValueError, match="fine_segm"):
        D.instances_to_iuv(np.zeros((1, 4)), c, f[:, :24], u, v, (6, 6))


def test_detectron2_style_instances():
    c, f, u, v = fake_instance(2, 1.0, 0.0)
    inst = SimpleNamespace(
        pred_boxes=SimpleNamespace(tensor=torch.tensor([[0.0, 0.0, 4.0, 4.0]])),
        scores=torch.tensor([0.99]),
        pred_densepose=SimpleNamespace(coarse_segm=c, fine_segm=f, u=u, v=v),
    )
    iuv = D.densepose_outputs_to_iuv(inst, (5, 5))
    np.testing.assert_array_equal(iuv[1, 1], [2, 255, 0])
    assert np.all(iuv[4] == 0)


def test_backend_missing_weights_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model_final\.pkl.*model zoo"):
        D.DensePoseBackend(tmp_path / "cfg.yaml", tmp_path / "model_final.pkl")


@pytest.mark.skipif(importlib.util.find_spec("detectron2") is not None, reason="detectron2 is installed")
def test_backend_without_detectron2_says_how_to_install(tmp_path):
    (tmp_path / "w.pkl").write_bytes(b"0")
    (tmp_path / "cfg.yaml").write_text("MODEL: {}\n")
    with pytest.raises(ImportError, match="pip install 'git\\+https://github.com/facebookresearch/detectron2'"):
        D.DensePoseBackend(tmp_path / "cfg.yaml", tmp_path / "w.pkl")
