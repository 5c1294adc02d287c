"""The size-bounded LRU of per-window prefix state."""

from __future__ import annotations

import pytest
import torch

from gens_tools.errors import InvalidArgumentError
from gens_tools.samplers._local.prefix_cache import PrefixCache, PrefixState, prefix_key, tensor_bytes


def _state(n_bytes: int) -> PrefixState:
    return PrefixState(input_ids=(1, 2, 3), past_key_values=torch.zeros(n_bytes, dtype=torch.uint8))


def test_least_recently_used_entry_goes_first_when_entries_run_out() -> None:
    cache = PrefixCache(max_bytes=10_000, max_entries=2)
    a, b, c = (prefix_key("v", i, "m") for i in range(3))
    cache.put(a, _state(10))
    cache.put(b, _state(10))
    assert cache.get(a) is not None  # a is now more recent than b
    cache.put(c, _state(10))
    assert a in cache
    assert c in cache
    assert b not in cache
    stats = cache.stats()
    assert (stats.entries, stats.evictions, stats.hits) == (2, 1, 1)


def test_byte_bound_evicts_until_it_fits() -> None:
    cache = PrefixCache(max_bytes=100, max_entries=10)
    for i in range(5):
        assert cache.put(("k", i), _state(30))
    assert cache.total_bytes <= 100
    assert cache.keys() == [("k", 2), ("k", 3), ("k", 4)]


def test_an_entry_larger_than_the_bound_is_not_stored() -> None:
    cache = PrefixCache(max_bytes=100)
    assert not cache.put("big", _state(101))
    assert "big" not in cache
    assert cache.total_bytes == 0


def test_replacing_a_key_does_not_double_count() -> None:
    cache = PrefixCache(max_bytes=100)
    cache.put("k", _state(60))
    cache.put("k", _state(60))
    assert len(cache) == 1
    assert cache.total_bytes == 60


def test_disabled_cache_stores_nothing() -> None:
    cache = PrefixCache(max_bytes=0)
    assert not cache.enabled
    assert not cache.put("k", _state(1))
    assert cache.get("k") is None


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        PrefixCache(max_bytes=-1)
    with pytest.raises(InvalidArgumentError):
        PrefixCache(max_entries=1.5)  # type: ignore[arg-type]


def test_tensor_bytes_counts_kv_cache_layers_and_shared_storage_once() -> None:
    from transformers import DynamicCache

    k = torch.zeros(1, 2, 5, 4)  # 40 floats = 160 bytes
    v = torch.zeros(1, 2, 5, 4)
    cache = DynamicCache()
    cache.update(k, v, 0)
    cache.update(k, v, 1)
    assert tensor_bytes(cache) == 4 * 160
    t = torch.zeros(10)
    assert tensor_bytes([t, t[:5], {"x": t}]) == 40
