"""The reliability suite: hostile inputs, faults and concurrency.

Tests marked ``fuzz`` (property-based runs of 20,000+ examples) are skipped unless they are asked for by name
with ``-m``: ``python -m pytest -m fuzz tests/reliability``. The default run (and CI) runs the same properties
on fewer examples.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = str(config.getoption("markexpr") or "")
    if "fuzz" in chosen:
        return
    skip = pytest.mark.skip(reason="long fuzzing run: python -m pytest -m fuzz tests/reliability")
    for item in items:
        if item.get_closest_marker("fuzz") is not None:
            item.add_marker(skip)
