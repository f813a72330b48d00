"""One recipe per model family (networks' training step, G and D losses, inference step)."""

from __future__ import annotations

from v2v_pipeline.training.recipes import edn, face, pix2pixhd, vid2vid
from v2v_pipeline.training.recipes.base import LossTerms

FAMILIES = {"pix2pixhd": pix2pixhd, "edn": edn, "vid2vid": vid2vid}


def family_recipe(model: str, terms: LossTerms, p):
    """The training recipe of ``model`` (``pix2pixhd`` | ``edn`` | ``vid2vid``)."""
    if model not in FAMILIES:
        raise ValueError(f"unknown model family {model!r}; one of {sorted(FAMILIES)}")
    return FAMILIES[model].Recipe(terms, p)


__all__ = ["FAMILIES", "LossTerms", "edn", "face", "family_recipe", "pix2pixhd", "vid2vid"]
