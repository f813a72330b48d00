"""Matplotlib figure -> PNG bytes, the one place that does it (report, image datasets, pose previews)."""

from __future__ import annotations

import io
from typing import Any


def figure_png(fig: Any, dpi: int = 100, close: bool = False) -> bytes:
    """PNG bytes of a matplotlib figure, without the ``Software`` metadata (same figure, same bytes).

    ``close=True`` also releases it from pyplot's figure manager (a no-op for object-API figures).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return buf.getvalue()
