"""Video input: one reader interface over video files, frame folders and http(s) URLs."""

from gens_tools.video._base import VideoInfo, VideoReader, sampling_grid
from gens_tools.video._open import open_video

__all__ = ["VideoInfo", "VideoReader", "open_video", "sampling_grid"]
