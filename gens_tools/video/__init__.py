"""Video input: one reader interface over video files, frame folders and http(s) URLs, and the on-disk frame
cache that decodes a video's grid once for every later question."""

from gens_tools.video._base import VideoInfo, VideoReader, sampling_grid
from gens_tools.video._cache import CacheEntry, FrameCache, default_cache_dir
from gens_tools.video._open import BACKENDS, open_video

__all__ = [
    "BACKENDS",
    "CacheEntry",
    "FrameCache",
    "VideoInfo",
    "VideoReader",
    "default_cache_dir",
    "open_video",
    "sampling_grid",
]
