import json

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from v2v_pipeline.labels import precomputed as P
from v2v_pipeline.labels import skeleton as sk
from v2v_pipeline.labels.tracking import track_person

from .conftest import frontal_person


def write_openpose(path, people):
    path.write_text(json.dumps({"version": 1.3, "people": people}))


def person_json(body, face=True, hands=True):
    d = {"person_id": [-1], "pose_keypoints_2d": body.ravel().tolist()}
    if face:
        d["face_keypoints_2d"] = np.tile([1.0, 2.0, 0.5], 70).tolist()
    if hands:
        d["hand_left_keypoints_2d"] = np.tile([3.0, 4.0, 0.6], 21).tolist()
        d["hand_right_keypoints_2d"] = []
    return d


def test_openpose_json_body25_and_coco18(tmp_path):
    body = frontal_person()
    coco = sk.body25_to_coco18(body)
    write_openpose(
        tmp_path / "a_000000000000_keypoints.json", [person_json(body), person_json(coco, face=False, hands=False)]
    )
    people = P.read_openpose_json(tmp_path / "a_000000000000_keypoints.json")
    assert len(people) == 2
    np.testing.assert_allclose(people[0].body, body)
    assert people[0].source_layout == "BODY_25" and people[1].source_layout == "COCO_18"
    np.testing.assert_allclose(people[0].face[5], [1, 2, 0.5])
    np.testing.assert_allclose(people[0].hands[0, 3], [3, 4, 0.6])  # left
    assert np.all(people[0].hands[1] == 0)  # right hand empty
    np.testing.assert_allclose(people[1].body, sk.coco18_to_body25(coco))
    assert people[1].face is None and people[1].hands is None


def test_openpose_json_errors(tmp_path):
    bad = tmp_path / "x_keypoints.json"
    write_openpose(bad, [{"pose_keypoints_2d": [0.0] * 60}])
    with pytest.raises(ValueError, match="75 .BODY_25. or 54"):
        P.read_openpose_json(bad)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        P.read_openpose_json(bad)
    bad.write_text("{}")
    with pytest.raises(ValueError, match="no 'people'"):
        P.read_openpose_json(bad)


def test_openpose_folder_to_tracker_candidates(tmp_path):
    for t in range(12):  # natural order: frame 2 before frame 10
        a = frontal_person(offset=(5.0 * t, 0))
        b = frontal_person(scale=0.8, offset=(250 - 5.0 * t, 10))
        people = [person_json(b), person_json(a)] if t % 2 else [person_json(a), person_json(b)]
        write_openpose(tmp_path / f"clip_{t}_keypoints.json", people if t != 4 else [])
    frames = P.read_openpose_folder(tmp_path, num_frames=12)
    cands = P.body_candidates(frames)
    assert [len(c) for c in cands] == [2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2]
    track = track_person(cands, init="largest")
    assert list(track.index) == [0, 1, 0, 1, -1, 1, 0, 1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="12 OpenPose files .* for 10"):
        P.read_openpose_folder(tmp_path, num_frames=10)


def make_label_folder(tmp_path, n=5):
    rng = np.random.default_rng(0)
    maps = [rng.integers(0, 256, (16, 24, 3), dtype=np.uint8) for _ in range(n)]
    for i, m in enumerate(maps):
        cv2.imwrite(str(tmp_path / f"frame{100 + 4 * i:06d}.png"), m[..., ::-1])
    return maps


def test_label_folder_sorted_and_by_mapping(tmp_path):
    maps = make_label_folder(tmp_path)
    files = P.match_label_files(tmp_path, num_frames=5)
    got = P.read_label_maps(files)
    np.testing.assert_array_equal(got, np.stack(maps))  # exact, RGB
    table = pd.DataFrame({"index": [0, 1, 2], "source_frame": [108, 100, 116]})
    files = P.match_label_files(tmp_path, num_frames=3, mapping=table)
    np.testing.assert_array_equal(P.read_label_maps(files), np.stack([maps[2], maps[0], maps[4]]))
    table.to_csv(tmp_path.parent / "frames.csv", index=False)
    assert P.match_label_files(tmp_path, mapping=tmp_path.parent / "frames.csv") == files


def test_label_folder_errors(tmp_path):
    make_label_folder(tmp_path)
    with pytest.raises(ValueError, match="5 label maps .* for 6 video frames"):
        P.match_label_files(tmp_path, num_frames=6)
    with pytest.raises(FileNotFoundError, match="missing"):
        P.match_label_files(tmp_path, mapping=pd.DataFrame({"index": [0], "source_frame": [7]}))
    with pytest.raises(ValueError, match="0..n-1"):
        P.match_label_files(tmp_path, mapping=pd.DataFrame({"index": [0, 2], "source_frame": [100, 104]}))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        P.match_label_files(tmp_path / "nope")


def test_index_maps_are_read_exactly_and_resized_nearest(tmp_path):
    idx = np.arange(12 * 8, dtype=np.uint8).reshape(8, 12) % 7
    im = Image.fromarray(idx, mode="P")
    im.putpalette(np.random.default_rng(0).integers(0, 256, 768).astype(np.uint8).tolist())
    im.save(tmp_path / "pal.png")
    Image.fromarray(idx, mode="L").save(tmp_path / "gray.png")
    for name in ("pal.png", "gray.png"):
        got = P.read_label_map(tmp_path / name)
        assert got.dtype == np.uint8 and got.shape == (8, 12)
        np.testing.assert_array_equal(got, idx)  # indices, not palette colours
        big = P.read_label_map(tmp_path / name, size=(24, 16))
        np.testing.assert_array_equal(big, np.kron(idx, np.ones((2, 2), np.uint8)))
        assert set(np.unique(P.read_label_map(tmp_path / name, size=(7, 5)))) <= set(np.unique(idx))
