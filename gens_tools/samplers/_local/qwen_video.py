"""Qwen2-VL / Qwen2.5-VL video input built from the image processor's patches, and answers given in seconds
read back onto frames.

transformers' Qwen video processor needs torchvision, which is not always importable beside torch. It does
to a video what the image processor does to each frame (resize, rescale, normalise, cut into ``patch`` ×
``patch`` squares grouped ``merge`` × ``merge``), then stacks ``temporal_patch_size`` consecutive frames into
each patch (padding the last group with copies of the last frame). The image processor writes every frame
as a still: the same frame repeated ``temporal_patch_size`` times in each patch, in the same patch order. So a
video's patches are the frames' image patches with the temporal slots filled by consecutive frames instead
of copies: :func:`frames_to_video_patches`.

A video's frames are at ``fps`` frames a second; each temporal group lasts ``temporal_patch_size / fps``
seconds (``second_per_grid_ts``), which spaces the groups' rotary positions in time: :func:`video_positions`
computes them as Qwen2.5-VL was released and trained (the text after a video continues after the video's
last position in any of the three axes; transformers 5.24 continues it after the spatial extent only, inside
the video's time span). A GenS answer about a video names seconds; :func:`seconds_to_frame_scores` gives
each frame the best score of the seconds it covers.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gens_tools.errors import InvalidArgumentError

if TYPE_CHECKING:
    import torch


def video_fps(timestamps: Sequence[float]) -> float:
    """The frame rate of frames at ``timestamps`` (s): one over their median spacing; 1 for a single frame
    or frames without spacing."""
    gaps = [b - a for a, b in itertools.pairwise(timestamps) if b > a]
    if not gaps:
        return 1.0
    return 1.0 / statistics.median(gaps)


def frames_to_video_patches(
    pixel_values: torch.Tensor, n_frames: int, *, temporal_patch_size: int, patch_size: int
) -> tuple[torch.Tensor, int]:
    """The video patches of ``n_frames`` frames from their image patches.

    Args:
        pixel_values: the image processor's output for the frames, ``(n_frames · patches, C · T · P · P)``,
            every frame at the same size.
        n_frames: how many frames.
        temporal_patch_size: ``T``, frames per temporal patch.
        patch_size: ``P``.

    Returns:
        ``(groups · patches, C · T · P · P)`` video patches and the number of temporal groups
        (``ceil(n_frames / T)``); the video's grid is ``(groups, h, w)`` with the frames' ``h``, ``w``.
    """
    import torch

    rows, width = pixel_values.shape
    if n_frames <= 0 or rows % n_frames:
        raise InvalidArgumentError(f"{rows} patches cannot be {n_frames} frames of the same size")
    channels = width // (temporal_patch_size * patch_size * patch_size)
    per_frame = rows // n_frames
    stills = pixel_values.reshape(n_frames, per_frame, channels, temporal_patch_size, patch_size, patch_size)
    frames = stills[:, :, :, 0]  # every temporal slot of a still holds the same frame
    if pad := -n_frames % temporal_patch_size:
        frames = torch.cat([frames, frames[-1:].expand(pad, *frames.shape[1:])])
    groups = frames.shape[0] // temporal_patch_size
    grouped = frames.reshape(groups, temporal_patch_size, per_frame, channels, patch_size, patch_size)
    video = grouped.permute(0, 2, 3, 1, 4, 5)  # (groups, patches, C, T, P, P)
    return video.reshape(groups * per_frame, width).contiguous(), groups


def video_positions(
    ids: Sequence[int],
    video_token_id: int,
    grid_thw: Sequence[int],
    *,
    second_per_grid: float,
    tokens_per_second: float,
    merge_size: int,
) -> tuple[torch.Tensor, int]:
    """Qwen2.5-VL's 3-axis rotary positions ``(3, len(ids))`` of a prompt holding one video, and the offset
    (``rope_deltas``) that continues them for the tokens that follow.

    Text counts up on all three axes; the video's tokens take (time, row, column) from where the text
    stopped, time being ``floor(group · second_per_grid · tokens_per_second)``; the text after it resumes one
    past the largest position so far.
    """
    import torch

    at = [i for i, tok in enumerate(ids) if tok == video_token_id]
    groups, height, width = (int(v) for v in grid_thw)
    rows, cols = height // merge_size, width // merge_size
    if not at or len(at) != groups * rows * cols or at[-1] - at[0] + 1 != len(at):
        raise InvalidArgumentError(
            f"the prompt holds {len(at)} video tokens, not one run of {groups}×{rows}×{cols} for its grid"
        )
    first, after = at[0], at[-1] + 1
    before = torch.arange(first).expand(3, -1)
    time = (torch.arange(groups, dtype=torch.float64) * second_per_grid * tokens_per_second).long()
    video = (
        torch.stack(
            [
                time.view(-1, 1, 1).expand(groups, rows, cols),
                torch.arange(rows).view(1, -1, 1).expand(groups, rows, cols),
                torch.arange(cols).view(1, 1, -1).expand(groups, rows, cols),
            ]
        ).reshape(3, -1)
        + first
    )
    resume = int(video.max()) + 1
    rest = torch.arange(len(ids) - after).expand(3, -1) + resume
    positions = torch.cat([before, video, rest], dim=1)
    return positions, int(positions.max()) + 1 - len(ids)


def seconds_to_frame_scores(per_second: Sequence[float], n_frames: int, fps: float) -> list[float]:
    """Per-frame scores from per-second ones: frame ``i`` is shown from ``i/fps`` to ``(i+1)/fps`` and scores
    the best of the seconds that span overlaps (at 1 fps, second ``i`` is frame ``i``)."""
    if fps <= 0:
        raise InvalidArgumentError(f"fps must be positive, got {fps}")
    scores = []
    for i in range(n_frames):
        first = math.floor(i / fps + 1e-9)
        last = max(first, math.ceil((i + 1) / fps - 1e-9) - 1)
        covered = [per_second[s] for s in range(first, last + 1) if s < len(per_second)]
        scores.append(max(covered, default=0.0))
    return scores


def seconds_in_video(n_frames: int, fps: float) -> int:
    """How many whole seconds ``n_frames`` at ``fps`` span (the labels an answer about them may use)."""
    return max(1, math.ceil(n_frames / fps - 1e-9))
