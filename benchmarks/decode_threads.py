"""PyAV decoder threading for gens-tools' reader: thread_type x thread_count on H.264 (and HEVC), 1 fps at 448 px.

Makes (once, under ``benchmarks/.data``) a 640x360 30 fps video with a moving texture and a keyframe every
250 frames, then runs each configuration in a fresh child process, interleaved, ``--repeat`` times, and prints
the median wall time, CPU time and peak RSS, with ratios against single-threaded decoding measured in the
same run. Also times a sparse target set (one frame per minute) on the seek path against the sequential path.

    .venv/bin/python benchmarks/decode_threads.py [--minutes 2] [--repeat 3] [--codec h264|hevc]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = (
    Path(__file__).resolve().parents[1]
    if (Path(__file__).resolve().parents[1] / "gens_tools").exists()
    else Path("/work/main")
)
DATA = Path(os.environ.get("BENCH_DATA", ROOT / "benchmarks" / ".data"))


def make_video(path: Path, minutes: float, codec: str) -> None:
    import av
    import numpy as np
    from PIL import Image, ImageFilter

    w, h, fps = 640, 360, 30
    rng = np.random.default_rng(0)
    tex = np.asarray(
        Image.fromarray(rng.integers(0, 255, (h * 2, w * 2), dtype=np.uint8)).filter(ImageFilter.GaussianBlur(2))
    )
    encoder = {"h264": "libx264", "hevc": "libx265"}[codec]
    opts = {"preset": "veryfast", "crf": "23"}
    opts["x264-params" if codec == "h264" else "x265-params"] = "keyint=250" + (
        ":log-level=error" if codec == "hevc" else ""
    )
    with av.open(str(path), "w") as c:
        s = c.add_stream(encoder, rate=fps, options=opts)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(int(minutes * 60 * fps)):
            x = int(200 + 150 * np.sin(i / 50))
            y = int(100 + 80 * np.cos(i / 70))
            y_ = tex[y : y + h, x : x + w]
            arr = np.ascontiguousarray(np.stack([y_, np.roll(y_, i, 1), 255 - y_], -1))
            f = av.VideoFrame.from_ndarray(arr, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def child(path: str, mode: str, threads: int, sparse: bool, seek: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from gens_tools.testing import peak_rss_mib
    from gens_tools.video._base import sampling_grid
    from gens_tools.video._pyav import PyAVReader

    reader = PyAVReader(path, threads=threads, thread_type=mode, seek_threshold=20.0 if seek else float("inf"))
    targets = sampling_grid(reader.info, fps=1 / 60 if sparse else 1.0)
    t0, c0 = time.perf_counter(), time.process_time()
    n = sum(1 for f in reader.iter_frames(targets, max_side=448) if f.image is not None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = peak_rss_mib()  # MiB, this process only
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "rss": rss,
                "frames": n,
                "decoded": reader.stats.decoded,
                "seeks": reader.stats.seeks,
            }
        )
    )


def run(path: Path, cfg: tuple[str, int, bool, bool]) -> dict[str, float]:
    mode, threads, sparse, seek = cfg
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(path), mode, str(threads), str(int(sparse)), str(int(seek))],
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = proc.communicate()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, path, mode, threads, sparse, seek = sys.argv
        child(path, mode, int(threads), bool(int(sparse)), bool(int(seek)))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--codec", default="h264", choices=["h264", "hevc"])
    args = ap.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"threads_{args.codec}_{args.minutes:g}min.mp4"
    if not path.exists():
        t = time.time()
        make_video(path, args.minutes, args.codec)
        print(f"made {path} in {time.time() - t:.0f}s")
    configs = [
        ("NONE", 1, False, False),
        ("AUTO", 2, False, False),
        ("FRAME", 2, False, False),
        ("SLICE", 2, False, False),
        ("FRAME", 3, False, False),
        ("AUTO", 0, False, False),
    ]
    sparse = [("FRAME", 2, True, False), ("FRAME", 2, True, True)]
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}")
    results: dict[tuple, list[dict]] = {c: [] for c in configs + sparse}
    for _ in range(args.repeat):
        for cfg in configs + sparse:
            results[cfg].append(run(path, cfg))
    base = statistics.median(r["wall"] for r in results[configs[0]])
    head = f"{args.codec}, {args.minutes:g} min 640x360 30 fps, GOP 250, max_side=448, median of {args.repeat}"
    print(f"\n{head}")
    cols = ("targets", "thread_type", "threads", "path", "wall s", "cpu s", "vs NONE", "RSS MiB", "decoded", "seeks")
    print("{:8} {:11} {:>7} {:10} {:>7} {:>7} {:>8} {:>8} {:>8} {:>5}".format(*cols))
    for cfg, rs in results.items():
        mode, threads, is_sparse, seek = cfg
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        rss = max(r["rss"] for r in rs)
        row = (
            "1/min" if is_sparse else "1 fps",
            mode,
            threads,
            "seek" if seek else "sequential",
            f"{wall:.2f}",
            f"{cpu:.2f}",
            "" if is_sparse else f"{wall / base:.2f}x",
            f"{rss:.0f}",
            rs[0]["decoded"],
            rs[0]["seeks"],
        )
        print("{:8} {:11} {:>7} {:10} {:>7} {:>7} {:>8} {:>8} {:>8} {:>5}".format(*row))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
