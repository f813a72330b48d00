"""Kedro dataset classes for v2v_pipeline artifacts (referenced from ``conf/base/catalog.yml``)."""

from .archive_dataset import ArchiveDataset
from .base import VersionedFileDataset
from .image_dataset import ImageDataset
from .report_datasets import HtmlReportDataset, LatestFileDataset
from .table_dataset import JSONDataset, TableDataset
from .torch_dataset import ModelFileDataset, ModelRef, ModelRefDataset, TorchCheckpointDataset
from .video_dataset import VideoDataset

__all__ = [
    "ArchiveDataset", "HtmlReportDataset", "ImageDataset", "JSONDataset", "LatestFileDataset", "ModelFileDataset",
    "ModelRef", "ModelRefDataset", "TableDataset", "TorchCheckpointDataset", "VersionedFileDataset", "VideoDataset",
]  # fmt: skip
