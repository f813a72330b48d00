"""Early checks of everything knowable from parameters and file headers, run before the first
expensive node (from the ``before_pipeline_run`` hook). Each problem is one message naming the
key and the fix; all problems are reported together."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # MLflow keys, file and archive member names
FLOW_MIN_FRAMES = 2


class ValidationError(ValueError):
    """Parameters or inputs that cannot give a correct run; the message lists every problem."""


def _get(d: Mapping[str, Any] | None, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, Mapping) or k not in d:
            return default
        d = d[k]
    return d


def _safe(name: str) -> str:
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_.-]", "_", ascii_name)).strip("_.-") or "video"


def min_frames_for_split(sequence_length: int, split: Mapping[str, Any]) -> int:
    """The fewest target frames whose time-ordered split leaves ``sequence_length`` training frames."""
    val, test, gap = float(split.get("val", 0.05)), float(split.get("test", 0.10)), int(split.get("gap", 4))
    for n in range(1, 100_000):
        n_test, n_val = int(round(n * test)), int(round(n * val))
        if n - n_test - n_val - gap * ((n_val > 0) + (n_test > 0)) >= sequence_length:
            return n
    return 100_000  # pragma: no cover


def header_frames(path: str, start: float = 0.0, end: float | None = None, fps: float | None = None) -> int | None:
    """Frames a video will give after ``start``/``end``/``fps``, estimated from its header only
    (None when the header does not say, or for ``demo:`` videos)."""
    if path.startswith("demo:"):
        return None
    p = Path(path).expanduser()
    if p.is_dir():
        from v2v_pipeline.video.io import IMAGE_SUFFIXES

        return sum(1 for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if not p.is_file():
        return None  # ingest says what is wrong with the path
    import av

    try:
        with av.open(str(p)) as c:
            if not c.streams.video:
                return None
            s = c.streams.video[0]
            rate = float(s.average_rate or s.guessed_rate or 0)
            duration = float(s.duration * s.time_base) if s.duration and s.time_base else (c.duration or 0) / 1e6
            if not rate or not duration:
                return int(s.frames) or None
    except Exception:  # noqa: BLE001 - a file the header reader rejects is reported by ingest
        return None
    last = duration if end is None else min(end, duration)
    return max(0, int((last - start) * (fps or rate) + 0.5))


def check_parameters(params: Mapping[str, Any]) -> list[str]:
    """Problems with parameter values (no file access)."""
    problems: list[str] = []
    ingest = params.get("ingest") or {}
    mf = ingest.get("max_frames")
    if mf is not None and (isinstance(mf, bool) or not isinstance(mf, int) or mf < 1):
        problems.append(f"ingest.max_frames is {mf!r}: it caps the frames kept per video, so use a positive number "
                        "(e.g. 60) or null for all frames")
    pv = ingest.get("pad_value", 0)
    if isinstance(pv, bool) or not isinstance(pv, int) or not 0 <= pv <= 255:
        problems.append(f"ingest.pad_value is {pv!r}: it is the grey level of the letterbox borders, an integer "
                        "0..255 (0 = black)")
    mb = ingest.get("max_bad_frames", 0)
    if isinstance(mb, bool) or not isinstance(mb, int) or mb < 0:
        problems.append(f"ingest.max_bad_frames is {mb!r}: use 0 (refuse any damaged frame) or a positive count")
    videos = [("ingest.target.name", _get(ingest, "target", "name"))]
    videos += [(f"ingest.sources[{i}].name", _get(s, "name")) for i, s in enumerate(ingest.get("sources") or [])]
    per_video = _get(params, "label", "videos", default=None)
    unknown = sorted(set(per_video) - {n for _, n in videos}) if isinstance(per_video, Mapping) else []
    if unknown:
        problems.append(f"label.videos names {unknown}, which are not ingested videos "
                        f"({sorted(str(n) for _, n in videos)}): use the names of ingest.target / ingest.sources")
    for key, name in videos:
        if isinstance(name, str) and not SAFE_NAME.match(name):
            problems.append(f"{key} is {name!r}: video names become MLflow keys, file and archive names, so use "
                            f"ASCII letters, digits, '_', '-' and '.' only (e.g. {_safe(name)!r})")
    return problems


def check_inputs(params: Mapping[str, Any], nodes: set[str] | None = None) -> list[str]:
    """Problems knowable from the videos' headers: too few frames for the flow, normalization and
    dataset steps among ``nodes`` (node names of the run; None = all)."""
    problems: list[str] = []
    # node names without their video namespace (`source.normalize_video` -> `normalize_video`)
    steps = None if nodes is None else {n.rsplit(".", 1)[-1] for n in nodes}
    if steps is not None and "probe_video" not in steps:
        return problems
    uses = (lambda name: True) if steps is None else (lambda name: name in steps)
    ingest = params.get("ingest") or {}
    cap = ingest.get("max_frames") if isinstance(ingest.get("max_frames"), int) and ingest["max_frames"] > 0 else None
    seq = int(_get(params, "dataset", "sequence_length", default=1) or 1) if uses("build_dataset") else 1
    need_flow = FLOW_MIN_FRAMES if uses("compute_flows") else 1
    need_target = max(need_flow, min_frames_for_split(seq, ingest.get("split") or {}))
    norm_on = bool(_get(params, "normalize", "enabled", default=False)) and uses("normalize_video")
    need_norm = int(_get(params, "normalize", "min_frames", default=0) or 0) if norm_on else 0
    specs = [("ingest.target", ingest.get("target") or {}, max(need_target, need_norm))]
    specs += [(f"ingest.sources[{i}]", s, max(1, need_norm)) for i, s in enumerate(ingest.get("sources") or [])]
    for key, spec, need in specs:
        if not isinstance(spec, Mapping) or not isinstance(spec.get("path"), str):
            continue
        n = header_frames(spec["path"], float(spec.get("start") or 0.0), spec.get("end"),
                          spec.get("fps") or ingest.get("fps"))
        if n is None:
            continue
        n = min(n, cap) if cap else n
        if n < need:
            why = []
            if key == "ingest.target":
                why.append(f"flow needs {need_flow}, the time-ordered split (ingest.split) with training sequences "
                           f"of dataset.sequence_length={seq} needs {need_target}")
            if need_norm:
                why.append(f"pose normalization needs normalize.min_frames={need_norm}")
            problems.append(f"{key} ({spec['path']}) gives {n} frame{'s' if n != 1 else ''}"
                            f"{' (capped by ingest.max_frames)' if cap and n == cap else ''} but at least {need} are "
                            f"needed ({'; '.join(why)}); use a longer clip, widen start/end, raise ingest.max_frames, "
                            "or lower those settings")
    return problems


def dataset_label_problems(wanted: str, target: str, summary: Mapping[str, Any] | None) -> list[str]:
    """A run that trains or evaluates on the stored dataset without rebuilding it, where the newest
    labels of the target (``summary``: its ``<target>.label_summary``, None when there is none) came
    from another backend than ``wanted``, the one this run's configuration names. Kedro environments
    share ``data/`` and the newest version of each artifact is loaded, so after ``kedro run --env=A
    --pipelines=data`` a ``--env=B`` training would otherwise train on A's labels without a word."""
    if not summary or not summary.get("backend"):
        return []
    built = str(summary["backend"])
    if built == wanted:
        return []
    return [f"the stored dataset's target '{target}' was labelled with backend '{built}', but this run's "
            f"configuration labels it with '{wanted}' (label.videos.{target}.backend / label.backend). The "
            "environments share data/ and the newest dataset is used: rebuild it for this configuration first "
            "(`kedro run --env=<this env> --pipelines=data`), or run the environment it was built with"]


def check_run(params: Mapping[str, Any], nodes: set[str] | None = None) -> None:
    """Raise :class:`ValidationError` listing every problem; nothing is written before it.
    ``nodes``: the node names of the run (header checks only when it ingests)."""
    problems = check_parameters(params)
    if not problems:
        problems += check_inputs(params, nodes)
    if problems:
        raise ValidationError("the run cannot give a correct result:\n  - " + "\n  - ".join(problems))


# --------------------------------------------------------------------------- label-map folders
_NUMBER = re.compile(r"^(.*?)(\d+)(\D*)$")


def label_folder_problems(files: list[Path], gaps: bool = True) -> list[str]:
    """Odd-sized or odd-mode maps and numbering gaps in a label-map folder taken in sorted order
    (the *i*-th file is frame *i*, so a gap shifts the timing and an odd size breaks the geometry).
    Reads image headers only."""
    from collections import Counter

    from PIL import Image

    problems: list[str] = []
    if not files:
        return problems
    headers = []
    for f in files:
        try:
            with Image.open(f) as im:
                headers.append((im.size, "index" if im.mode in ("P", "L", "I", "I;16", "1") else "RGB"))
        except Exception as e:  # noqa: BLE001 - PIL raises many kinds on a damaged file
            problems.append(f"label map {f} (position {files.index(f)}) cannot be read ({e}); re-export it")
            headers.append(None)
    counts = Counter(h for h in headers if h is not None)
    if counts:
        (size, mode), n = counts.most_common(1)[0]
        odd = [(i, f, h) for i, (f, h) in enumerate(zip(files, headers)) if h is not None and h != (size, mode)]
        for i, f, (s, m) in odd[:5]:
            problems.append(f"label map {f.name} (position {i}) is {s[0]}x{s[1]} {m} but {n} of {len(files)} maps in "
                            f"{f.parent} are {size[0]}x{size[1]} {mode}; re-export it like the others (resizing it "
                            "would no longer line up with the figure)")
        if len(odd) > 5:
            problems.append(f"... and {len(odd) - 5} more maps of another size or kind")
    parts = [_NUMBER.match(f.stem) for f in files]
    if gaps and all(parts) and len({(p.group(1), p.group(3)) for p in parts}) == 1 and len(files) > 2:
        numbers = np.array([int(p.group(2)) for p in parts])
        steps = np.diff(numbers)
        step = int(np.median(steps)) if len(steps) else 1
        # only a regular numbering (every step a multiple of the usual one) says which maps are
        # missing; numbers sampled with jitter (EDN's subject 4: steps 4, 5, 6, 15) are taken as they are
        if step > 0 and np.mean(steps == step) >= 0.9 and not np.any(steps % step):
            gaps = [(i, int(round(s / step)) - 1) for i, s in enumerate(steps) if round(s / step) >= 2]
            for i, missing in gaps[:5]:
                problems.append(f"label maps in {files[i].parent} skip {missing} map{'s' if missing != 1 else ''} "
                                f"after {files[i].name} (position {i}; the numbers step by {step}, the next is "
                                f"{files[i + 1].name}): every later map would be "
                                f"{missing} frame{'s' if missing != 1 else ''} early; add the missing maps or use a mapping "
                                "table (index, source_frame)")
            if len(gaps) > 5:
                problems.append(f"... and {len(gaps) - 5} more gaps")
    return problems


def check_label_files(files: list[Path], gaps: bool = True) -> list[Path]:
    """Raise ``ValueError`` listing :func:`label_folder_problems`; else return ``files``."""
    problems = label_folder_problems([Path(f) for f in files], gaps)
    if problems:
        raise ValueError("label-map folder is inconsistent:\n  - " + "\n  - ".join(problems))
    return files
