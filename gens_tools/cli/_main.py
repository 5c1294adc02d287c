"""The ``gens-tools`` command line: ``sample`` frames, ``info`` about a video, make a ``demo`` video, plus the
``ask`` (assistants) and ``convert`` (GenS-Aria checkpoints) commands registered by their own modules."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from gens_tools._timeparse import parse_time
from gens_tools.errors import FallbackWarning, GensToolsError, InvalidArgumentError
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressEvent
from gens_tools.samplers._describe import REQUIRED

if TYPE_CHECKING:
    from gens_tools.samplers._describe import SamplerOption

#: Modules that add their own subcommands through ``register(subparsers)``.
_PLUGIN_COMMANDS = (
    "gens_tools.cli._ask",
    "gens_tools.cli._convert",
    "gens_tools.cli._eval",
    "gens_tools.cli._batch",
    "gens_tools.cli._mcp",
    "gens_tools.cli._cache",
)


class _Bars:
    """tqdm progress bars (on stderr, only when it is a terminal) driven by progress events.

    A bar is redrawn at most every :attr:`min_interval` seconds (and when its stage completes), however many
    events arrive: a two-hour video sends 7,200 decode events, which redrawn one by one would write about a
    megabyte to the terminal (or a log).
    """

    #: Seconds between two redraws of one bar.
    min_interval: ClassVar[float] = 0.5

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bars: dict[str, Any] = {}
        self._drawn: dict[str, float] = {}  # stage -> when its bar was last redrawn (monotonic seconds)

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
            bar = tqdm(
                total=event.total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
                mininterval=self.min_interval,
            )
            self._bars[event.stage] = bar
        bar.n = event.done
        now = time.monotonic()
        finished = event.total is not None and event.done >= event.total
        if not finished and now - self._drawn.get(event.stage, -math.inf) < self.min_interval:
            return
        self._drawn[event.stage] = now
        if event.message:
            bar.set_postfix_str(event.message, refresh=False)
        bar.refresh()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
        self._drawn.clear()


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
    """The options that choose and configure a sampler (shared by ``sample`` and ``ask``): ``--sampler`` and
    a flag for every option of every registered sampler, built from the samplers' constructors (an option
    several samplers take is one flag).

    The option flags are added when the command line is parsed or its help is shown, after every flag of the
    command itself: a flag the command has stays the command's, and the sampler option takes its sampler's
    name as a prefix (``--remote-max-side`` in ``sample``, whose ``--max-side`` is the decoding size;
    ``--remote-timeout`` in ``ask``, whose ``--timeout`` is the assistant's)."""
    from gens_tools.samplers._registry import sampler_names

    group = parser.add_argument_group("sampler", "each option applies to the samplers named in its help")
    group.add_argument(
        "--sampler",
        default="auto",
        choices=sampler_names(),
        help="frame sampler (default: auto — GenS when it can run here, else uniform sampling, said on stderr; "
        "`gens-tools samplers` lists them with their options)",
    )
    pending = [True]

    def add_flags() -> None:
        if pending:
            pending.clear()
            _add_sampler_flags(parser, group)

    for method in ("parse_known_args", "format_help", "format_usage"):
        setattr(parser, method, _first(add_flags, getattr(parser, method)))


def _first(before: Callable[[], None], method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, calling ``before()`` first."""

    def call(*args: Any, **kwargs: Any) -> Any:
        before()
        return method(*args, **kwargs)

    return call


def _add_sampler_flags(parser: argparse.ArgumentParser, group: argparse._ArgumentGroup) -> None:
    flags: dict[str, str] = {}
    for flag in _sampler_flags():
        kinds = {(o.kind, o.choices) for o in flag.options.values()}
        kind, choices = next(iter(kinds))
        settings: dict[str, Any] = {"dest": flag.dest, "default": None, "help": flag.help()}
        if len(kinds) == 1 and kind == "bool":
            settings["action"] = argparse.BooleanOptionalAction
        elif len(kinds) == 1 and kind is None:
            settings["choices"] = choices
        else:
            settings["metavar"] = _METAVARS.get(kind or "", "VALUE") if len(kinds) == 1 else "VALUE"
        for name in (flag.flag, f"--{next(iter(flag.options))}-{flag.flag[2:]}"):
            try:
                group.add_argument(name, **settings)
            except argparse.ArgumentError:
                continue  # the command has a flag of that name: try the sampler-prefixed form
            flags[flag.name] = name
            break
    parser.set_defaults(sampler_option_flags=flags)


_METAVARS = {"int": "N", "float": "X", "str": "TEXT"}


@dataclass(frozen=True, slots=True)
class _SamplerFlag:
    """One command-line flag for an option that one or more samplers take."""

    name: str
    options: dict[str, SamplerOption]  # sampler name → its declaration of the option

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return f"sampler:{self.name}"

    def help(self) -> str:
        """The first sentence of each sampler's help, those with the same text together."""
        by_text: dict[str, list[str]] = {}
        for sampler, option in self.options.items():
            text = re.split(r"\.\s+(?=[A-Z])", option.help)[0].rstrip(".") or option.name.replace("_", " ")
            if option.default is not REQUIRED and option.default is not None and "default" not in text:
                text += f" (default: {option.default})"
            by_text.setdefault(text, []).append(sampler)
        return "; ".join(f"{', '.join(names)}: {text}" for text, names in by_text.items()).replace("%", "%%")


def _sampler_flags() -> list[_SamplerFlag]:
    """A flag for each option of the registered samplers that can be given as text (samplers whose module
    cannot be imported here contribute none)."""
    from gens_tools.samplers._describe import shared_options
    from gens_tools.samplers._registry import sampler_class, sampler_names

    classes = []
    for name in sampler_names():
        try:
            classes.append((name, sampler_class(name)))
        except GensToolsError:
            continue
    return [_SamplerFlag(name, options) for name, options in shared_options(classes).items()]


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


def in_flags(message: str, flags: Mapping[str, str]) -> str:
    """``message`` with each Python argument name of ``flags`` (``max_side``, or a field of one:
    ``budget.context_window``) that it names as the subject of a problem replaced by its command-line flag
    (``--max-side``), for a one-line CLI error."""
    names = sorted((n for n in flags if all(p.isidentifier() for p in n.split("."))), key=len, reverse=True)
    if not names:
        return message
    pattern = re.compile(r"(?<![\w.'\"-])(" + "|".join(map(re.escape, names)) + r")(?=\s+must\b|\s*=|\s+\(|:\s)")
    return pattern.sub(lambda m: flags[m.group(1)], message)


def reworded(exc: InvalidArgumentError, flags: Mapping[str, str]) -> InvalidArgumentError:
    """``exc`` again, its message naming the command-line flags the user gave rather than Python arguments."""
    text = in_flags(str(exc), flags)
    if text == str(exc):
        return exc
    again = type(exc)(text) if type(exc).__init__ is InvalidArgumentError.__init__ else InvalidArgumentError(text)
    return again


def _sampling_flags() -> dict[str, str]:
    return {info.name: info.flag for info in SamplingOptions.describe() if info.flag}


def options_from_args(args: argparse.Namespace) -> SamplingOptions:
    """The :class:`~gens_tools.SamplingOptions` the parsed flags ask for (flags not given keep the defaults).

    Raises:
        InvalidArgumentError: a value the option cannot take, worded with its flag (``--max-side must be…``).
    """
    given = {name: getattr(args, name) for name in SamplingOptions.names() if getattr(args, name, None) is not None}
    try:
        return SamplingOptions.build(None, **given)
    except InvalidArgumentError as exc:
        raise reworded(exc, _sampling_flags()) from None


def check_video(args: argparse.Namespace) -> None:
    """Open the video once (cheap: metadata and the first frame) so that a missing or unreadable video is
    reported before a sampler loads gigabytes of model weights."""
    from gens_tools.video import open_video

    options = options_from_args(args)
    with open_video(args.video, backend=options.backend, fps=options.frame_rate):
        pass


def sampler_from_args(args: argparse.Namespace) -> Any:
    """Build the sampler the parsed options ask for, with only its own options.

    Raises:
        InvalidArgumentError: a flag of another sampler (``--concurrency`` with ``--sampler gens-3b``), a
            required option missing, or a value the sampler's option cannot take.
    """
    from gens_tools.samplers._registry import make_sampler, sampler_class

    name = args.sampler
    own = {option.name: option for option in sampler_class(name).describe_options()}
    flags: dict[str, str] = getattr(args, "sampler_option_flags", {})
    given = {f.name: (f, value) for f in _sampler_flags() if (value := getattr(args, f.dest, None)) is not None}
    foreign = [f for option, (f, _) in given.items() if own.get(option) is None or own[option].flag is None]
    if foreign:
        takers = sorted({sampler for f in foreign for sampler in f.options})
        named = ", ".join(flags.get(f.name, f.flag) for f in foreign)
        verb = "does" if len(foreign) == 1 else "do"
        raise InvalidArgumentError(f"{named} {verb} not apply to --sampler {name} (an option of: {', '.join(takers)})")
    missing = [o for o in own.values() if o.required and o.name not in given]
    if missing:
        needs = " and ".join(flags.get(o.name, o.name) for o in missing)
        raise InvalidArgumentError(f"--sampler {name} needs {needs}")
    as_flags = {option: flags.get(option, f.flag) for option, (f, _) in given.items()}
    try:
        options = {key: own[key].parse(value) if isinstance(value, str) else value for key, (_, value) in given.items()}
        return make_sampler(name, **options)
    except InvalidArgumentError as exc:
        raise reworded(exc, as_flags) from None


def say_sampler_info(sampler: Any) -> None:
    """One line on stderr about what the chosen sampler is about to do (``auto`` downloading GenS-3B)."""
    info = getattr(sampler, "info", None)
    if info:
        print(f"gens-tools: {info}", file=sys.stderr)


def say_notices(notices: Sequence[str]) -> None:
    """Each notice of a selection (a fallback, said every time) as one line on stderr."""
    for notice in notices:
        print(f"gens-tools: note: {notice}", file=sys.stderr)


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
    say_sampler_info(sampler)
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
    say_notices(selection.notices)
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


def _cmd_samplers(args: argparse.Namespace) -> int:
    from gens_tools.samplers._registry import BUILT_IN, sampler_class, sampler_entries

    entries = [e for e in sampler_entries() if args.name in (None, e.name)]
    if not entries:
        raise InvalidArgumentError(f"no sampler is registered as {args.name!r}")
    listing = []
    for entry in entries:
        item: dict[str, Any] = {"name": entry.name, "origin": entry.origin, "extra": entry.extra}
        try:
            cls = sampler_class(entry.name)
        except GensToolsError as exc:
            item["error"] = str(exc)
            listing.append(item)
            continue
        item["class"] = f"{cls.__module__}.{cls.__qualname__}"
        item["summary"] = (inspect.getdoc(cls) or "").split("\n")[0]
        item["options"] = [
            {
                "name": o.name,
                "flag": o.flag,
                "type": o.annotation,
                "required": o.required,
                "default": None if o.required or o.secret else o.default,
                "help": o.help,
            }
            for o in cls.describe_options()
        ]
        listing.append(item)
    if args.json:
        print(json.dumps(listing, indent=2, default=repr))
        return 0
    for n, item in enumerate(listing):
        origin = "built in" if item["origin"] == BUILT_IN else f"from {item['origin']}"
        extra = f"; needs pip install 'gens-tools[{item['extra']}]'" if item["extra"] else ""
        print(("\n" if n else "") + f"{item['name']}  ({origin}{extra})")
        if "error" in item:
            print(f"    cannot be loaded here: {item['error']}")
            continue
        print(f"    {item['summary']}")
        api_only = []
        for option in item["options"]:
            if option["flag"] is None:
                api_only.append(option["name"])
                continue
            shown = repr(option["default"]) if isinstance(option["default"], str) else str(option["default"])
            if option["required"]:
                shown = " [required]"
            elif option["default"] is None or len(shown) > 40:
                shown = ""
            else:
                shown = f" [default: {shown}]"
            print(f"    {option['flag']:<26} {option['help']}{shown}")
        if api_only:
            print(f"    Python API only: {', '.join(api_only)}")
    print(
        "\nWhere a command has a flag of its own by an option's name, the sampler's flag takes the sampler's name "
        "as a prefix\n(`gens-tools sample --help`: --remote-max-side, as --max-side is the decoding size)."
    )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from gens_tools.frames import format_timestamp
    from gens_tools.video import open_video

    with open_video(args.video, backend=args.backend, fps=args.frame_rate) as reader:
        info = reader.info
    estimated = None
    if info.n_frames is None and info.fps:
        # Matroska/WebM (and some streams) store no frame count: the rate times the length is close.
        estimated = round(info.duration * info.fps)
    data = {
        "source": info.source,
        "duration": info.duration,
        "fps": info.fps,
        "width": info.width,
        "height": info.height,
        "rotation": info.rotation,
        "codec": info.codec,
        "n_frames": info.n_frames,
        "n_frames_estimate": estimated,
        "container": info.container,
        "units": {
            "duration": "seconds",
            "fps": "frames per second",
            "width": "pixels",
            "height": "pixels",
            "rotation": "degrees counter-clockwise",
        },
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    if info.n_frames is not None:
        frames = f"{info.n_frames:,}"
    elif estimated is not None:
        frames = f"about {estimated:,} (duration × fps: the container stores no frame count)"
    else:
        frames = "unknown"
    rows = [
        ("source", info.source),
        ("duration", f"{info.duration:.3f} s ({format_timestamp(info.duration)})"),
        ("fps", f"{info.fps:g} frames/s" if info.fps else "unknown (frames are not evenly spaced)"),
        ("size", f"{info.width} × {info.height} px (as displayed)"),
        ("rotation", f"{info.rotation}° (applied to the frames)" if info.rotation else "none"),
        ("codec", info.codec),
        ("n_frames", frames),
        ("container", info.container or "unknown"),
    ]
    for key, value in rows:
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
    p.add_argument("video", help="video file, folder of frame images, or http(s) URL")
    p.add_argument("--backend", default="auto", choices=["auto", "pyav", "decord"], help="video decoder for files")
    p.add_argument(
        "--frame-rate",
        type=float,
        metavar="FPS",
        help="frames per second of a folder of frame images whose file names do not state times",
    )
    p.add_argument("--json", action="store_true", help="print the metadata as JSON (times in seconds)")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("samplers", help="list the frame samplers and their options")
    p.add_argument("name", nargs="?", help="only this sampler")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=_cmd_samplers)

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


def _command_flags(parser: argparse.ArgumentParser, command: str | None) -> dict[str, str]:
    """``{dest: flag}`` of the options of subcommand ``command`` (its longest option string), for rewording
    errors; sampler option flags are reworded where samplers are built (:func:`sampler_from_args`)."""
    flags: dict[str, str] = {}
    for action in parser._actions:  # argparse lists subcommands only through its actions
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            for option in action.choices[command]._actions:
                if option.option_strings and not option.dest.startswith("sampler:") and option.dest != "help":
                    flags.setdefault(option.dest, max(option.option_strings, key=len))
    return flags


def _os_error_text(exc: OSError) -> str:
    """An :class:`OSError` in one line: what failed and the (shortened) file name."""
    what = exc.strerror or type(exc).__name__
    name = exc.filename
    if name is None:
        return what if exc.strerror else f"{what}: {exc}"
    shown = os.fsdecode(name) if isinstance(name, bytes | str) else str(name)
    if len(shown) > 120:
        shown = shown[:60] + "…" + shown[-40:]
    return f"{what}: {shown!r}"


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
        with warnings.catch_warnings():
            # Fallbacks are printed as one plain line each (say_notices), not as Python warnings.
            warnings.simplefilter("ignore", FallbackWarning)
            return int(args.func(args) or 0)
    except GensToolsError as exc:
        text = str(exc)
        if isinstance(exc, InvalidArgumentError):
            text = in_flags(text, _command_flags(parser, args.command))
        print(f"gens-tools: error: {text}", file=sys.stderr)
        return 1
    except OSError as exc:
        # What the system refused (a name over 255 bytes, a full disk, no permission): one line, no traceback.
        print(f"gens-tools: error: {_os_error_text(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gens-tools: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into a closed reader (e.g. `| head`): not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
