"""How many CPU cores this process may really use: the one place that counts them (decoder workers, batch
workers)."""

from __future__ import annotations

import math
import os
from pathlib import Path

#: Where Linux states a CPU quota: cgroup v2, then the two files of cgroup v1.
CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def available_cores() -> int:
    """The cores this process may use: the CPUs it may be scheduled on (its affinity), further limited by a
    container's CPU quota (cgroup ``cpu.max``; a quota of 1.5 CPUs counts as 2). At least 1.

    A container limited to 2 CPUs by a quota still sees every CPU of its host in its affinity; starting one
    decoder per host CPU there would multiply threads and memory for no speed.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota)))
    return max(1, cores)


def cgroup_cpu_quota() -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``None``: no quota, or not on Linux)."""
    try:
        quota, period = CGROUP_V2_MAX.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError, UnicodeDecodeError):
        try:
            quota = CGROUP_V1_QUOTA.read_text(encoding="ascii").strip()
            period = CGROUP_V1_PERIOD.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if q <= 0 or p <= 0:  # cgroup v1 says -1 for no quota
        return None
    return q / p
