"""summarize(): statistics per metric column, NaN ignored, id columns skipped."""

import math

import numpy as np
import pandas as pd
import pytest

from v2v_pipeline.metrics import summarize


def test_summarize_nested_and_flat():
    df = pd.DataFrame(
        {
            "frame": [0, 1, 2],
            "ssim": [1.0, 0.5, np.nan],
            "psnr": [30.0, 40.0, 50.0],
            "detected": [True, False, True],
            "video": ["a", "a", "a"],
        }
    )
    s = summarize(df)
    assert set(s) == {"ssim", "psnr"}
    assert s["ssim"] == pytest.approx({"mean": 0.75, "median": 0.75, "std": math.sqrt(0.125), "count": 2})
    assert s["psnr"] == pytest.approx({"mean": 40.0, "median": 40.0, "std": 10.0, "count": 3})
    flat = summarize(df, columns=["ssim"], flat=True)
    expected = {"ssim/mean": 0.75, "ssim/median": 0.75, "ssim/std": math.sqrt(0.125), "ssim/count": 2}
    assert flat == pytest.approx(expected)


def test_summarize_empty_column_and_unknown_column():
    df = pd.DataFrame({"lpips": [np.nan, np.nan], "tof": [1.0, np.nan]})
    s = summarize(df)
    assert s["lpips"]["count"] == 0 and math.isnan(s["lpips"]["mean"])
    assert s["tof"]["mean"] == 1.0 and math.isnan(s["tof"]["std"])
    with pytest.raises(KeyError, match="no column"):
        summarize(df, columns=["fid"])
