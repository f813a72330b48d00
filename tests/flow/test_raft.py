"""RAFT backend with a randomly initialised state dict (no pretrained weights offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models.optical_flow import raft_small

from v2v_pipeline.flow import compute_flow_pairs
from v2v_pipeline.flow.raft import RAFTFlow, load_raft


@pytest.fixture(scope="module")
def small_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("raft") / "raft_small_random.pth"
    torch.save(raft_small(weights=None).state_dict(), path)
    return path


@pytest.mark.parametrize(("h", "w"), [(64, 128), (70, 100)])
def test_random_raft_small_runs_batched_with_right_shapes(small_weights: Path, h: int, w: int) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(4)]  # 3 pairs
    backend = RAFTFlow.from_weights(small_weights, "small", device="cpu", batch_size=2, num_flow_updates=3)
    forward, backward = compute_flow_pairs(frames, backend)
    assert forward.shape == backward.shape == (3, h, w, 2)
    assert forward.dtype == np.float32 and np.isfinite(forward).all() and np.isfinite(backward).all()
    # batching (2 + 1 pairs, forward and backward in one batch) must not change the result
    single = RAFTFlow(backend.model, device="cpu", batch_size=1, num_flow_updates=3)
    forward1, backward1 = single.flow_pairs(frames)
    np.testing.assert_allclose(forward, forward1, atol=1e-4)
    np.testing.assert_allclose(backward, backward1, atol=1e-4)
    # backward[i] is the flow from frame i+1 to frame i
    reversed_forward, _ = single.flow_pairs(frames[::-1])
    np.testing.assert_allclose(backward[0], reversed_forward[-1], atol=1e-4)


def test_raft_by_name_and_keyword_options(small_weights: Path) -> None:
    frames = [np.full((64, 128, 3), v, np.uint8) for v in (10, 20)]
    forward, _ = compute_flow_pairs(
        frames, "raft", weights_path=small_weights, variant="small", device="cpu", num_flow_updates=1
    )
    assert forward.shape == (1, 64, 128, 2)


def test_missing_weights_say_where_and_how(tmp_path: Path) -> None:
    missing = tmp_path / "raft_large.pth"
    with pytest.raises(FileNotFoundError) as info:
        load_raft(missing, "large")
    text = str(info.value)
    assert str(missing) in text
    assert "raft_large(weights='Raft_Large_Weights.C_T_SKHT_V2')" in text
    assert "https://download.pytorch.org/models/raft_large_C_T_SKHT_V2" in text


def test_wrong_variant_is_explained(small_weights: Path) -> None:
    with pytest.raises(ValueError, match="variant='small'"):
        load_raft(small_weights, "large")
    with pytest.raises(ValueError, match="unknown RAFT variant"):
        load_raft(small_weights, "medium")


def test_bad_batch_size_is_rejected(small_weights: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RAFTFlow(load_raft(small_weights, "small"), device="cpu", batch_size=0)
