"""Reusing a window's frame prefix across questions.

In the GenS prompt the frames come before the question, so everything up to and including the last frame —
its tokens, the vision features and the attention key/value cache over them — is the same for every question
about that window. :class:`PrefixCache` keeps that state per (video, window, model) in a least-recently-used
store bounded by bytes and by entries, so an agent asking five questions about one video pays for the frames
once. It knows nothing about a particular model: :class:`PrefixState` carries the token ids, the KV cache and
any model-specific extras (Qwen's rope deltas, Aria's image features…).

Entries live where their tensors live (usually the GPU); the byte bound counts tensor storage only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from gens_tools import _checks as checks
from gens_tools.samplers._base import Window

#: Default bound on the bytes held (about 15 windows of 256 frames of GenS-3B in bf16 with room to spare).
DEFAULT_MAX_BYTES = 4 * 1024**3
#: Default bound on the number of entries.
DEFAULT_MAX_ENTRIES = 64

PrefixKey = tuple[str, int, str, str]


def prefix_key(video_key: str, window_index: int, model_id: str, fingerprint: str = "") -> PrefixKey:
    """The cache key of one window's prefix.

    Args:
        video_key: identity of the decoded video (source, fps, frame size, range).
        window_index: the window's position in the request.
        model_id: the model (and anything else that changes the prefix, such as the system prompt).
        fingerprint: a summary of the window's frames (count, first/last time), so a window that came out
            differently (frames lost to decoding errors) never reuses a stale prefix.
    """
    return (str(video_key), int(window_index), str(model_id), str(fingerprint))


def window_video_key(window: Window) -> str:
    """The window's ``video_key``, or, when the pipeline gave none, one made from its pictures (so the same
    pictures find the same cache entries)."""
    if window.video_key is not None:
        return str(window.video_key)
    h = hashlib.blake2b(digest_size=16)
    for frame in window.frames:
        img = frame.require_image()
        h.update(f"{img.mode}{img.size}".encode())
        h.update(img.tobytes())
    return "content:" + h.hexdigest()


def tensor_bytes(obj: Any) -> int:
    """Bytes of tensor storage reachable from ``obj`` (tensors, KV caches, containers, dataclasses).

    Tensors that share storage are counted once per storage."""
    seen: set[int] = set()
    storages: set[tuple[int, int]] = set()
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, str | bytes | int | float | bool):
            continue
        if id(item) in seen:
            continue
        seen.add(id(item))
        nbytes = getattr(item, "element_size", None)
        if callable(nbytes) and hasattr(item, "numel") and hasattr(item, "untyped_storage"):
            storage = item.untyped_storage()
            ident = (storage.data_ptr(), storage.nbytes())
            if ident not in storages:
                storages.add(ident)
                total += int(storage.nbytes())
            continue
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in fields(item))
        elif hasattr(item, "layers") and isinstance(item.layers, Iterable):
            # transformers Cache objects: a list of layers holding `keys` and `values` tensors.
            for layer in item.layers:
                stack.append(getattr(layer, "keys", None))
                stack.append(getattr(layer, "values", None))
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return total


@dataclass(slots=True)
class PrefixState:
    """Everything needed to continue a window's prompt after its last frame.

    Attributes:
        input_ids: the prefix token ids (1-D, as a tuple of ints), to check a new prompt starts with them.
        past_key_values: the model's KV cache over those tokens. Treat it as read-only: copy it before
            generating (generation appends to it).
        extras: model-specific state (e.g. Qwen2.5-VL's rope deltas, vision features).
    """

    input_ids: tuple[int, ...]
    past_key_values: Any
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Number of prefix tokens."""
        return len(self.input_ids)

    def nbytes(self) -> int:
        """Bytes of tensor storage held."""
        return tensor_bytes((self.past_key_values, self.extras))


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of a :class:`PrefixCache` since it was made (or cleared)."""

    hits: int
    misses: int
    evictions: int
    entries: int
    bytes: int


class PrefixCache:
    """A thread-safe least-recently-used store bounded by total bytes and by entry count.

    Args:
        max_bytes: the most tensor bytes held; the least recently used entries are dropped beyond it. An
            entry larger than the bound is not stored at all. ``0`` disables the cache.
        max_entries: the most entries held.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_bytes = checks.non_negative_int("max_bytes", max_bytes)
        self.max_entries = checks.non_negative_int("max_entries", max_entries)
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._hits = self._misses = self._evictions = 0

    @property
    def enabled(self) -> bool:
        """Whether anything can be stored."""
        return self.max_bytes > 0 and self.max_entries > 0

    def get(self, key: Hashable) -> Any | None:
        """The value stored under ``key`` (marking it recently used), or ``None``."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self._misses += 1
                return None
            self._items.move_to_end(key)
            self._hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, *, nbytes: int | None = None) -> bool:
        """Store ``value`` under ``key``, evicting least recently used entries to stay in bounds.

        ``nbytes`` defaults to ``value.nbytes()`` when it has one, else :func:`tensor_bytes`. Returns
        whether the value was stored (it is not when larger than ``max_bytes`` or the cache is disabled)."""
        if nbytes is None:
            method = getattr(value, "nbytes", None)
            nbytes = int(method()) if callable(method) else tensor_bytes(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if not self.enabled or nbytes > self.max_bytes:
                return False
            self._items[key] = (value, nbytes)
            self._bytes += nbytes
            while self._items and (self._bytes > self.max_bytes or len(self._items) > self.max_entries):
                _, (_, size) = self._items.popitem(last=False)
                self._bytes -= size
                self._evictions += 1
            return key in self._items

    def pop(self, key: Hashable) -> Any | None:
        """Remove and return the value under ``key`` (``None`` when absent)."""
        with self._lock:
            item = self._items.pop(key, None)
            if item is None:
                return None
            self._bytes -= item[1]
            return item[0]

    def clear(self) -> None:
        """Drop every entry and reset the counters."""
        with self._lock:
            self._items.clear()
            self._bytes = 0
            self._hits = self._misses = self._evictions = 0

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        with self._lock:
            return list(self._items)

    @property
    def total_bytes(self) -> int:
        """Bytes currently held."""
        return self._bytes

    def stats(self) -> CacheStats:
        """Hit/miss/eviction counters and the current size."""
        with self._lock:
            return CacheStats(self._hits, self._misses, self._evictions, len(self._items), self._bytes)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in self._items
