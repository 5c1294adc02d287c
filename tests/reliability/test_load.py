"""Load: 20 concurrent ``asample_frames`` calls over the same and different videos give the frames the same
calls give one after another (each showing its own time), one cache entry per video, and bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Peak memory of the whole scenario process (Python, PyAV, the fake server, 20 calls), in MiB: generous, to catch
#: frames held per call or per video rather than per window (the adversarial pass measured about 300 MiB).
PEAK_RSS_MIB = 1024


@pytest.mark.slow
def test_twenty_concurrent_calls(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("load_scenario.py")), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["concurrent"] == result["serial"]
    assert all(len(ts) == 4 for ts in result["concurrent"])
    assert result["wrong_frames"] == []
    assert result["server_problems"] == []
    assert result["cache_entries"] == result["videos"]
    assert result["leftovers"] == []
    assert result["peak_rss_mib"] < PEAK_RSS_MIB, result["peak_rss_mib"]
