import numpy as np
import pytest

from v2v_pipeline.labels import overlap as O
from v2v_pipeline.labels import render as R
from v2v_pipeline.labels import skeleton as sk

from .conftest import frontal_person

SIZE = (200, 256)


def side_person() -> np.ndarray:
    """A person seen from the side: left and right limbs take different paths."""
    kp = frontal_person()
    j = sk.BODY_25_INDEX
    kp[j["LElbow"], :2] = (150, 95)
    kp[j["LWrist"], :2] = (170, 115)
    kp[j["LKnee"], :2] = (140, 180)
    kp[j["LAnkle"], :2] = (160, 225)
    return kp


def test_identical_maps_overlap_fully():
    a = R.render_pose(side_person(), SIZE)
    assert O.skeleton_overlap(a, a) == 1.0
    overall, per_class = O.limb_overlap(a, a)
    assert overall == 1.0 and np.nanmin(per_class) == 1.0
    blank = np.full_like(a, 255)
    assert O.skeleton_overlap(blank, blank) == 1.0
    assert O.skeleton_overlap(a, blank) == 0.0


def test_shift_lowers_overlap_and_dilation_forgives_small_shifts():
    kp = side_person()
    a = R.render_pose(kp, SIZE)
    b = R.render_pose(kp + np.array([3.0, 0, 0]), SIZE)
    far = R.render_pose(kp + np.array([40.0, 0, 0]), SIZE)
    tight, loose = O.skeleton_overlap(a, b, dilate_px=0), O.skeleton_overlap(a, b, dilate_px=4)
    assert tight < 0.9 and loose > tight
    assert O.skeleton_overlap(a, far, dilate_px=4) < 0.3


def test_swapped_left_right_is_invisible_to_geometry_but_caught_by_colour():
    kp = side_person()
    a = R.render_pose(kp, SIZE)
    swapped = R.render_pose(sk.flip_left_right(kp), SIZE)
    assert O.skeleton_overlap(a, swapped, 2) > 0.95
    overall, per_class = O.limb_overlap(a, swapped, 2)
    assert overall < 0.6
    names = O.color_classes("edn")[2]
    assert per_class[names.index("left_arm")] < 0.3 and per_class[names.index("center")] > 0.9


def test_colour_classes_of_both_styles():
    for style in ("edn", "openpose"):
        protos, ids, names = O.color_classes(style)
        assert names == list(O.PARTS) and protos.shape == (len(ids), 3)
        label = R.render_pose(side_person(), SIZE, style=style)
        classes = O.classify_colors(label, style)
        assert set(np.unique(classes)) == {-1, 0, 1, 2, 3, 4}  # all five parts drawn
    _, ids, names = O.color_classes("edn", by="color")
    assert len(names) == ids.max() + 1 == len(set(sk.EDN_BODY_23_COLORS))


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        O.skeleton_overlap(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
