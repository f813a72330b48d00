"""Pipeline ``dataset``: the self-contained, versioned training dataset of the target person."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
