"""One recipe per model family: its generator's training step, its G and D losses, its inference step.

A layer between ``models`` and both ``training`` (the loop) and ``inference`` (generation), so the
two run each family through the same code and never import each other in a circle.
"""

from __future__ import annotations

from v2v_pipeline.recipes import edn, face, pix2pixhd, vid2vid
from v2v_pipeline.recipes.base import LossTerms

FAMILIES = {"pix2pixhd": pix2pixhd, "edn": edn, "vid2vid": vid2vid}


def family_recipe(model: str, terms: LossTerms, p):
    """The training recipe of ``model`` (``pix2pixhd`` | ``edn`` | ``vid2vid``)."""
    if model not in FAMILIES:
        raise ValueError(f"unknown model family {model!r}; one of {sorted(FAMILIES)}")
    return FAMILIES[model].Recipe(terms, p)


__all__ = ["FAMILIES", "LossTerms", "edn", "face", "family_recipe", "pix2pixhd", "vid2vid"]
