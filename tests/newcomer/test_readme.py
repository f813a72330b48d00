"""Every command in the README's code blocks runs as written on a fresh copy of the repository.

The copy holds the files git tracks (plus new, not ignored ones), ``.venv`` links to the virtualenv
running this test (the install step is ``make install``'s business, tested by CI), and a budget
file in ``conf/local`` keeps the runs small: 80 frames per video, 2 training steps, 8 evaluated
frames. Its keys are leaves the README's own files do not set (Kedro rejects a key set twice in
one environment). The own-video example runs on the built-in sample: its video paths become
``demo:target`` / ``demo:source``; everything else is run exactly as the README writes it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BUDGET = """\
ingest:
  max_frames: 80
train:
  max_steps: 2
  val_frames: 4
evaluate:
  max_frames: 8
"""

# commands left out, with the reason
SKIP = {
    "make test": "runs this test suite (recursion); CI runs it",
    "make test-fast": "runs this test suite",
    "make bench": "benchmarks: minutes of measurements",
    ".venv/bin/pytest": "runs tests",
}

OWN_VIDEOS = {"data/01_raw/me_dancing.mp4": "demo:target", "data/01_raw/salsa.mp4": "demo:source"}


def readme_blocks(text: str) -> list[str]:
    """The ``bash`` code blocks of the README, without the skipped commands."""
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    out = []
    for block in blocks:
        lines = [ln for ln in block.splitlines()
                 if not any(re.match(rf"\s*{re.escape(cmd)}(\s|$)", ln) for cmd in SKIP)]
        if any(ln.strip() and not ln.strip().startswith("#") for ln in lines):
            out.append("\n".join(lines) + "\n")
    return out


def test_readme_blocks_are_found():
    blocks = readme_blocks((ROOT / "README.md").read_text())
    joined = "".join(blocks)
    assert blocks[0].lstrip().startswith("make demo")  # the quick start stays `make demo` / `make test`
    assert "make test" in (ROOT / "README.md").read_text().split("```")[1]
    assert "transfer.source.video" not in joined or "source: {video: salsa}" in joined
    assert all(path in joined for path in OWN_VIDEOS)
    assert not re.search(r"(^|\s)(kedro|v2v-runs) ", joined.replace(".venv/bin/", "/"))  # never a bare `kedro`


def _copy_repo(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


@pytest.mark.slow
def test_every_readme_command_runs_on_a_fresh_copy(tmp_path):
    repo = tmp_path / "repo"
    _copy_repo(repo)
    venv = Path(sys.executable).parent.parent
    (repo / ".venv").symlink_to(venv, target_is_directory=True)
    stamp = tmp_path / "installed.stamp"
    stamp.touch()  # newer than the copied requirements.lock / pyproject.toml: `make install` has nothing to do
    (repo / "conf/local").mkdir(parents=True, exist_ok=True)
    (repo / "conf/local/parameters_zz_readme_test.yml").write_text(BUDGET)
    env = {**os.environ, "MAKEFLAGS": f"STAMP={stamp}", "PYTHONPATH": str(repo / "src"),
           "KEDRO_DISABLE_TELEMETRY": "true", "MLFLOW_TRACKING_URI": "", "V2V_PROGRESS": "0"}
    env.pop("MLFLOW_TRACKING_URI")
    text = (repo / "README.md").read_text()
    for old, new in OWN_VIDEOS.items():
        text = text.replace(old, new)
    for i, block in enumerate(readme_blocks(text)):
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, (f"README block {i} failed (exit {proc.returncode}):\n{block}\n"
                                      f"--- output (tail) ---\n{(proc.stdout + proc.stderr)[-6000:]}")
    # what the README promises exists
    assert list((repo / "data/07_model_output/transfer.mp4").glob("*/transfer.mp4"))
    report = (repo / "data/08_reporting/report.html").read_text()
    # two training steps make a ghost of the room: the report must say so in red
    assert 'class="flags"' in report and "does not render the person" in report
    # readable run names and tags
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("v2v_pipeline").experiment_id])
    assert runs and all(" · " in r.info.run_name and r.data.tags.get("env") == "local" for r in runs)
    assert {r.data.tags.get("target") for r in runs} == {"target (demo:target)", "me (demo:target)"}
    assert not [(r.info.run_name, k) for r in runs for k, v in r.data.tags.items() if "object at 0x" in v]
