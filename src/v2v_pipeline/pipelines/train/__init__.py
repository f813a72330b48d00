"""Pipeline ``train``: GAN training (pix2pixHD / Everybody Dance Now / vid2vid) with resume and MLflow tracking."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
