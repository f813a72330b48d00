"""Kedro dataset classes for v2v_pipeline artifacts (referenced from ``conf/base/catalog.yml``)."""

from .archive_dataset import ArchiveDataset
from .image_dataset import ImageDataset
from .report_datasets import HtmlReportDataset, LatestFileDataset
from .torch_dataset import ModelRef, ModelRefDataset, TorchCheckpointDataset
from .video_dataset import VideoDataset

__all__ = ["ArchiveDataset", "HtmlReportDataset", "LatestFileDataset", "ImageDataset", "ModelRef", "ModelRefDataset", "TorchCheckpointDataset", "VideoDataset"]
