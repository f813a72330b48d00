"""Strict parameter parsing: typos and wrong types name the key and the file to fix."""

from __future__ import annotations

import pytest

from v2v_pipeline.config import ConfigError, parse
from v2v_pipeline.params import IngestParams, validate_all

GOOD = {"target": {"name": "t", "path": "demo:target"}}


def test_defaults_and_conversion():
    p = parse(IngestParams, {**GOOD, "fps": 25, "size": [64, 32]}, "ingest")
    assert p.fps == 25.0 and isinstance(p.fps, float)
    assert p.size == (64, 32) and p.split.val == 0.05


@pytest.mark.parametrize(
    "override, pattern",
    [
        ({"fsp": 25}, r"unknown parameter 'ingest.fsp'. Did you mean 'ingest.fps'\?.*parameters_ingest.yml"),
        ({"fps": "fast"}, r"parameter 'ingest.fps': expected float or null, got 'fast' \(str\)"),
        ({"size": [64]}, r"parameter 'ingest.size': expected tuple\[int, int\]"),
        ({"size": [63, 32]}, r"must be even"),
        ({"fit": "padd"}, r"'padd' is not one of 'pad', 'crop', 'stretch'. Did you mean 'pad'\?"),
        ({"split": {"val": 0.5, "test": 0.5}}, r"parameters 'ingest.split': split fractions"),
        ({"split": {"gapp": 2}}, r"unknown parameter 'ingest.split.gapp'"),
        ({"max_frames": True}, r"'ingest.max_frames': expected int or null, got True"),
    ],
)
def test_bad_parameters_are_named(override, pattern):
    with pytest.raises(ConfigError, match=pattern):
        parse(IngestParams, {**GOOD, **override}, "ingest")


def test_missing_required_key():
    with pytest.raises(ConfigError, match=r"missing parameter 'ingest.target.path'"):
        parse(IngestParams, {"target": {"name": "t"}}, "ingest")


def test_unknown_section_is_a_typo():
    with pytest.raises(ConfigError, match=r"unknown parameter section 'ingset'. Did you mean 'ingest'\?"):
        validate_all({"ingest": GOOD, "ingset": {}})


def test_library_configs_are_embedded_and_keep_strict_messages():
    from v2v_pipeline.labels.mediapipe_backend import MediaPipeConfig
    from v2v_pipeline.params import LabelParams, NormalizeParams
    from v2v_pipeline.pose.normalize import PoseNormConfig

    n = parse(NormalizeParams, {"enabled": False, "median_window": 5}, "normalize")
    assert isinstance(n, PoseNormConfig) and not n.enabled and n.median_window == 5  # no copy, no translation
    assert isinstance(parse(LabelParams, {}, "label").mediapipe, MediaPipeConfig)
    with pytest.raises(ConfigError, match=r"parameters 'normalize': median_window must be a positive odd number.*"
                                          r"conf/base/parameters_normalize.yml"):
        parse(NormalizeParams, {"median_window": 4}, "normalize")  # PoseNormConfig's own check
    with pytest.raises(ConfigError, match="unknown parameter 'label.mediapipe.segmentation'. Did you mean "
                                          "'label.mediapipe.enable_segmentation'"):
        parse(LabelParams, {"mediapipe": {"segmentation": True}}, "label")
    with pytest.raises(ConfigError, match="'label.mediapipe.max_jump': expected float"):
        parse(LabelParams, {"mediapipe": {"max_jump": "far"}}, "label")
