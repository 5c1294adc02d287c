"""A frame folder shows only its own pictures: a symlink leading out of it, a FIFO or a decompression bomb among
its images is never opened, and what cannot be read is a lost span, not a raw error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gens_tools import AccessPolicy
from gens_tools.errors import NotAVideoError
from gens_tools.pipeline import sample_frames
from gens_tools.synthetic import paint_time_code, read_time_code


def _folder(root: Path, n: int = 6) -> Path:
    frames = root / "frames"
    frames.mkdir(parents=True)
    for i in range(n):
        paint_time_code(float(i), (96, 54)).save(frames / f"{i:03d}.jpg")
    return frames


def test_symlinks_out_of_the_folder_and_fifos_are_not_frames(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    frames = _folder(allowed)
    secret = tmp_path / "secret.jpg"
    paint_time_code(99.0, (96, 54)).save(secret)
    (frames / "006.jpg").symlink_to(secret)
    os.mkfifo(frames / "007.jpg")  # would hang whoever opens it
    (frames / "008.jpg").symlink_to(frames / "000.jpg")  # inside: allowed
    policy = AccessPolicy.allow([allowed])
    selection = sample_frames(frames, "q", sampler="uniform", k=10, frame_rate=1.0, policy=policy, cache=False)
    shown = [read_time_code(f.require_image()) for f in selection.frames]
    assert 99.0 not in shown
    assert len(selection.frames) == 6  # 000-005 (008 repeats 000's picture)


def test_a_bomb_as_the_first_image_is_a_typed_error(tmp_path: Path) -> None:
    import struct
    import zlib

    frames = tmp_path / "frames"
    frames.mkdir()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0))
    (frames / "000.png").write_bytes(bomb + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    with pytest.raises(NotAVideoError, match=r"more than a frame may have|exceeds limit"):
        sample_frames(frames, "q", sampler="uniform", k=2, frame_rate=1.0, cache=False)
