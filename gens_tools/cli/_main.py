"""The ``gens-tools`` command line: ``sample`` frames, ``info`` about a video, make a ``demo`` video, plus the
``ask`` (assistants) and ``convert`` (GenS-Aria checkpoints) commands registered by their own modules."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from gens_tools._timeparse import parse_time
from gens_tools.errors import GensToolsError
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressEvent

#: Modules that add their own subcommands through ``register(subparsers)``.
_PLUGIN_COMMANDS = ("gens_tools.cli._ask", "gens_tools.cli._convert", "gens_tools.cli._eval", "gens_tools.cli._batch")


class _Bars:
    """tqdm progress bars (on stderr, only when it is a terminal) driven by progress events."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}

    _LABELS: ClassVar[dict[str, tuple[str, str]]] = {
        "open": ("loading model", "shard"),
        "decode": ("decoding frames", "frame"),
        "score": ("scoring windows", "window"),
        "write": ("writing", "file"),
    }

    def __call__(self, event: ProgressEvent) -> None:
        # "open" without a total is the pipeline opening the video: nothing to draw.
        if not self.enabled or event.stage not in self._LABELS or (event.stage == "open" and not event.total):
            return
        from tqdm import tqdm

        bar = self._bars.get(event.stage)
        if bar is None:
            desc, unit = self._LABELS[event.stage]
            bar = tqdm(total=event.total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
            self._bars[event.stage] = bar
        bar.n = event.done
        if event.message:
            bar.set_postfix_str(event.message, refresh=False)
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()


def progress_bars(quiet: bool = False, force: bool = False) -> _Bars:
    """Progress bars for the CLI: shown when stderr is a terminal (or ``force``), never with ``quiet``."""
    return _Bars(enabled=not quiet and (force or sys.stderr.isatty()))


def _time_arg(text: str) -> float:
    """argparse type for times: seconds or ``[hh:]mm:ss``, with our message on error."""
    try:
        return parse_time(text)
    except GensToolsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def report_arg(text: str) -> str:
    """argparse type for ``--report``: a .html/.htm/.png path in an existing folder (checked before sampling)."""
    from gens_tools.report import check_report_path

    try:
        path = check_report_path(text)
    except GensToolsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {str(path.parent)!r} does not exist")
    return text


def add_sampler_options(parser: argparse.ArgumentParser) -> None:
    """The options that choose and configure a sampler (shared by ``sample`` and ``ask``)."""
    from gens_tools.samplers._registry import sampler_names

    g = parser.add_argument_group("sampler")
    g.add_argument("--sampler", default="uniform", choices=sampler_names(), help="frame sampler (default: uniform)")
    g.add_argument("--model", help="model id or local path (gens-3b, gens, similarity) or served model name (remote)")
    g.add_argument("--base-url", help="OpenAI-compatible endpoint for --sampler remote, e.g. http://127.0.0.1:8000/v1")
    g.add_argument("--device", help="torch device for in-process models (default: cuda if available, else cpu)")
    g.add_argument("--dtype", help="torch dtype for in-process models (default: bfloat16 on cuda, float32 on cpu)")
    g.add_argument("--concurrency", type=int, help="remote sampler: windows scored in parallel (default: 8)")
    g.add_argument("--window-size", type=int, help="frames per sampler call (default: the sampler's, 256 for GenS)")


def add_selection_options(parser: argparse.ArgumentParser, *, default_k: int | None = 16) -> None:
    """The options that shape the frame selection (shared by ``sample`` and ``ask``)."""
    parser.add_argument("video", help="video file, folder of frame images, or http(s) URL")
    parser.add_argument("question", help="what the frames should help answer")
    k_help = (
        f"number of frames (default: {default_k})"
        if default_k
        else "number of frames (default: as many as the assistant's budget planner fits)"
    )
    parser.add_argument("-k", type=int, default=default_k, help=k_help)
    parser.add_argument("--start", type=_time_arg, help="start of the time range (seconds or [hh:]mm:ss)")
    parser.add_argument("--end", type=_time_arg, help="end of the time range (seconds or [hh:]mm:ss)")
    add_sampling_options(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--progress", action="store_true", help="progress bars even when stderr is not a terminal")


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """A flag for every :class:`~gens_tools.SamplingOptions` field, built from its declaration."""
    g = parser.add_argument_group("sampling")
    for info in SamplingOptions.describe():
        if info.flag is None:
            continue
        text = info.flag_help or info.help
        if info.negate:
            g.add_argument(info.flag, dest=info.name, action="store_false", default=None, help=text)
            continue
        if info.default is not None:
            shown = f"{info.default:g}" if isinstance(info.default, float) else str(info.default)
            text += f" (default: {shown})"
        g.add_argument(
            info.flag,
            dest=info.name,
            type=info.parse or str,
            choices=info.choices,
            default=None,
            metavar=info.metavar,
            help=text,
        )


def options_from_args(args: argparse.Namespace) -> SamplingOptions:
    """The :class:`~gens_tools.SamplingOptions` the parsed flags ask for (flags not given keep the defaults)."""
    given = {name: getattr(args, name) for name in SamplingOptions.names() if getattr(args, name, None) is not None}
    return SamplingOptions.build(None, **given)


def check_video(args: argparse.Namespace) -> None:
    """Open the video once (cheap: metadata and the first frame) so that a missing or unreadable video is
    reported before a sampler loads gigabytes of model weights."""
    from gens_tools.video import open_video

    options = options_from_args(args)
    with open_video(args.video, backend=options.backend, fps=options.frame_rate):
        pass


def sampler_from_args(args: argparse.Namespace) -> Any:
    """Build the sampler the parsed options ask for."""
    from gens_tools.samplers._registry import make_sampler

    options: dict[str, Any] = {"window_size": args.window_size}
    if args.sampler in ("gens-3b", "gens", "similarity"):
        options.update(model=args.model, device=args.device, dtype=args.dtype)
    elif args.sampler == "remote":
        if not args.base_url or not args.model:
            raise GensToolsError("--sampler remote needs --base-url URL and --model NAME")
        options.update(base_url=args.base_url, model=args.model, concurrency=args.concurrency)
    return make_sampler(args.sampler, **options)


def _selection_table(selection: Any) -> str:
    lines = [f"{len(selection.frames)} frames from {selection.video} (sampler: {selection.sampler})"]
    lines.append(f"{'#':>3}  {'time':>10}  {'seconds':>9}  {'score':>5}  file")
    for n, frame in enumerate(selection.frames):
        score = "-" if frame.score is None else f"{frame.score:g}"
        path = str(frame.path) if frame.path else ""
        lines.append(f"{n:>3}  {frame.label:>10}  {frame.timestamp:>9.3f}  {score:>5}  {path}")
    if selection.spans:
        top = sorted(selection.spans, key=lambda s: (-s.score, s.start))[:8]
        spans = ", ".join(f"{s.start:.0f}-{s.end:.0f}s:{s.score:g}" for s in sorted(top, key=lambda s: s.start))
        lines.append(f"relevant spans: {spans}")
    for a, b in selection.lost_spans:
        lines.append(f"warning: could not decode {a:.1f}s-{b:.1f}s of the video")
    unscored = [w.index for w in selection.windows if not w.scored]
    if unscored and selection.sampler != "uniform":
        lines.append(f"warning: {len(unscored)} window(s) could not be scored: {unscored}")
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in selection.timings.items())
    lines.append(f"timings: {timings}")
    return "\n".join(lines)


def _cmd_sample(args: argparse.Namespace) -> int:
    from gens_tools.pipeline._sample import sample_frames

    if args.report:
        from gens_tools.report import require_report_backend

        require_report_backend()  # a missing extra is reported before any model loads
    check_video(args)
    sampler = sampler_from_args(args)
    bars = progress_bars(args.quiet, force=args.progress)
    try:
        selection = sample_frames(
            args.video,
            args.question,
            sampler=sampler,
            k=args.k,
            start=args.start,
            end=args.end,
            options=options_from_args(args),
            progress=bars,
        )
    finally:
        bars.close()
        sampler.close()
    if args.out:
        selection.save(args.out)
    if args.report:
        from gens_tools.report import save_report

        save_report(args.report, selection)
    if args.json:
        print(selection.to_json(images="paths" if args.out else "none"))
    else:
        print(_selection_table(selection))
        if args.out:
            print(f"wrote {len(selection.frames)} frames and selection.json to {args.out}")
        if args.report:
            print(f"wrote the report to {args.report}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from gens_tools.video import open_video

    with open_video(args.video, backend=args.backend) as reader:
        info = reader.info
    data = {
        "source": info.source,
        "duration": info.duration,
        "fps": info.fps,
        "width": info.width,
        "height": info.height,
        "rotation": info.rotation,
        "codec": info.codec,
        "n_frames": info.n_frames,
        "container": info.container,
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:>10}: {value}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from gens_tools.synthetic import make_demo_video

    path = make_demo_video(args.path, duration=args.duration)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (with the plugin subcommands whose modules import)."""
    parser = argparse.ArgumentParser(
        prog="gens-tools", description="Relevant, timestamped frames of long videos for LLM agents (GenS)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("sample", help="choose the frames most relevant to a question")
    add_selection_options(p)
    add_sampler_options(p)
    p.add_argument("--out", help="write the chosen frames as JPEG files and selection.json here")
    p.add_argument("--json", action="store_true", help="print the selection as JSON")
    p.add_argument(
        "--report",
        type=report_arg,
        metavar="FILE",
        help="write a visual report of the selection: FILE.html (one self-contained page) or FILE.png "
        "(needs the report extra)",
    )
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("info", help="show a video's metadata")
    p.add_argument("video")
    p.add_argument("--backend", default="auto", choices=["auto", "pyav", "decord"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("demo", help="generate a demo video (offline) to try gens-tools on")
    p.add_argument("path", help="where to write the video, e.g. demo.mp4")
    p.add_argument("--duration", type=float, default=180.0, help="seconds (default: 180)")
    p.set_defaults(func=_cmd_demo)

    for module_name in _PLUGIN_COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        register: Callable[[Any], None] = module.register
        register(sub)
    return parser


def _version() -> str:
    from gens_tools import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 error, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except GensToolsError as exc:
        print(f"gens-tools: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gens-tools: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a closed reader (e.g. `| head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1

