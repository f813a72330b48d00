"""Pipeline ``transfer``: drive the trained model with a source's poses; output and side-by-side H.264 videos."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
