"""Pipeline ``flow``: forward/backward optical flow of the target video and occlusion masks."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
