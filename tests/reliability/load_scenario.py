"""The load scenario of ``test_load.py``, run in a process of its own so that its peak memory is its own:
20 concurrent ``asample_frames`` calls over three videos (the same video by several calls at once, and
different videos), scored by the served-GenS sampler against a local fake server, after the same 20 calls one
after another. Prints one JSON object: the timestamps each call chose (serial and concurrent), frames whose
painted time code disagrees with their timestamp, the cache entries per video, and the peak RSS in MiB.

Usage: python load_scenario.py WORKDIR
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path


def main(workdir: Path) -> None:
    from gens_tools import SamplingOptions
    from gens_tools.pipeline import asample_frames
    from gens_tools.samplers.remote import RemoteGenSSampler
    from gens_tools.synthetic import make_test_video, read_time_code
    from gens_tools.testing import FakeGenSServer, peak_rss_mib
    from gens_tools.video import FrameCache

    videos = [make_test_video(workdir / f"v{i}.mp4", duration=60.0 + 10 * i, fps=5.0, size=(160, 90)) for i in range(3)]
    calls = [(videos[i % 3], f"What happens between {5 + 2 * i} and {7 + 2 * i} seconds?") for i in range(20)]
    wrong: list[str] = []

    async def run(cache_dir: Path, concurrent: bool, sampler: RemoteGenSSampler) -> list[list[float]]:
        options = SamplingOptions(fps=1.0, cache=FrameCache(cache_dir))

        async def one(video: Path, question: str) -> list[float]:
            selection = await asample_frames(video, question, sampler=sampler, k=4, options=options)
            for frame in selection.frames:
                painted = read_time_code(frame.require_image())
                if abs(painted - frame.timestamp) > 0.55:
                    wrong.append(f"{video.name} {frame.timestamp:.2f}s shows {painted:.2f}s")
            return selection.timestamps

        if concurrent:
            return list(await asyncio.gather(*(one(v, q) for v, q in calls)))
        return [await one(v, q) for v, q in calls]

    with FakeGenSServer(lifetime=300.0) as server:
        sampler = RemoteGenSSampler(server.url, "gens-test", concurrency=4, timeout=60.0)
        serial = asyncio.run(run(workdir / "cache-serial", False, sampler))
        t0 = time.perf_counter()
        concurrent = asyncio.run(run(workdir / "cache-concurrent", True, sampler))
        elapsed = time.perf_counter() - t0
        sampler.close()
        problems = server.problems
    root = workdir / "cache-concurrent"
    names = [p.name for p in root.iterdir()] if root.exists() else []
    entries = [n for n in names if re.fullmatch(r"[0-9a-f]{32}-[0-9a-z]+", n)]
    leftovers = [n for n in names if n.startswith(".tmp")]
    print(
        json.dumps(
            {
                "serial": serial,
                "concurrent": concurrent,
                "wrong_frames": wrong,
                "cache_entries": len(entries),
                "leftovers": leftovers,
                "videos": len(videos),
                "server_problems": problems,
                "seconds": round(elapsed, 2),
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main(Path(sys.argv[1]))
