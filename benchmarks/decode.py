"""Decode benchmark: 1 fps frames at <= 448 px from an hour-long video, gens-tools vs decord vs FFmpeg.

Makes (once, cached under ``benchmarks/.data``) a 60-minute and a 10-minute 640×360 H.264 video at 30 fps
with a keyframe every 250 frames, then runs each method in a fresh child process and reports its wall time
and peak resident memory (``ru_maxrss`` of that child, from ``os.wait4``):

* ``gens-tools``: ``open_video(path).iter_frames(sampling_grid(info, 1.0), max_side=448)``, each frame taken
  as a PIL image (the default PyAV backend);
* ``gens-tools+cache``: the same through a (temporary) :class:`~gens_tools.video._cache.FrameCache`, i.e. with
  every frame also written as a JPEG, as the pipeline does; then a second pass served from the cache;
* ``gens-tools[decord]``: the same through gens-tools' decord backend (chunked ``get_batch``);
* ``decord``: what users typically write: ``VideoReader(path, width=448, height=252)`` and one ``get_batch``
  of the 1 fps frame indices, each frame then made a PIL image;
* ``ffmpeg``: ``ffmpeg -threads 2 -i video -f null -``, a full decode of every frame: the practical ceiling
  for exact 1 fps frames when keyframes are 8 s apart (each target needs the frames before it decoded).

Run from the repository root::

    python benchmarks/decode.py            # the real run (~10 minutes on 2 cores, ~1.5 GB for decord)
    python benchmarks/decode.py --quick    # 2-minute and 1-minute videos: a smoke run
    python benchmarks/decode.py --video my.mp4 --short-video my10min.mp4

Timings depend on the machine and on what else runs on it: the load average before and after is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

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
                print(f"  … {path.name}: {i // fps}/{seconds} s written ({time.perf_counter() - started:.0f} s)",
                      file=sys.stderr)
        for packet in stream.encode(None):
            container.mux(packet)
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------------------- children


def _grid(duration: float) -> list[float]:
    from gens_tools.video._base import VideoInfo, sampling_grid

    return sampling_grid(VideoInfo("", duration, None, 0, 0, ""), 1.0)


def child_gens(video: str, backend: str, cache: bool = False) -> dict[str, object]:
    """1 fps through gens-tools' reader (``backend``: pyav or decord); with ``cache``, through a temporary
    frame cache (JPEG files written as frames pass), then a second pass served from that cache."""
    from gens_tools.video._base import sampling_grid
    from gens_tools.video._cache import FrameCache

    try:
        from gens_tools.video import open_video

        reader = open_video(video, backend=backend)
    except ImportError:  # before open_video exists
        if backend == "decord":
            from gens_tools.video._decord import DecordReader

            reader = DecordReader(video)
        else:
            from gens_tools.video._pyav import PyAVReader

            reader = PyAVReader(video)
    t0 = time.perf_counter()
    with reader, FrameCache.temporary() as store:
        grid = sampling_grid(reader.info, 1.0)
        key = store.key(video, fps=1.0, max_side=MAX_SIDE, start=None, end=None)
        frames = store.frames(reader, grid, key=key) if cache else reader.iter_frames(grid, max_side=MAX_SIDE)
        n = 0
        worst = 0.0
        size = None
        for frame in frames:
            image = frame.image
            assert image is not None
            size = image.size
            n += 1
            assert frame.index is not None
            worst = max(worst, grid[frame.index] - frame.timestamp)
        result: dict[str, object] = {"frames": n, "expected": len(grid), "size": size,
                                     "work_s": time.perf_counter() - t0, "max_lag_s": round(worst, 4)}
        if cache:
            t1 = time.perf_counter()
            replayed = sum(1 for f in store.frames(reader, grid, key=key) if f.image is not None)
            result["replay_s"] = time.perf_counter() - t1
            result["replayed"] = replayed
            result["cache_mb"] = store.total_bytes() / 2**20
    return result


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
    return {"frames": len(images), "expected": len(indices), "size": images[0].size,
            "work_s": time.perf_counter() - t0}


def run_child(argv: list[str]) -> dict[str, object]:
    """Run one measured command in a fresh process; wall time and that process's peak RSS.

    ``ru_maxrss`` of a child also counts what it inherited at fork, before ``exec``: this (parent) process
    therefore imports nothing heavy (no numpy, PyAV or decord) so that share stays ~10 MB.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    result: dict[str, object] = {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime
                                 + usage.ru_stime, "rc": proc.returncode}
    if proc.returncode != 0:
        result["error"] = (err.strip().splitlines() or ["?"])[-1][:200]
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    return result


# --------------------------------------------------------------------------------------------- report


@dataclass
class Row:
    method: str
    video: str
    result: dict[str, object]

    def cells(self) -> list[str]:
        r = self.result
        frames = f"{r['frames']}/{r['expected']}" if "frames" in r else "-"
        wall = f"{r['wall_s']:.1f}" if r.get("rc") == 0 else f"failed: {r.get('error', '')}"
        walls = r.get("walls")
        if isinstance(walls, list) and len(walls) > 1:
            wall += " (" + ", ".join(f"{w:.1f}" for w in walls) + ")"
        work = f"{r['work_s']:.1f}" if "work_s" in r else "-"
        return [self.method, self.video, wall, work, f"{r['cpu_s']:.1f}", f"{r['rss_mb']:.0f}", frames]


def _best(results: list[dict[str, object]]) -> dict[str, object]:
    """Several runs of one method: the fastest run's figures, with the largest peak RSS seen."""
    ok = [r for r in results if r.get("rc") == 0]
    if not ok:
        return results[-1]
    best = dict(min(ok, key=lambda r: float(r["wall_s"])))  # type: ignore[arg-type]
    best["cpu_s"] = min(float(r["cpu_s"]) for r in ok)  # type: ignore[arg-type]
    best["rss_mb"] = max(float(r["rss_mb"]) for r in ok)  # type: ignore[arg-type]
    best["walls"] = [round(float(r["wall_s"]), 1) for r in results]  # type: ignore[arg-type]
    return best


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _versions() -> str:
    parts = [f"Python {platform.python_version()}"]
    for mod in ("av", "decord", "numpy", "PIL"):
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


def _ratio_line(name: str, value: float | None, target: str, ok: bool | None) -> str:
    shown = "n/a" if value is None else f"{value:.2f}"
    verdict = "" if ok is None else (" ✅" if ok else " ❌ MISSED")
    return f"| {name} | {shown} | {target} |{verdict}"


def main(argv: list[str] | None = None) -> int:
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, help="the long video (default: a generated 60-min one)")
    parser.add_argument("--short-video", type=Path, help="the short video (default: a generated 10-min one)")
    parser.add_argument("--quick", action="store_true", help="2-min and 1-min videos (smoke run)")
    parser.add_argument("--data-dir", type=Path, default=DATA, help="where generated videos are kept")
    parser.add_argument("--methods", default="ffmpeg,gens-tools,gens-tools+cache,gens-tools[decord],decord",
                        help="comma-separated subset of: ffmpeg, gens-tools, gens-tools+cache, "
                        "gens-tools[decord], decord")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per method (interleaved); the table shows the fastest, with the largest RSS")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="pyav", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        if args.child == "make":
            make_video(args.video, args.seconds)
            return 0
        if args.child in ("gens", "gens-cache"):
            result = child_gens(str(args.video), args.backend, cache=args.child == "gens-cache")
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
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "make", "--video",
                                str(path), "--seconds", str(seconds)], check=True)
            videos[label] = path
    label_of = {"long": f"{long_s // 60} min" if args.video is None else args.video.name,
                "short": f"{short_s // 60} min" if args.short_video is None else args.short_video.name}

    me = [sys.executable, str(Path(__file__).resolve())]
    commands = {
        "gens-tools": lambda v: [*me, "--child", "gens", "--backend", "pyav", "--video", str(v)],
        "gens-tools[decord]": lambda v: [*me, "--child", "gens", "--backend", "decord", "--video", str(v)],
        "decord": lambda v: [*me, "--child", "decord", "--video", str(v)],
        "gens-tools+cache": lambda v: [*me, "--child", "gens-cache", "--backend", "pyav", "--video", str(v)],
    }
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        commands["ffmpeg"] = lambda v: [ffmpeg, "-nostdin", "-v", "error", "-threads", "2", "-i", str(v),
                                        "-f", "null", "-"]
    wanted = [m.strip() for m in args.methods.split(",") if m.strip()]
    load_before = _loadavg()
    runs: dict[tuple[str, str], list[dict[str, object]]] = {}
    for label in ("long", "short"):
        for rep in range(args.repeat):  # interleaved, so that changing load hits every method alike
            for method in wanted:
                if method not in commands:
                    if rep == 0:
                        print(f"skipping {method}: not available here", file=sys.stderr)
                    continue
                print(f"running {method} on the {label_of[label]} video (run {rep + 1}/{args.repeat})…",
                      file=sys.stderr)
                runs.setdefault((method, label_of[label]), []).append(run_child(commands[method](videos[label])))
    load_after = _loadavg()
    rows = [Row(method, label, _best(results)) for (method, label), results in runs.items()]

    print(f"\n### Decoding 1 fps at ≤ {MAX_SIDE} px ({SIZE[0]}×{SIZE[1]} H.264, {FPS} fps, GOP {GOP})\n")
    print(f"{os.cpu_count()} CPUs, load average before {load_before} / after {load_after}; {_versions()}\n")
    print("| method | video | wall s | in-process s | CPU s | peak RSS MB | frames |")
    # wall: the child process from start to exit; in-process: from opening the video to the last frame;
    # CPU: user + system time of the child (all its threads) — less sensitive than wall to other load
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row.cells()) + " |")
    for row in rows:
        r = row.result
        if "replay_s" in r:
            print(f"\n{row.method}, {row.video}: the frame cache took {r['cache_mb']:.0f} MB; a second pass over "
                  f"the same grid read {r['replayed']} frames from it in {r['replay_s']:.1f} s (no decoding).")

    def get(method: str, label: str, field: str) -> float | None:
        for row in rows:
            if row.method == method and row.video == label_of[label] and row.result.get("rc") == 0:
                value = row.result.get(field)
                return float(value) if isinstance(value, int | float) else None
        return None

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    gens_wall = get("gens-tools", "long", "wall_s")
    r1 = ratio(gens_wall, get("ffmpeg", "long", "wall_s"))
    r2 = ratio(get("decord", "long", "wall_s"), gens_wall)
    rss = get("gens-tools", "long", "rss_mb")
    r4 = ratio(rss, get("gens-tools", "short", "rss_mb"))
    print("\n| ratio (long video) | value | target |")
    print("|---|---:|---|")
    print(_ratio_line("gens-tools / ffmpeg ceiling, wall", r1, "≤ 1.10", None if r1 is None else r1 <= 1.10))
    c1 = ratio(get("gens-tools", "long", "cpu_s"), get("ffmpeg", "long", "cpu_s"))
    print(_ratio_line("gens-tools / ffmpeg ceiling, CPU time", c1, "(≤ 1.10)", None))
    print(_ratio_line("decord / gens-tools, wall", r2, "≥ 2", None if r2 is None else r2 >= 2))
    c2 = ratio(get("decord", "long", "cpu_s"), get("gens-tools", "long", "cpu_s"))
    print(_ratio_line("decord / gens-tools, CPU time", c2, "(≥ 2)", None))
    print(_ratio_line("gens-tools peak RSS, MB", rss, "≤ 300", None if rss is None else rss <= 300))
    print(_ratio_line(f"gens-tools peak RSS {label_of['long']} / {label_of['short']}", r4, "≤ 1.2",
                      None if r4 is None else r4 <= 1.2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
