"""Concurrency of the remote GenS sampler against a local OpenAI-compatible server with a fixed delay.

Scores the windows of an hour-long video (15 windows of 240 frames by default) with ``concurrency`` 1, 4 and
8 and prints each wall time next to the ideal ``ceil(windows / c) × delay`` (target ratio ≤ 1.2). The server
is the fake GenS server of the test suite (real HTTP on 127.0.0.1, the openai SDK talks to it for real), run
in its own process like a real engine; it only counts the images, so the client's own work (JPEG encoding,
request building, HTTP) is what shows up above the ideal. The cost of encoding the frames alone (one
thread) is measured in the same run for reference.

Run from the repository root::

    .venv/bin/python benchmarks/remote.py [--delay 1.0] [--windows 15] [--frames 240] [--side 112]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gens_tools.frames import Frame
from gens_tools.samplers._base import Window
from gens_tools.samplers.remote import RemoteGenSSampler
from gens_tools.synthetic import paint_time_code
from gens_tools.testing import FakeGenSServer


def make_windows(n_windows: int, per_window: int, side: int) -> list[Window]:
    size = (side, max(16, round(side * 9 / 16) // 2 * 2))
    windows = []
    for w in range(n_windows):
        frames = []
        for i in range(per_window):
            t = float(w * per_window + i)
            frames.append(Frame(timestamp=t, image=paint_time_code(t, size), index=int(t)))
        windows.append(Window(index=w, frames=frames, video_key="benchmark"))
    return windows


def serve(delay: float, conn: Connection) -> None:
    """Child process: run the fake server, report its URL, answer ``peak`` / ``reset`` / ``stop``."""
    with FakeGenSServer(delay=delay, read_images=False, lifetime=3600.0) as server:
        conn.send(server.url)
        while True:
            command = conn.recv()
            if command == "peak":
                conn.send(server.peak_in_flight)
            elif command == "reset":
                server.peak_in_flight = 0
                conn.send(True)
            else:
                return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the server takes per request")
    parser.add_argument("--windows", type=int, default=15, help="windows (an hour at 1 fps is 15 of 240)")
    parser.add_argument("--frames", type=int, default=240, help="frames per window")
    parser.add_argument("--side", type=int, default=112, help="frame width in px")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()

    windows = make_windows(args.windows, args.frames, args.side)
    question = "What happens between 1805 and 1810 seconds?"

    probe = RemoteGenSSampler("http://127.0.0.1:9/v1", "gens-test")
    t0 = time.perf_counter()
    for window in windows:
        probe._guard.fit([f.image for f in window.frames], question, 1 << 40)
    encode_s = time.perf_counter() - t0

    parent, child = mp.get_context("spawn").Pipe()
    process = mp.get_context("spawn").Process(target=serve, args=(args.delay, child), daemon=True)
    process.start()
    try:
        url = parent.recv()
        rows = []
        for c in args.concurrency:
            with RemoteGenSSampler(url, "gens-test", concurrency=c) as sampler:
                sampler.score_window(Window(0, windows[0].frames[:1]), question)  # warm: loop, client, conn
                parent.send("reset")
                parent.recv()
                t0 = time.perf_counter()
                results = list(sampler.score_windows(windows, question))
                wall = time.perf_counter() - t0
            parent.send("peak")
            peak = parent.recv()
            assert all(r.scores is not None for r in results), [r.issues for r in results]
            ideal = math.ceil(args.windows / c) * args.delay
            rows.append((c, wall, ideal, wall / ideal, peak))
    finally:
        parent.send("stop")
        process.join(timeout=10)

    print(
        f"remote sampler: {args.windows} windows × {args.frames} frames ({args.side} px), "
        f"server delay {args.delay:g} s/request"
    )
    print(f"encoding all frames to data URLs alone (one thread): {encode_s:.2f} s")
    print(f"{'concurrency':>11}  {'wall s':>7}  {'ideal s':>7}  {'ratio':>5}  {'peak in flight':>14}  target")
    for c, wall, ideal, ratio, peak in rows:
        verdict = "ok" if ratio <= 1.2 else "MISSED"
        print(f"{c:>11}  {wall:>7.2f}  {ideal:>7.2f}  {ratio:>5.2f}  {peak:>14}  ≤1.2 {verdict}")
    base = rows[0][1]
    print("speed-up vs concurrency 1: " + ", ".join(f"c={c}: {base / wall:.2f}×" for c, wall, *_ in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
