"""The docs site's pipeline page names every dataset each pipeline reads and writes.

(`make docs`, run by `make test` after pytest, builds the site with warnings as errors.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from v2v_pipeline.pipeline_registry import CHAIN, register_pipelines

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "pipelines.md").read_text()


def _section(name: str) -> str:
    m = re.search(rf"^## {name}\n(.*?)(?=^## |\Z)", PAGE, re.S | re.M)
    assert m, f"docs/pipelines.md has no '## {name}' section"
    return m[1]


@pytest.mark.parametrize("name", CHAIN)
def test_pipeline_page_lists_every_input_output_and_parameter_section(name):
    pipeline = register_pipelines()[name]
    section = _section(name)
    for dataset in sorted(pipeline.inputs() | pipeline.outputs()):
        key = dataset.removeprefix("params:")
        assert f"`{key}`" in section, f"docs/pipelines.md, section {name}: {dataset} is not mentioned"
