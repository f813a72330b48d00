import numpy as np
import pytest

from v2v_pipeline.labels import smoothing as S


def trajectory(t_len: int = 200, noise: float = 2.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two joints on smooth paths (clean, noisy)."""
    t = np.arange(t_len) / 30.0
    clean = np.zeros((t_len, 2, 3), np.float32)
    clean[:, 0, 0], clean[:, 0, 1] = 100 + 40 * np.sin(t), 80 + 20 * np.cos(0.7 * t)
    clean[:, 1, 0], clean[:, 1, 1] = 50 + 10 * t, 120.0
    clean[..., 2] = 0.9
    noisy = clean.copy()
    noisy[..., :2] += np.random.default_rng(seed).normal(0, noise, (t_len, 2, 2))
    return clean, noisy


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(((a[..., :2] - b[..., :2]) ** 2).mean()))


@pytest.mark.parametrize(
    "method,params",
    [
        ("one_euro", {"fps": 30, "min_cutoff": 1.0, "beta": 0.05}),
        ("savgol", {"window": 15, "polyorder": 2}),
        ("median", {"window": 7}),
    ],
)
def test_smoothers_reduce_jitter_and_keep_constants(method, params):
    clean, noisy = trajectory()
    out = S.smooth(noisy, method, **params)
    assert out.shape == noisy.shape
    assert rms(out, clean) < 0.75 * rms(noisy, clean)
    jitter = lambda x: np.abs(np.diff(x[..., :2], n=2, axis=0)).mean()  # noqa: E731
    assert jitter(out) < 0.5 * jitter(noisy)
    const = np.tile(np.array([[[10.0, 20.0, 0.8]]], np.float32), (50, 3, 1))
    np.testing.assert_allclose(S.smooth(const, method, **params), const, atol=1e-4)


@pytest.mark.parametrize("method", ["one_euro", "savgol", "median"])
def test_smoothers_do_not_invent_or_propagate_missing_joints(method):
    _, noisy = trajectory(60)
    noisy[20:30, 0] = 0  # joint 0 missing for 10 frames
    out = S.smooth(noisy, method)
    assert np.all(out[20:30, 0] == 0)
    # values right next to the gap are not pulled towards (0, 0)
    assert np.all(np.abs(out[[19, 30], 0, :2] - noisy[[19, 30], 0, :2]) < 15)
    np.testing.assert_array_equal(out[..., 2], noisy[..., 2])


def test_one_euro_beta_reduces_lag_on_fast_motion():
    t = np.arange(60)
    ramp = np.zeros((60, 1, 3), np.float32)
    ramp[:, 0, 0], ramp[:, 0, 2] = 20.0 * t, 1.0  # 600 px/s at 30 fps
    slow = S.one_euro(ramp, fps=30, min_cutoff=0.5, beta=0.0)
    fast = S.one_euro(ramp, fps=30, min_cutoff=0.5, beta=0.05)
    assert abs(fast[-1, 0, 0] - ramp[-1, 0, 0]) < 0.5 * abs(slow[-1, 0, 0] - ramp[-1, 0, 0])


def test_interpolate_gaps_fills_short_interior_gaps_linearly():
    kp = np.zeros((12, 2, 3), np.float32)
    kp[:, 0] = np.stack([np.arange(12) * 2.0, np.full(12, 5.0), np.full(12, 0.8)], 1)
    kp[:, 1] = kp[:, 0] + 1
    kp[3:5, 0] = 0  # gap of 2 -> filled
    kp[6:10, 1] = 0  # gap of 4 -> too long for max_gap=3
    kp[0, 1] = 0  # leading gap -> never extrapolated
    kp[4, 1, 2] = 0.5
    out, filled = S.interpolate_gaps(kp, max_gap=3)
    np.testing.assert_allclose(out[3:5, 0, :2], [[6, 5], [8, 5]])
    assert np.all(out[3:5, 0, 2] == 0.8)
    assert np.all(out[6:10, 1] == 0) and np.all(out[0, 1] == 0)
    assert filled[3:5, 0].all() and filled.sum() == 2
    kp2 = np.stack([np.arange(6.0), np.zeros(6), np.full(6, 0.9)], 1)[:, None].astype(np.float32)
    kp2[2, 0] = 0  # 1-frame gap next to a 0.5-confidence frame
    kp2[3, 0, 2] = 0.5
    out2, _ = S.interpolate_gaps(kp2, max_gap=1)
    assert out2[2, 0, 2] == pytest.approx(0.5) and out2[2, 0, 0] == pytest.approx(2.0)


def test_clean_sequence_flags_found_interpolated_missing():
    _, kp = trajectory(20)
    found = np.ones(20, bool)
    found[[5, 6]] = False  # short loss -> interpolated
    found[12:19] = False  # long loss -> missing
    out, status = S.clean_sequence(kp, found, max_gap=3, method="savgol", window=5)
    assert list(status[[0, 5, 6, 12, 18, 19]]) == [
        "found",
        "interpolated",
        "interpolated",
        "missing",
        "missing",
        "found",
    ]
    assert np.all(out[12:19, :, 2] == 0) and np.all(out[5, :, 2] > 0)
    with pytest.raises(ValueError, match="unknown smoothing"):
        S.smooth(kp, "kalman")
