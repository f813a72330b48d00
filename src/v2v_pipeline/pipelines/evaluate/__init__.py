"""Pipeline ``evaluate``: self-reconstruction metrics on held-out target frames, plots, videos, HTML report."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
