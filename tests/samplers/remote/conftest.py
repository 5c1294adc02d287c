"""Fixtures for the remote sampler's tests: fake GenS servers (:mod:`gens_tools.testing`) started and stopped
per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gens_tools.testing import FakeGenSServer


@pytest.fixture
def fake_server() -> Iterator[FakeGenSServer]:
    """A started fake GenS server, stopped after the test."""
    with FakeGenSServer(lifetime=60.0) as server:
        yield server


@pytest.fixture
def make_server() -> Iterator[Callable[..., FakeGenSServer]]:
    """Start fake servers with custom settings; all are stopped after the test."""
    servers: list[FakeGenSServer] = []

    def make(**kwargs: Any) -> FakeGenSServer:
        kwargs.setdefault("lifetime", 60.0)
        server = FakeGenSServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
