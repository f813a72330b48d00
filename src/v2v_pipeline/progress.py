"""Progress bars for long work: shown on a terminal, silent in CI logs and pipes."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress(iterable=None, **kwargs) -> tqdm:
    """``tqdm`` that hides itself when stderr is not a terminal (or ``V2V_PROGRESS=0``); ``V2V_PROGRESS=1`` forces it."""
    forced = os.environ.get("V2V_PROGRESS")
    disable = (forced == "0") if forced in ("0", "1") else not sys.stderr.isatty()
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, disable=disable, **kwargs)
