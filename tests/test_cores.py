"""Cores counted within a container's CPU quota: decoder and batch workers follow it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import gens_tools._cores as cores
from gens_tools.batch._local import machine_workers
from gens_tools.synthetic import make_test_video
from gens_tools.video._pyav import PyAVReader


def _cgroup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, v2: str | None, v1: tuple[str, str] | None) -> None:
    files = {
        "CGROUP_V2_MAX": tmp_path / "cpu.max",
        "CGROUP_V1_QUOTA": tmp_path / "q",
        "CGROUP_V1_PERIOD": tmp_path / "p",
    }
    for name, path in files.items():
        monkeypatch.setattr(cores, name, path)
    if v2 is not None:
        files["CGROUP_V2_MAX"].write_text(v2)
    if v1 is not None:
        files["CGROUP_V1_QUOTA"].write_text(v1[0])
        files["CGROUP_V1_PERIOD"].write_text(v1[1])


@pytest.mark.parametrize(
    ("v2", "v1", "quota"),
    [
        ("200000 100000\n", None, 2.0),
        ("150000 100000\n", None, 1.5),
        ("max 100000\n", None, None),
        (None, ("50000", "100000"), 0.5),
        (None, ("-1", "100000"), None),
        (None, None, None),
        ("garbage\n", None, None),
    ],
)
def test_cgroup_quota(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, v2: str | None, v1: tuple[str, str] | None, quota: float | None
) -> None:
    _cgroup(monkeypatch, tmp_path, v2, v1)
    assert cores.cgroup_cpu_quota() == quota


def test_a_quota_below_the_affinity_bounds_decoders_and_batch_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A 2-CPU container on a 64-CPU host: 2 decoders and 2 batch workers, not 64."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    _cgroup(monkeypatch, tmp_path, "150000 100000\n", None)
    assert cores.available_cores() == 2
    assert machine_workers() == 2
    video = make_test_video(tmp_path / "v.mp4", duration=2.0, fps=10.0, size=(64, 36))
    with PyAVReader(video) as reader:
        assert reader._worker_count() == 2
    (tmp_path / "none").mkdir()
    _cgroup(monkeypatch, tmp_path / "none", None, None)  # no quota: the affinity counts
    assert cores.available_cores() == 64
    _cgroup(monkeypatch, tmp_path, "10000 100000\n", None)  # a tenth of a CPU is still one core
    assert cores.available_cores() == 1
