"""Pipeline ``label``: pose keypoints, person masks and EDN-style label maps for every video."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
