"""Short messages for the command-line errors a newcomer makes (installed by ``settings.py``).

A mistyped pipeline name (Kedro's "Failed to find the pipeline named 'tranfer' ... Did you
mean") and a bad parameter (:class:`~v2v_pipeline.config.ConfigError`, which names the file
and the fix) end the command with their message alone instead of two chained tracebacks;
``V2V_TRACEBACK=1`` shows the tracebacks. Every other exception is printed as usual.
"""

from __future__ import annotations

import os
import sys


def is_user_error(exc: BaseException) -> bool:
    from v2v_pipeline.config import ConfigError

    if isinstance(exc, ConfigError):
        return True
    return isinstance(exc, ValueError) and str(exc).startswith("Failed to find the pipeline named")


def excepthook(exc_type, exc, tb, fallback=sys.__excepthook__) -> None:
    if os.environ.get("V2V_TRACEBACK") != "1" and exc is not None and is_user_error(exc):
        print(f"error: {exc}\n(V2V_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return
    fallback(exc_type, exc, tb)


def install() -> None:
    """Use :func:`excepthook` for uncaught exceptions of this process (only in the ``kedro`` command)."""
    if os.path.basename(sys.argv[0] if sys.argv else "") != "kedro" or getattr(sys.excepthook, "v2v", False):
        return
    previous = sys.excepthook  # e.g. rich's traceback printer

    def hook(exc_type, exc, tb):
        excepthook(exc_type, exc, tb, fallback=previous)

    hook.v2v = True
    sys.excepthook = hook
