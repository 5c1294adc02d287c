"""Peak resident memory of the running process, for memory checks in tests and benchmarks."""

from __future__ import annotations

import resource
import sys

__all__ = ["peak_rss_mib"]


def peak_rss_mib() -> float:
    """The peak resident set size of this process in MiB, counting only what this program image used.

    On Linux this is ``VmHWM`` from ``/proc/self/status``. ``getrusage(...).ru_maxrss`` is not used there: Linux
    carries it over ``exec``, so a process started by a large parent (a test runner holding a gigabyte, say)
    reports the parent's size. Elsewhere ``ru_maxrss`` is the only figure (KiB on Linux, bytes on macOS).
    """
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
