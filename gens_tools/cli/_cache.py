"""``gens-tools cache info`` and ``gens-tools cache clear [VIDEO]``: see and empty the on-disk frame cache.

Registered into the CLI by ``gens_tools.cli._main`` through :func:`register`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from gens_tools.video._cache import DEFAULT_MAX_BYTES, ENV_CACHE_DIR, JPEG_QUALITY, CacheEntry, FrameCache


def _size(n_bytes: int) -> str:
    """Bytes in a short human form (binary units: 1 MiB = 2**20 bytes)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def _entry_dict(entry: CacheEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "source": entry.source,
        "frames": len(entry.indices),
        "grid_points": entry.n_targets,
        "fps": entry.fps,
        "max_side": entry.max_side,
        "bytes": entry.n_bytes,
        "last_used": entry.last_used,
        "path": str(entry.path),
    }


def _cmd_info(args: argparse.Namespace) -> int:
    cache = FrameCache()
    entries = cache.entries()
    total = cache.total_bytes()  # also entries of older gens-tools versions, which are not listed
    env = os.environ.get(ENV_CACHE_DIR)
    if args.json:
        print(
            json.dumps(
                {
                    "root": str(cache.root),
                    "env_var": ENV_CACHE_DIR,
                    "env_value": env,
                    "max_bytes": cache.max_bytes,
                    "jpeg_quality": JPEG_QUALITY,
                    "bytes": total,
                    "entries": [_entry_dict(e) for e in entries],
                },
                indent=2,
            )
        )
        return 0
    where = f"set by {ENV_CACHE_DIR}" if env else f"default; set {ENV_CACHE_DIR} to move it"
    print(f"frame cache: {cache.root} ({where})")
    print(
        f"size: {_size(total)} in {len(entries)} entries; bound {_size(cache.max_bytes or DEFAULT_MAX_BYTES)} "
        "(least recently used entries are deleted beyond it)"
    )
    print(f"frames are JPEG at quality {JPEG_QUALITY}, at the size the sampler reads them")
    if not entries:
        return 0
    print(f"\n{'size':>9}  {'frames':>7}  {'px':>4}  {'fps':>5}  {'last used':16}  video")
    for e in entries:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(e.last_used)) if e.last_used else "?"
        side = str(e.max_side) if e.max_side else "full"
        fps = f"{e.fps:g}" if e.fps else "-"
        print(f"{_size(e.n_bytes):>9}  {len(e.indices):>7}  {side:>4}  {fps:>5}  {used:16}  {e.source or '?'}")
    return 0


def _cmd_clear(args: argparse.Namespace) -> int:
    cache = FrameCache()
    removed = cache.clear(args.video)
    freed = _size(sum(e.n_bytes for e in removed))
    what = f"of {args.video}" if args.video else "in total"
    print(
        f"removed {len(removed)} frame cache entr{'y' if len(removed) == 1 else 'ies'} {what} ({freed}) "
        f"from {cache.root}"
    )
    return 0


def register(sub: Any) -> None:
    """Add the ``cache`` command to the ``gens-tools`` subcommands."""
    p = sub.add_parser(
        "cache",
        help="show or empty the frame cache",
        description=f"Decoded frames are kept on disk so that the next question about a video decodes nothing. "
        f"The folder is ${ENV_CACHE_DIR}/frames when {ENV_CACHE_DIR} is set, else the user cache folder; "
        f"it is kept under {_size(DEFAULT_MAX_BYTES)} by deleting the least recently used entries.",
    )
    commands = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    q = commands.add_parser("info", help="where the cache is, how big, and which videos it holds")
    q.add_argument("--json", action="store_true", help="print as JSON")
    q.set_defaults(func=_cmd_info)
    q = commands.add_parser("clear", help="delete every entry, or those of one video")
    q.add_argument("video", nargs="?", help="only this video file, frame folder or URL (every version of it)")
    q.set_defaults(func=_cmd_clear)
