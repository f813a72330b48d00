"""Built-in demo footage: a procedurally rendered dancer with ground-truth keypoints.

The project generates this sample itself (no third-party footage), so it can be shipped
and used by the default configuration (``demo:target`` / ``demo:source``) and the tests.
"""

from .dancer import (
    BODY_25,
    DEFAULT_STAGING,
    MOTIONS,
    Appearance,
    Camera,
    DancerClip,
    Staging,
    iter_dancer,
    render_dancer,
)
from .sample import (
    demo_specs,
    read_openpose_json,
    write_demo_sample,
    write_mp4,
    write_openpose_json,
)
from .source import resolve_video

__all__ = ["BODY_25", "DEFAULT_STAGING", "MOTIONS", "Appearance", "Camera", "DancerClip",
           "Staging", "demo_specs", "iter_dancer", "read_openpose_json", "render_dancer",
           "resolve_video", "write_demo_sample", "write_mp4", "write_openpose_json"]
