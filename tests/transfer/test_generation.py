"""Generating clips into an archive: all three model families, temporal state per clip, flat memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from tests.evaluate.synthetic import label, model_file
from v2v_pipeline.inference import FrameGenerator
from v2v_pipeline.report import (
    Clip,
    GeneratedFramesContent,
    LazyFrames,
    resets_around_gaps,
    resolve_model,
    training_history,
)
from v2v_pipeline.storage import Archive, write_archive


def _labels(n: int, size=(64, 32)) -> LazyFrames:
    return LazyFrames(lambda t: label(t, size), range(n))


@pytest.mark.parametrize("family, face", [("pix2pixhd", False), ("edn", True), ("vid2vid", False)])
def test_each_family_generates_like_frame_generator_and_resets_per_clip(tmp_path, family, face):
    model = model_file(family, face=face)
    boxes = np.tile([20.0, 2.0, 44.0, 20.0], (6, 1))
    boxes[2] = np.nan  # a frame without a face
    expected = list(FrameGenerator(model, "cpu", "fp32").generate_clip(_labels(6), boxes if face else None,
                                                                        batch_size=4))
    gen = FrameGenerator(model, "cpu", "fp32")
    clips = [Clip([f"a{i}" for i in range(6)], _labels(6), boxes if face else None),
             Clip([f"b{i}" for i in range(6)], _labels(6), boxes if face else None)]
    content = GeneratedFramesContent(gen, lambda: clips, batch_size=4, store_labels=True, meta={"x": 1})
    write_archive(tmp_path / "gen.zip", content)
    archive = Archive(tmp_path / "gen.zip")
    meta = archive.read("meta")
    assert meta["frames"] == 12 and meta["x"] == 1 and meta["keys"][:2] == ["a0", "a1"]
    for i in range(6):
        # same frames as a direct run, and the second clip starts from a fresh temporal state
        np.testing.assert_array_equal(archive.read(f"output/a{i}"), expected[i])
        np.testing.assert_array_equal(archive.read(f"output/b{i}"), expected[i])
        np.testing.assert_array_equal(archive.read(f"label/a{i}"), label(i))
    assert content.stats["frames"] == 12 and content.stats["fps"] > 0
    if family != "pix2pixhd":  # a temporal model's frame depends on its history: t=1 differs from a fresh start
        fresh = next(iter(FrameGenerator(model, "cpu", "fp32").generate_clip([label(1)])))
        assert not np.array_equal(fresh, expected[1])


def test_resets_around_gaps():
    found = np.array([1, 1, 0, 0, 1, 1, 0, 1], bool)
    assert resets_around_gaps(found).tolist() == [False, False, True, True, True, False, True, True]


@pytest.mark.parametrize("family", ["edn", "vid2vid"])
def test_reset_flags_restart_the_temporal_state(tmp_path, family):
    """After a flagged frame the model continues as if the clip started there (a frame with no
    person does not leak into the frames after it)."""
    model = model_file(family)
    resets = np.array([0, 0, 0, 1, 0, 0], bool)
    gen = FrameGenerator(model, "cpu", "fp32")
    flagged = list(gen.generate_clip(_labels(6), resets=resets))
    plain = list(gen.generate_clip(_labels(6)))
    tail = list(gen.generate_clip(_labels(6)[3:]))
    for t in range(3):
        np.testing.assert_array_equal(flagged[t], plain[t])
        np.testing.assert_array_equal(flagged[3 + t], tail[t])
    assert not np.array_equal(flagged[4], plain[4])


def test_temporal_model_refuses_a_batch():
    gen = FrameGenerator(model_file("edn"), "cpu", "fp32")
    with pytest.raises(ValueError, match="frame by frame"):
        gen.generate(np.stack([label(0), label(1)]))


def _peak_bytes(tmp_path, gen: FrameGenerator, n: int, size=(96, 48)) -> int:
    clip = Clip([f"{i:06d}" for i in range(n)], LazyFrames(lambda t: label(t, size), range(n)))
    content = GeneratedFramesContent(gen, lambda: [clip], batch_size=4, store_labels=True)
    tracemalloc.start()
    try:
        write_archive(tmp_path / f"gen{n}.zip", content)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_memory_stays_flat_in_the_number_of_frames(tmp_path):
    """300 frames must not cost much more than 30: holding the frames in a list would add 270 x 27 KiB = 7 MiB."""
    gen = FrameGenerator(model_file("pix2pixhd", size=(96, 48)), "cpu", "fp32")
    _peak_bytes(tmp_path, gen, 4)  # warm-up: lazy imports and allocator caches are not part of the comparison
    small, large = _peak_bytes(tmp_path, gen, 30), _peak_bytes(tmp_path, gen, 300)
    per_frame = 2 * 96 * 48 * 3  # one output and one label, uint8
    assert large - small < 0.1 * 270 * per_frame, (small, large)
    assert len(Archive(tmp_path / "gen300.zip").keys("output/")) == 300


def test_resolve_model_latest_without_a_trained_model_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="kedro run --pipelines=train"):
        resolve_model("latest", None)
    from v2v_pipeline.inference import ModelFileError

    with pytest.raises(ModelFileError, match="does not exist"):
        resolve_model(str(tmp_path / "nope.pt"), None)


def test_resolve_model_from_an_mlflow_run(tmp_path):
    import mlflow
    import torch

    model = model_file("pix2pixhd")
    torch.save(model, tmp_path / "generator.pt")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        exp = mlflow.create_experiment("v2v_pipeline", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=exp) as run:
            mlflow.log_artifact(str(tmp_path / "generator.pt"), artifact_path="model")
            for step in (10, 20):
                mlflow.log_metrics({"G_total": 5.0 - step / 10, "val_ssim": step / 100}, step=step)
        spec = f"runs:/{run.info.run_id}"
        loaded = resolve_model(spec, None)
        # a model file without a stored history gets its curves from the run that trained it
        from_run = training_history(loaded, spec)
    finally:
        mlflow.set_tracking_uri(None)
    assert loaded["model_config"] == model["model_config"]
    torch.testing.assert_close(loaded["generator"], model["generator"])
    assert from_run.to_dict("list") == {"step": [10, 20], "G_total": [4.0, 3.0], "val_ssim": [0.1, 0.2]}
    stored = [{"step": 1.0, "G_total": 2.0}]
    assert training_history({**loaded, "history": stored}, spec).to_dict("records") == stored
    assert training_history(model, "some/generator.pt") is None


@pytest.mark.parametrize("family", ["pix2pixhd", "edn"])
def test_bf16_generation_casts_the_weights_once_and_stays_close_to_fp32(family):
    """bf16 runs the generator with its weights cast once (fastpath); the first frame stays near fp32. Both run
    channels-last (the fast path's layout on every device)."""
    from v2v_pipeline.fastpath import InferenceModule

    model = model_file(family, (64, 32), False)
    fp32, bf16 = FrameGenerator(model, "cpu", "fp32"), FrameGenerator(model, "cpu", "bf16")
    assert isinstance(bf16.generator, InferenceModule) and isinstance(fp32.generator, InferenceModule)
    assert {p.dtype for p in bf16.generator.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in fp32.generator.parameters()} == {torch.float32}
    assert fp32.generator.memory_format == torch.channels_last
    x = label(0, (64, 32))
    a, b = fp32.generate(x).astype(int), bf16.generate(x).astype(int)
    assert a.shape == b.shape
    diff = np.abs(a - b)
    assert diff.mean() < 1.0 and diff.max() <= 8  # measured on random weights: mean 0.18-0.19, max 3 (of 255)
