"""Batch throughput: the same manifest run with 1 worker, 2 worker processes and on a local Ray instance.

Makes (once, cached under ``benchmarks/.data/batch``) a few generated 3-minute videos (640×360 H.264, 30 fps,
time codes painted in) and a manifest of questions over them, then runs ``gens_tools.batch.run_batch`` three
ways over that manifest, each into a fresh results file, and prints rows per second:

* ``local x1``: one worker, in this process;
* ``local x2``: a pool of two worker processes;
* ``ray x2``: two actors on a local Ray instance (``ray.init(num_cpus=2)``; startup included and shown apart).

Every run uses its own empty frame cache, so each decodes every video it samples. The default sampler is
``uniform`` (decodes only the K chosen frames); ``--sampler remote:base_url=…,model=…`` measures a served
GenS, which decodes every 1 fps frame.

Run from the repository root::

    python benchmarks/batch.py              # 24 rows over 4 videos
    python benchmarks/batch.py --quick      # 8 rows over 2 short videos: a smoke run
    python benchmarks/batch.py --rows 100 --k 32

Throughput depends on the machine and on what else runs on it: the load average before and after is printed.
Do not quote these numbers from a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "batch"


def make_manifest(videos: int, seconds: float, rows: int, folder: Path) -> Path:
    from gens_tools.synthetic import make_test_video

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(videos):
        path = folder / f"video{i}_{int(seconds)}s.mp4"
        if not path.exists():
            make_test_video(path, duration=seconds, fps=30.0, size=(640, 360), gop=250)  # whole or not at all
        paths.append(path)
    manifest = folder / f"manifest_{videos}x{int(seconds)}s_{rows}.jsonl"
    with manifest.open("w") as f:
        for r in range(rows):
            f.write(
                json.dumps({"id": f"row{r}", "video": str(paths[r % videos]), "question": f"What happens? ({r})"})
                + "\n"
            )
    return manifest


def run(label: str, manifest: Path, job: object, **kwargs: object) -> dict[str, object]:
    from gens_tools.batch import run_batch

    with tempfile.TemporaryDirectory() as cache:
        os.environ["GENS_TOOLS_CACHE_DIR"] = cache
        out = Path(cache) / "results.jsonl"
        t0 = time.perf_counter()
        report = run_batch(manifest, out, job, **kwargs)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
    rows = report.ok + report.errors
    return {
        "run": label,
        "rows": rows,
        "errors": report.errors,
        "seconds": round(wall, 2),
        "rows_per_second": round(rows / wall, 2) if wall else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 videos of 40 s, 8 rows")
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--sampler", default="uniform", help="sampler spec (default: uniform)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.videos, args.seconds = 8, 2, 40.0

    from gens_tools.batch import BatchJob, Spec

    print(f"load average before: {os.getloadavg()}")
    manifest = make_manifest(args.videos, args.seconds, args.rows, DATA)
    job = BatchJob(Spec.parse(args.sampler), k=args.k)
    results = [run("local x1", manifest, job, workers=1), run("local x2", manifest, job, workers=2)]
    if not args.no_ray:
        try:
            import ray
        except ImportError:
            print("ray is not installed (pip install 'gens-tools[ray]'): skipping the Ray run")
        else:
            t0 = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            startup = time.perf_counter() - t0
            try:
                results.append(
                    {**run("ray x2", manifest, job, ray=True, workers=2), "ray_startup_seconds": round(startup, 2)}
                )
            finally:
                ray.shutdown()
    print(f"{'run':<10} {'rows':>5} {'errors':>6} {'seconds':>8} {'rows/s':>7}")
    for r in results:
        print(
            f"{r['run']:<10} {r['rows']:>5} {r['errors']:>6} {r['seconds']:>8} {r['rows_per_second']:>7}"
            + (f"   (+{r['ray_startup_seconds']}s Ray startup)" if "ray_startup_seconds" in r else "")
        )
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
