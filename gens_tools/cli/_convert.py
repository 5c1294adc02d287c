"""``gens-tools convert SRC DST``: write the published GenS checkpoint once as a native transformers Aria one.

The converted folder loads with ``AriaForConditionalGeneration.from_pretrained`` (and with
``--sampler gens --model DST``) without remapping at every start. Registered into the CLI by
``gens_tools.cli._main`` through :func:`register`.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from gens_tools.errors import GensToolsError, InvalidArgumentError
from gens_tools.progress import ProgressEvent

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def parse_size(text: str) -> int:
    """Bytes in a size such as ``5GB``, ``500MiB`` or ``1048576``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", text, flags=re.IGNORECASE)
    if not m:
        raise InvalidArgumentError(f"cannot read the size {text!r}; write e.g. 5GB or 500MiB")
    value = float(m.group(1)) * _UNITS[(m.group(2) or "").upper()]
    if value < 1:
        raise InvalidArgumentError(f"size {text!r} is too small")
    return int(value)


def _size_arg(text: str) -> int:
    try:
        return parse_size(text)
    except InvalidArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _ShardBar:
    """A tqdm bar over source shards, on stderr when it is a terminal (or forced)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled or event.stage != "write":
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=event.total, desc="converting shards", unit="shard", file=sys.stderr, dynamic_ncols=True
            )
        self.bar.n = event.done
        if event.message:
            self.bar.set_postfix_str(event.message, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def register(subparsers: Any) -> None:
    """Add the ``convert`` subcommand to the CLI's subparsers (``func=run``)."""
    p = subparsers.add_parser(
        "convert",
        help="write the published GenS (yi_vl) checkpoint as a native transformers Aria checkpoint",
        description=(
            "Convert yaolily/GenS (custom 'yi_vl' code) into a checkpoint that transformers' "
            "AriaForConditionalGeneration loads directly. Reads one shard at a time; checks first that the "
            "mapping is exact for this checkpoint."
        ),
    )
    p.add_argument(
        "src", metavar="SRC", help="folder of the downloaded GenS checkpoint (config.json, safetensors or .bin weights)"
    )
    p.add_argument("dst", metavar="DST", help="new folder for the converted checkpoint")
    p.add_argument("--shard-size", type=_size_arg, default="5GB", help="largest output shard (default: 5GB)")
    p.add_argument("--overwrite", action="store_true", help="replace DST if it is not empty")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``convert``: 0 on success; on failure one line on stderr and exit status 1."""
    bar = _ShardBar(enabled=not args.quiet and (args.progress or sys.stderr.isatty()))
    try:
        from gens_tools.samplers._local.device import require_transformers

        require_transformers()
        from gens_tools.samplers.gens_aria._convert import convert_checkpoint

        out = convert_checkpoint(
            args.src, args.dst, progress=bar, max_shard_bytes=args.shard_size, overwrite=args.overwrite
        )
    except GensToolsError as exc:
        bar.close()
        print(f"gens-tools convert: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        bar.close()
        print(f"gens-tools convert: error: {exc.strerror or exc} ({exc.filename or args.dst})", file=sys.stderr)
        return 1
    bar.close()
    print(f"wrote a native Aria checkpoint to {out}")
    return 0
