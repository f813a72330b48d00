"""Pipeline ``ingest``: probe videos, decode, resample by timestamp, resize, split by time."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
