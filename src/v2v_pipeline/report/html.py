"""A small self-contained HTML report builder.

Images and figures are embedded as base64 PNG ``data:`` URIs, so the file can be mailed or
logged to MLflow on its own. Videos are too large to embed: they are linked with
``<video>`` tags by a path relative to the report's own folder, computed when the report is
written, so the links work wherever the project folder is moved.
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from v2v_pipeline.storage import encode_png, write_bytes_atomic

from .plots import figure_png

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;
color:#1d232a;background:#fafbfc}
h1{font-size:1.5em;margin:.2em 0 .1em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #dde2e8;padding-bottom:.2em}
p.sub{color:#5b6673;margin-top:0}table{border-collapse:collapse;margin:.5em 0;font-size:.9em;background:#fff}
th,td{border:1px solid #dde2e8;padding:4px 10px;text-align:right}th{background:#eef1f5}td:first-child,th:first-child{text-align:left}
figure{margin:.6em 0;display:inline-block;vertical-align:top}figcaption{font-size:.8em;color:#5b6673}
img{max-width:100%;border:1px solid #dde2e8}img.px{image-rendering:pixelated}
video{max-width:100%;background:#000;image-rendering:pixelated;display:block}
div.vc{margin:4px 0;font-size:.85em;display:flex;gap:8px;align-items:center}div.vc input{flex:1;max-width:480px}
ul.flags{color:#b00020;font-weight:600;border-left:4px solid #b00020;background:#fff0f0;padding:6px 6px 6px 28px}
ul.notes{color:#8a5a00;font-size:.9em}dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:.9em}
dt{color:#5b6673}dd{margin:0}
"""


MIN_VIDEO_WIDTH = 512
MAX_VIDEO_WIDTH = 1050

# play/pause and a position slider under the video: the browser's own controls would cover small frames
_CONTROLS = ('<div class="vc"><button type="button" onclick="var v=this.parentNode.previousElementSibling;'
             'v.paused?v.play():v.pause()">play / pause</button><input type="range" min="0" max="1000" value="0" '
             'oninput="var v=this.parentNode.previousElementSibling;if(v.duration)v.currentTime=v.duration*this.value/1000">'
             '</div>')


def video_width(native_width: int | None) -> int:
    """Display width: the native width times the smallest integer factor reaching :data:`MIN_VIDEO_WIDTH`
    (kept under the page width), 720 when the native width is unknown."""
    if not native_width:
        return 720
    factor = max(1, math.ceil(MIN_VIDEO_WIDTH / native_width))
    while factor > 1 and native_width * factor > MAX_VIDEO_WIDTH:
        factor -= 1
    return max(native_width * factor, min(MIN_VIDEO_WIDTH, MAX_VIDEO_WIDTH))


def data_uri(image: np.ndarray | Figure | bytes) -> str:
    """``data:image/png;base64,...`` of an RGB uint8 image, a matplotlib figure or PNG bytes."""
    if isinstance(image, Figure):
        png = figure_png(image)
    elif isinstance(image, bytes):
        png = image
    else:
        png = encode_png(np.ascontiguousarray(image))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "&ndash;"
    if isinstance(value, float | np.floating):
        if math.isinf(value):
            return "&infin;" if value > 0 else "&minus;&infin;"
        return f"{value:.{digits}g}" if abs(value) < 1e5 else f"{value:.3e}"
    return html.escape(str(value))


@dataclass
class HtmlReport:
    """Blocks appended in order; :meth:`write` renders them with links relative to the file."""

    title: str
    subtitle: str = ""
    _blocks: list = field(default_factory=list, init=False, repr=False)

    def heading(self, text: str) -> None:
        self._blocks.append(("raw", f"<h2>{html.escape(text)}</h2>"))

    def text(self, text: str) -> None:
        self._blocks.append(("raw", f"<p>{html.escape(text)}</p>"))

    def notes(self, notes: Sequence[str]) -> None:
        if notes:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
            self._blocks.append(("raw", f'<ul class="notes">{items}</ul>'))

    def flags(self, flags: Sequence[str]) -> None:
        """Red warnings (e.g. a model that renders no person), shown first under their heading."""
        if flags:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in flags)
            self._blocks.append(("raw", f'<ul class="flags">{items}</ul>'))

    def facts(self, facts: dict[str, object]) -> None:
        """A two-column list of names and values."""
        items = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{_fmt(v)}</dd>" for k, v in facts.items())
        self._blocks.append(("raw", f"<dl>{items}</dl>"))

    def table(self, df: pd.DataFrame, digits: int = 4) -> None:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
        body = "".join("<tr>" + "".join(f"<td>{_fmt(v, digits)}</td>" for v in row) + "</tr>"
                       for row in df.itertuples(index=False))
        self._blocks.append(("raw", f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"))

    def image(self, image: np.ndarray | Figure | bytes, caption: str = "", width: int | None = None) -> None:
        """Embed ``image``; ``width`` (pixels) scales it for display (pixelated when enlarged)."""
        enlarged = width and isinstance(image, np.ndarray) and width > image.shape[1]
        style = (' class="px"' if enlarged else "") + (f' style="width:{width}px"' if width else "")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        alt = html.escape(caption or "image")
        self._blocks.append(("raw", f'<figure><img src="{data_uri(image)}" alt="{alt}"{style}>{cap}</figure>'))

    def video(self, path: str | os.PathLike, caption: str = "", native_width: int | None = None) -> None:
        """Link a video, shown enlarged by an integer factor to at least :data:`MIN_VIDEO_WIDTH` px (nearest
        neighbour), with its controls below the picture rather than over it."""
        self._blocks.append(("video", Path(path), caption, video_width(native_width)))

    def render(self, folder: str | os.PathLike) -> str:
        """The HTML text for a file placed in ``folder`` (video links are relative to it)."""
        parts = []
        for block in self._blocks:
            if block[0] == "raw":
                parts.append(block[1])
                continue
            _, path, caption, width = block
            rel = Path(os.path.relpath(Path(path).resolve(), Path(folder).resolve())).as_posix()
            src = html.escape(rel, quote=True)
            cap = html.escape(caption)
            parts.append(f'<figure><video loop muted playsinline autoplay preload="auto" style="width:{width}px" '
                         f'src="{src}"></video>{_CONTROLS}'
                         f'<figcaption>{cap} &middot; <a href="{src}">{html.escape(Path(path).name)}</a></figcaption>'
                         "</figure>")
        sub = f'<p class="sub">{html.escape(self.subtitle)}</p>' if self.subtitle else ""
        return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
                f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>\n'
                f"<body><h1>{html.escape(self.title)}</h1>{sub}\n" + "\n".join(parts) + "\n</body></html>\n")

    def write(self, path: str | os.PathLike) -> None:
        """Render for ``path``'s folder and write it atomically."""
        path = Path(path)
        write_bytes_atomic(path, self.render(path.parent).encode("utf-8"))
