"""Decode benchmark: 1 fps frames at <= 448 px from an hour-long video, gens-tools vs FFmpeg vs decord.

Makes (once, cached under ``benchmarks/.data``) a 60-minute and a 10-minute 640×360 H.264 video at 30 fps
(B-frames, a keyframe every 250 frames), then runs each method in a fresh child process and reports its wall
time, CPU time, cores kept busy (CPU / wall) and peak resident memory (``ru_maxrss`` of that child):

* ``ffmpeg``: ``ffmpeg -threads 2 -i video -f null -``, a full decode of every frame: the ceiling for exact
  1 fps frames when keyframes are 8 s apart (each target needs the frames before it decoded);
* ``pipeline``: the real pipeline, ``sample_frames`` with a sampler that needs pictures (it looks at every
  one, cheaply) and a fresh frame cache: decoding, cache writes and windows streamed to the sampler, default
  settings (frames no grid point needs are skipped); a second question is then answered from the cache;
* ``pipeline --full-decode``: the same with ``skip_frames=False`` (every frame decoded);
* ``reader`` / ``reader --full-decode``: decoding alone, ``open_video(path).iter_frames(grid, max_side=448)``,
  every frame taken as a PIL image; the timestamps both return are compared, grid point by grid point;
* ``gens-tools[decord]``: the same through gens-tools' decord backend (chunked ``get_batch``);
* ``decord``: what users typically write: ``VideoReader(path, width=448, height=252)`` and one ``get_batch``
  of the 1 fps frame indices, each frame then made a PIL image.

It also reports the frame cache entry's size against the source file — at the frame size the default sampler
reads (GenS-3B's 224 px, what the cache holds at default settings) and at 448 px — and the fidelity (PSNR, dB) of
cached frames against the decoded ones.

Run from the repository root::

    python benchmarks/decode.py            # the real run (~15 minutes on 2 cores, ~1.5 GB for decord)
    python benchmarks/decode.py --quick    # 2-minute and 1-minute videos: a smoke run
    python benchmarks/decode.py --video my.mp4 --short-video my10min.mp4

Timings depend on the machine and on what else runs on it: the load average before and after is printed;
compare ratios measured in the same run, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SIZE = (640, 360)
FPS = 30
GOP = 250
MAX_SIDE = 448

# --------------------------------------------------------------------------------------------- videos


def _ensure_data_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if path == DATA and not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")  # keep generated videos out of git


def make_video(path: Path, seconds: int, *, size: tuple[int, int] = SIZE, fps: int = FPS, gop: int = GOP) -> Path:
    """Write a ``seconds``-long H.264 video with moving, textured content (cached: reused if present).

    The picture is a large smooth random texture panning in both directions, a bright square moving over it
    and a slowly changing colour wash: motion everywhere, so the decoder works like on real footage.
    """
    if path.exists():
        return path
    import av
    import numpy as np

    _ensure_data_dir(path.parent)
    width, height = size
    rng = np.random.default_rng(2503)
    big_h, big_w = height * 2, width * 2
    noise = rng.integers(0, 256, (big_h // 8 + 1, big_w // 8 + 1), dtype=np.uint8)
    blocks = np.kron(noise, np.ones((8, 8), dtype=np.uint8))[:big_h, :big_w].astype(np.float32)
    # soften the 8-px blocks a little so the content is not a pure block pattern
    soft = (blocks + np.roll(blocks, 3, 0) + np.roll(blocks, 3, 1) + np.roll(blocks, (5, 5), (0, 1))) / 4
    texture = np.tile(soft.astype(np.uint8), (2, 2))
    cw, ch = width // 2, height // 2
    yy, xx = np.mgrid[0:ch, 0:cw]
    tmp = path.with_name(path.stem + ".partial" + path.suffix)
    n = seconds * fps
    started = time.perf_counter()
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(
            "libx264",
            rate=fps,
            options={"preset": "veryfast", "crf": "23", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"},
        )
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        yuv = np.empty((height * 3 // 2, width), dtype=np.uint8)
        for i in range(n):
            ox = (i * 3) % big_w
            oy = (i * 2) % big_h
            y = yuv[:height]
            y[:] = texture[oy : oy + height, ox : ox + width]
            sx = int((width - 60) * (0.5 + 0.5 * np.sin(i / 45)))
            sy = int((height - 60) * (0.5 + 0.5 * np.cos(i / 70)))
            y[sy : sy + 60, sx : sx + 60] = 235
            phase = i / (fps * 20)
            u = (128 + 60 * np.sin(xx / 37 + phase)).astype(np.uint8)
            v = (128 + 60 * np.cos(yy / 23 - phase)).astype(np.uint8)
            yuv[height : height + height // 4] = u.reshape(height // 4, width)
            yuv[height + height // 4 :] = v.reshape(height // 4, width)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
            if i and i % (fps * 300) == 0:
                print(
                    f"  … {path.name}: {i // fps}/{seconds} s written ({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
        for packet in stream.encode(None):
            container.mux(packet)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------- children


def _grid(duration: float) -> list[float]:
    from gens_tools.video._base import VideoInfo, sampling_grid

    return sampling_grid(VideoInfo("", duration, None, 0, 0, ""), 1.0)


def child_reader(video: str, backend: str, skip_frames: bool) -> dict[str, object]:
    """Decoding alone: 1 fps through gens-tools' reader; every frame's timestamp is reported."""
    from gens_tools.video import open_video, sampling_grid

    t0 = time.perf_counter()
    with open_video(video, backend=backend, skip_frames=skip_frames) as reader:
        grid = sampling_grid(reader.info, 1.0)
        times: list[float | None] = [None] * len(grid)
        size = None
        for frame in reader.iter_frames(grid, max_side=MAX_SIDE):
            assert frame.image is not None
            assert frame.index is not None
            size = frame.image.size
            times[frame.index] = frame.timestamp
        stats = getattr(reader, "stats", None)
    result: dict[str, object] = {
        "frames": sum(t is not None for t in times),
        "expected": len(grid),
        "size": size,
        "work_s": time.perf_counter() - t0,
        "timestamps": times,
        "grid": grid,
    }
    if stats is not None:
        result.update(decoded=stats.decoded, workers=stats.workers, segments=stats.segments)
    return result


#: The frame size the default sampler reads (GenS-3B, also the hybrid strategy's with SigLIP): what the frame
#: cache stores at default settings.
DEFAULT_SAMPLER_SIDE = 224


def _picture_sampler(side: int = MAX_SIDE) -> Any:
    """A sampler that needs pictures and looks at each one (its mean brightness on a 16-px thumbnail): it
    stands for a model without costing one, so the pipeline's own work is what is measured."""
    from gens_tools.samplers._base import FrameSampler, Window, WindowScores

    class PictureSampler(FrameSampler):
        name = "pictures"
        window_size = 256
        needs_images = True
        preferred_max_side = side

        def score_window(self, window: Window, question: str) -> WindowScores:
            scores = []
            for frame in window.frames:
                assert frame.image is not None
                thumb = frame.image.reduce(16)
                scores.append(float(sum(thumb.convert("L").tobytes()) % 5))
            return WindowScores(window.index, scores)

    return PictureSampler()


def _psnr(a: Any, b: Any) -> float:
    import numpy as np

    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mse = float((diff**2).mean())
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


def child_pipeline(video: str, skip_frames: bool, cache_dir: str, side: int = MAX_SIDE) -> dict[str, object]:
    """The real pipeline, one question, with an empty frame cache in ``cache_dir``, frames decoded at ``side``."""
    from gens_tools import sample_frames
    from gens_tools.video import FrameCache

    store = FrameCache(cache_dir, max_bytes=None)
    t0 = time.perf_counter()
    selection = sample_frames(
        video, "what happens?", sampler=_picture_sampler(side), k=16, cache=store, skip_frames=skip_frames
    )
    entries = store.entries()
    return {
        "frames": selection.n_candidates,
        "expected": entries[0].n_targets if entries else None,
        "work_s": time.perf_counter() - t0,
        "timings": {k: round(v, 2) for k, v in selection.timings.items()},
        "cache_bytes": store.total_bytes(),
        "source_bytes": os.path.getsize(video),
    }


def child_cache_check(video: str, cache_dir: str) -> dict[str, object]:
    """After ``child_pipeline``: a second question answered from the cache, and the fidelity of cached frames
    against the decoder's own at 24 grid points spread over the video."""
    from gens_tools import sample_frames
    from gens_tools.video import FrameCache, open_video

    store = FrameCache(cache_dir, max_bytes=None)
    t0 = time.perf_counter()
    sample_frames(video, "something else?", sampler=_picture_sampler(), k=16, cache=store)
    replay = time.perf_counter() - t0
    entry = store.entries()[0]
    picks = [entry.indices[i * (len(entry.indices) - 1) // 23] for i in range(24)]
    stored = {f.index: f.image for f in store.load(entry.key, picks)}
    with open_video(video) as reader:
        decoded = {
            picks[f.index or 0]: f.image for f in reader.iter_frames([float(i) for i in picks], max_side=MAX_SIDE)
        }
    values = [_psnr(stored[i], decoded[i]) for i in picks if i in stored and i in decoded]
    return {"replay_s": replay, "psnr_mean": sum(values) / len(values), "psnr_min": min(values)}


def _coded_size(video: str) -> tuple[int, int]:
    import av

    with av.open(video) as container:
        ctx = container.streams.video[0].codec_context
        return ctx.width, ctx.height


def child_decord(video: str) -> dict[str, object]:
    """The usual decord recipe: one get_batch of the 1 fps frame indices, then PIL images."""
    import decord
    from PIL import Image

    w, h = _coded_size(video)
    t0 = time.perf_counter()
    scale = MAX_SIDE / max(w, h)
    vr = decord.VideoReader(video, ctx=decord.cpu(0), width=round(w * scale), height=round(h * scale))
    fps = vr.get_avg_fps()
    indices = [min(round(t * fps), len(vr) - 1) for t in _grid(len(vr) / fps)]
    batch = vr.get_batch(indices).asnumpy()
    images = [Image.fromarray(a) for a in batch]
    return {"frames": len(images), "expected": len(indices), "size": images[0].size, "work_s": time.perf_counter() - t0}


def run_child(argv: list[str]) -> dict[str, object]:
    """Run one measured command in a fresh process; wall time, CPU time and that process's peak RSS.

    ``ru_maxrss`` of a child also counts what it inherited at fork, before ``exec``: this (parent) process
    therefore imports nothing heavy (no numpy, PyAV or decord) so that share stays ~10 MB. Its output goes to
    files (no pipe to fill up), and ``os.wait4`` reaps it with its own resource usage.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    result: dict[str, object] = {
        "wall_s": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rc": proc.returncode,
    }
    if proc.returncode != 0:
        result["error"] = (stderr.strip().splitlines() or ["?"])[-1][:200]
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


# --------------------------------------------------------------------------------------------- report

CHECK_FIELDS = ("replay_s", "psnr_mean", "psnr_min")
METHODS = (
    "ffmpeg",
    "pipeline",
    "pipeline --full-decode",
    "reader",
    "reader --full-decode",
    "gens-tools[decord]",
    "decord",
)


@dataclass
class Row:
    method: str
    video: str
    result: dict[str, object]

    def cells(self) -> list[str]:
        r = self.result
        frames = f"{r['frames']}/{r['expected']}" if "frames" in r else "-"
        ok = r.get("rc") == 0
        wall = f"{r['wall_s']:.1f}" if ok else f"failed: {r.get('error', '')}"
        walls = r.get("walls")
        if isinstance(walls, list) and len(walls) > 1:
            wall += " (" + ", ".join(f"{w:.1f}" for w in walls) + ")"
        work = f"{r['work_s']:.1f}" if "work_s" in r else "-"
        cpu = float(r["cpu_s"])  # type: ignore[arg-type]
        busy = f"{cpu / float(r['wall_s']):.2f}" if ok and float(r["wall_s"]) > 0 else "-"  # type: ignore[arg-type]
        decoded = str(r.get("decoded", "-"))
        return [self.method, self.video, wall, work, f"{cpu:.1f}", busy, f"{r['rss_mb']:.0f}", frames, decoded]


def _best(results: list[dict[str, object]]) -> dict[str, object]:
    """Several runs of one method: the fastest run's figures, with the largest peak RSS seen."""
    ok = [r for r in results if r.get("rc") == 0]
    if not ok:
        return results[-1]
    best = dict(min(ok, key=lambda r: float(r["wall_s"])))  # type: ignore[arg-type]
    best["rss_mb"] = max(float(r["rss_mb"]) for r in ok)  # type: ignore[arg-type]
    best["walls"] = [round(float(r["wall_s"]), 1) for r in results]  # type: ignore[arg-type]
    for r in ok:
        best.update({k: r[k] for k in CHECK_FIELDS if k in r})
    return best


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    for mod in ("av", "decord", "PIL"):
        try:
            m = __import__(mod)
            parts.append(f"{mod} {getattr(m, '__version__', '?')}")
        except ImportError:
            parts.append(f"{mod} missing")
    ff = shutil.which("ffmpeg")
    if ff:
        first = subprocess.run([ff, "-version"], capture_output=True, text=True).stdout.splitlines()[:1]
        parts.append(first[0].split(" Copyright")[0] if first else "ffmpeg ?")
    return ", ".join(parts)


def _line(name: str, value: float | None, target: str, ok: bool | None, fmt: str = "{:.2f}") -> str:
    shown = "n/a" if value is None else fmt.format(value)
    verdict = "" if ok is None else (" ✅" if ok else " ❌ missed")
    return f"| {name} | {shown} | {target}{verdict} |"


def _timestamp_report(skip: dict[str, object] | None, full: dict[str, object] | None) -> list[str]:
    """How the skipping reader's timestamps compare with the full decode's and with the grid."""
    if not skip or skip.get("rc") != 0 or "timestamps" not in skip:
        return []
    grid = skip["grid"]
    times = skip["timestamps"]
    assert isinstance(grid, list)
    assert isinstance(times, list)
    lags = [g - t for g, t in zip(grid, times, strict=True) if t is not None]
    lines = [
        f"skipping reader: {len(lags)}/{len(grid)} grid points got a frame; target − frame time: max "
        f"{max(lags) * 1000:.1f} ms, mean {sum(lags) / len(lags) * 1000:.1f} ms (one frame = "
        f"{1000 / FPS:.1f} ms); no frame after its target: {all(lag >= -1e-6 for lag in lags)}"
    ]
    full_times = full.get("timestamps") if full and full.get("rc") == 0 else None
    if isinstance(full_times, list):
        same = sum(a == b for a, b in zip(times, full_times, strict=True))
        lines.append(f"skipping vs full decode: {same}/{len(grid)} grid points got the same frame (same timestamp)")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--video", type=Path, help="the long video (default: a generated 60-min one)")
    parser.add_argument("--short-video", type=Path, help="the short video (default: a generated 10-min one)")
    parser.add_argument("--quick", action="store_true", help="2-min and 1-min videos (smoke run)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where generated videos are kept")
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated subset of: {', '.join(METHODS)}")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per method (interleaved); the table shows the fastest, with the largest RSS",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="pyav", help=argparse.SUPPRESS)
    parser.add_argument("--full-decode", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)
    parser.add_argument("--side", type=int, default=MAX_SIDE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "make":
            make_video(args.video, args.seconds)
            return 0
        if args.child == "reader":
            result = child_reader(str(args.video), args.backend, skip_frames=not args.full_decode)
        elif args.child == "pipeline":
            result = child_pipeline(
                str(args.video), skip_frames=not args.full_decode, cache_dir=args.cache_dir, side=args.side
            )
        elif args.child == "cache-check":
            result = child_cache_check(str(args.video), args.cache_dir)
        elif args.child == "decord":
            result = child_decord(str(args.video))
        else:
            raise SystemExit(f"unknown child {args.child}")
        print(json.dumps(result))
        return 0

    long_s, short_s = (120, 60) if args.quick else (3600, 600)
    videos: dict[str, Path] = {}
    for label, given, seconds in (("long", args.video, long_s), ("short", args.short_video, short_s)):
        if given is not None:
            videos[label] = given
        else:
            name = f"h264_{SIZE[0]}x{SIZE[1]}_{FPS}fps_gop{GOP}_{seconds}s.mp4"
            path = args.data_dir / name
            if not path.exists():
                # made in a child process: this process stays small, so that the peak RSS the children
                # inherit at fork time is negligible
                print(f"making {path} (once)…", file=sys.stderr)
                _ensure_data_dir(path.parent)
                subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--child",
                        "make",
                        "--video",
                        str(path),
                        "--seconds",
                        str(seconds),
                    ],
                    check=True,
                )
            videos[label] = path
    label_of = {
        "long": f"{long_s // 60} min" if args.video is None else args.video.name,
        "short": f"{short_s // 60} min" if args.short_video is None else args.short_video.name,
    }

    me = [sys.executable, str(Path(__file__).resolve())]
    commands = {
        "pipeline": lambda v: [*me, "--child", "pipeline", "--video", str(v)],
        "pipeline --full-decode": lambda v: [*me, "--child", "pipeline", "--full-decode", "--video", str(v)],
        "reader": lambda v: [*me, "--child", "reader", "--video", str(v)],
        "reader --full-decode": lambda v: [*me, "--child", "reader", "--full-decode", "--video", str(v)],
        "gens-tools[decord]": lambda v: [*me, "--child", "reader", "--backend", "decord", "--video", str(v)],
        "decord": lambda v: [*me, "--child", "decord", "--video", str(v)],
    }
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        commands["ffmpeg"] = lambda v: [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-threads",
            "2",
            "-i",
            str(v),
            "-f",
            "null",
            "-",
        ]
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "decord" in wanted or "gens-tools[decord]" in wanted:
        try:
            import importlib.util

            if importlib.util.find_spec("decord") is None:
                raise ImportError
        except ImportError:
            commands.pop("decord", None)
            commands.pop("gens-tools[decord]", None)
    load_before = _loadavg()
    runs: dict[tuple[str, str], list[dict[str, object]]] = {}
    for label in ("long", "short"):
        for rep in range(args.repeat):  # interleaved, so that changing load hits every method alike
            for method in wanted:
                if method not in commands:
                    if rep == 0 and label == "long":
                        print(f"skipping {method}: not available here", file=sys.stderr)
                    continue
                if label == "short" and method in ("decord", "gens-tools[decord]", "reader --full-decode"):
                    continue  # the short video is for the memory ratio of gens-tools' own paths
                print(
                    f"running {method} on the {label_of[label]} video (run {rep + 1}/{args.repeat})…", file=sys.stderr
                )
                argv_ = commands[method](videos[label])
                if not method.startswith("pipeline"):
                    runs.setdefault((method, label_of[label]), []).append(run_child(argv_))
                    continue
                with tempfile.TemporaryDirectory(prefix="gens-bench-cache-") as cache_dir:
                    measured = run_child([*argv_, "--cache-dir", cache_dir])
                    if method == "pipeline" and label == "long" and rep == 0 and measured.get("rc") == 0:
                        check = run_child(
                            [*me, "--child", "cache-check", "--video", str(videos[label]), "--cache-dir", cache_dir]
                        )
                        measured.update({k: v for k, v in check.items() if k in CHECK_FIELDS})
                runs.setdefault((method, label_of[label]), []).append(measured)
    default_cache: dict[str, object] = {}
    if "pipeline" in wanted:
        print(f"running the pipeline at the default sampler's frame size ({DEFAULT_SAMPLER_SIDE} px)…", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="gens-bench-cache-") as cache_dir:
            default_cache = run_child(
                [*commands["pipeline"](videos["long"]), "--cache-dir", cache_dir, "--side", str(DEFAULT_SAMPLER_SIDE)]
            )
    load_after = _loadavg()
    rows = [Row(method, label, _best(results)) for (method, label), results in runs.items()]

    print(f"\n### Decoding 1 fps at ≤ {MAX_SIDE} px ({SIZE[0]}×{SIZE[1]} H.264, {FPS} fps, B-frames, GOP {GOP})\n")
    print(f"{os.cpu_count()} CPUs, load average before {load_before} / after {load_after}; {_versions()}\n")
    print("| method | video | wall s | in-process s | CPU s | cores busy | peak RSS MB | frames | decoded |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")

    def row_result(method: str, label: str) -> dict[str, object] | None:
        for row in rows:
            if row.method == method and row.video == label_of[label] and row.result.get("rc") == 0:
                return row.result
        return None

    def get(method: str, label: str, field: str) -> float | None:
        r = row_result(method, label)
        value = r.get(field) if r else None
        return float(value) if isinstance(value, int | float) else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    print()
    for line in _timestamp_report(row_result("reader", "long"), row_result("reader --full-decode", "long")):
        print(line)
    pipe = row_result("pipeline", "long")
    if pipe and "replay_s" in pipe:
        cache_ratio = ratio(get("pipeline", "long", "cache_bytes"), get("pipeline", "long", "source_bytes"))
        cache_mib = float(str(pipe["cache_bytes"])) / 2**20
        source_mib = float(str(pipe["source_bytes"])) / 2**20
        print(
            f"frame cache: {cache_mib:.1f} MiB for a {source_mib:.1f} MiB source ({cache_ratio:.2f}×); "
            f"cached frames vs decoded: PSNR {pipe['psnr_mean']:.1f} dB mean,"
            f" {pipe['psnr_min']:.1f} dB worst; a second question read the cache in {pipe['replay_s']:.1f} s;"
            f" pipeline timings {pipe.get('timings')}"
        )

    ff = get("ffmpeg", "long", "wall_s")
    print("\n| ratio (long video, same run) | value | target |")
    print("|---|---:|---|")
    r = ratio(get("pipeline", "long", "wall_s"), ff)
    print(_line("pipeline / ffmpeg full decode, wall", r, "≤ 1.10", None if r is None else r <= 1.10))
    r = ratio(get("pipeline --full-decode", "long", "wall_s"), ff)
    print(_line("pipeline --full-decode / ffmpeg, wall", r, "≤ 1.10", None if r is None else r <= 1.10))
    r = ratio(ff, get("reader", "long", "wall_s"))
    print(_line("ffmpeg / skipping reader, wall (speed-up)", r, "≥ 1.3", None if r is None else r >= 1.3))
    r = ratio(get("reader --full-decode", "long", "wall_s"), ff)
    print(_line("full-decode reader / ffmpeg, wall", r, "(≤ 1.10)", None))
    r = ratio(get("reader", "long", "cpu_s"), get("ffmpeg", "long", "cpu_s"))
    print(_line("skipping reader / ffmpeg, CPU time", r, "(< 1: less work)", None))
    r = ratio(get("decord", "long", "wall_s"), get("reader", "long", "wall_s"))
    print(_line("decord / skipping reader, wall", r, "(> 1: gens-tools faster)", None))
    rss = get("pipeline", "long", "rss_mb")
    print(_line("pipeline peak RSS, MB", rss, "≤ 300", None if rss is None else rss <= 300, "{:.0f}"))
    r = ratio(rss, get("pipeline", "short", "rss_mb"))
    print(
        _line(
            f"pipeline peak RSS {label_of['long']} / {label_of['short']}", r, "≤ 1.2", None if r is None else r <= 1.2
        )
    )

    def number(data: dict[str, object], key: str) -> float | None:
        value = data.get(key)
        return float(value) if isinstance(value, int | float) else None

    r = ratio(number(default_cache, "cache_bytes"), number(default_cache, "source_bytes"))
    print(
        _line(
            f"frame cache entry / source, default sampler's frames ({DEFAULT_SAMPLER_SIDE} px)",
            r,
            "≤ 0.25",
            None if r is None else r <= 0.25,
        )
    )
    r = ratio(get("pipeline", "long", "cache_bytes"), get("pipeline", "long", "source_bytes"))
    print(_line(f"frame cache entry / source, {MAX_SIDE} px frames (samplers without a size)", r, "(≤ 0.25)", None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
