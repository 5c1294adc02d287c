"""The pipeline: video + question → K relevant, timestamped frames (decode the grid, score windows with a
sampler, choose K)."""

from gens_tools.pipeline._sample import asample_frames, sample_frames
from gens_tools.pipeline._selection import select_indices, uniform_positions

__all__ = ["asample_frames", "sample_frames", "select_indices", "uniform_positions"]
