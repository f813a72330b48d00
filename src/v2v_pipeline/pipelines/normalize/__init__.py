"""Pipeline ``normalize``: Everybody Dance Now global pose normalization of the source videos to the target."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
