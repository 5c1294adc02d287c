"""The on-disk frame cache, driven the way the pipeline drives it: key → frames(reader, grid) → lookup → load."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gens_tools.errors import InvalidArgumentError, VideoNotFoundError
from gens_tools.frames import Frame
from gens_tools.video._base import VideoInfo, VideoReader
from gens_tools.video._cache import (
    ENV_CACHE_DIR,
    CacheMissError,
    FrameCache,
    FrameCacheError,
    default_cache_dir,
)

SIZE = (64, 36)


def colour(index: int) -> tuple[int, int, int]:
    """A colour that identifies grid position ``index`` (survives JPEG compression)."""
    return ((index * 37) % 256, (index * 91 + 40) % 256, (255 - index * 23) % 256)


def assert_is_frame_of(frame: Frame, index: int) -> None:
    assert frame.image is not None
    pixels = np.asarray(frame.image, dtype=np.int16).reshape(-1, 3)
    assert np.abs(pixels.mean(axis=0) - np.array(colour(index))).max() < 4, (frame.index, index)


class FakeReader:
    """A VideoReader over a made-up video whose frame at grid position i is a solid colour(i).

    Frames whose target lies inside ``lost`` are not yielded and the span is reported in ``lost_spans``;
    ``fail_after`` makes decoding raise after that many frames.
    """

    def __init__(self, lost: tuple[float, float] | None = None, fail_after: int | None = None) -> None:
        self.info = VideoInfo(source="fake.mp4", duration=60.0, fps=30.0, width=SIZE[0], height=SIZE[1], codec="h264")
        self.lost_spans: list[tuple[float, float]] = []
        self.calls: list[tuple[int, int | None]] = []
        self.decoded = 0
        self._lost = lost
        self._fail_after = fail_after

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        self.calls.append((len(targets), max_side))
        for i, t in enumerate(targets):
            if self._fail_after is not None and self.decoded >= self._fail_after:
                raise RuntimeError("decoder exploded")
            if self._lost is not None and self._lost[0] <= t < self._lost[1]:
                if self._lost not in self.lost_spans:
                    self.lost_spans.append(self._lost)
                continue
            self.decoded += 1
            # the frame on screen at t starts a little earlier than t
            yield Frame(timestamp=round(t - 0.01, 6), image=Image.new("RGB", SIZE, colour(i)), index=i)

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ExplodingReader(FakeReader):
    """A reader that fails the test if anything tries to decode with it."""

    def iter_frames(self, targets: Sequence[float], *, max_side: int | None = None) -> Iterator[Frame]:
        raise AssertionError("the cache decoded although a complete entry exists")


GRID = [float(i) for i in range(12)]


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not really a video, the key only looks at the file's identity" * 10)
    return path


@pytest.fixture
def cache(tmp_path: Path) -> FrameCache:
    return FrameCache(tmp_path / "cache")


def fill(cache: FrameCache, key: str, reader: VideoReader | None = None, grid: Sequence[float] = GRID) -> list[Frame]:
    return list(cache.frames(reader or FakeReader(), grid, key=key))


def key_for(cache: FrameCache, video: Path, **kw: object) -> str:
    args: dict[str, object] = {"fps": 1.0, "max_side": 448, "start": None, "end": None}
    args.update(kw)
    return cache.key(str(video), **args)  # type: ignore[arg-type]


def leftovers(cache: FrameCache) -> list[str]:
    return sorted(p.name for p in cache.root.iterdir() if p.name.startswith("."))


def test_fake_reader_satisfies_protocol() -> None:
    assert isinstance(FakeReader(), VideoReader)


def test_second_request_reads_disk_and_does_not_decode(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    reader = FakeReader()
    first = fill(cache, key, reader)
    assert reader.calls == [(len(GRID), 448)]  # decoded at the key's frame size
    assert [f.index for f in first] == list(range(len(GRID)))

    second = list(cache.frames(ExplodingReader(), GRID, key=key))
    assert [f.index for f in second] == [f.index for f in first]
    assert [f.timestamp for f in second] == [f.timestamp for f in first]
    for f in second:
        assert f.index is not None
        assert_is_frame_of(f, f.index)
        assert f.path is not None
        assert f.path.is_file()
    assert leftovers(cache) == []


def test_lookup_and_load_after_selection(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    assert cache.lookup(key) is None
    with pytest.raises(CacheMissError):
        cache.load(key, [0])

    reader = FakeReader(lost=(4.0, 6.0))
    frames = fill(cache, key, reader)
    assert [f.index for f in frames] == [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]

    entry = cache.lookup(key)
    assert entry is not None
    assert entry.indices == (0, 1, 2, 3, 6, 7, 8, 9, 10, 11)
    assert entry.timestamps == tuple(f.timestamp for f in frames)
    assert entry.lost_spans == ((4.0, 6.0),)
    assert entry.n_targets == len(GRID)
    assert entry.max_side == 448
    assert entry.n_bytes > 0

    chosen = cache.load(key, [9, 2, 5, 0])  # 5 lies in the lost span: skipped
    assert [f.index for f in chosen] == [9, 2, 0]
    for f in chosen:
        assert f.index is not None
        assert_is_frame_of(f, f.index)
        assert f.timestamp == pytest.approx(f.index - 0.01)
    with pytest.raises(InvalidArgumentError, match="outside the cached grid"):
        cache.load(key, [len(GRID)])


def test_key_is_stable_and_changes_with_rate_size_and_range(cache: FrameCache, video: Path) -> None:
    base = key_for(cache, video)
    assert key_for(cache, video) == base
    assert FrameCache(cache.root / "elsewhere").key(str(video), fps=1.0, max_side=448, start=None, end=None) == base
    variants = [
        key_for(cache, video, fps=2.0),
        key_for(cache, video, max_side=224),
        key_for(cache, video, max_side=None),
        key_for(cache, video, start=5.0),
        key_for(cache, video, end=30.0),
        key_for(cache, video, start=5.0, end=30.0),
    ]
    assert len({base, *variants}) == len(variants) + 1
    assert base.endswith("-448")
    assert key_for(cache, video, max_side=None).endswith("-full")


def test_key_changes_when_the_file_changes(cache: FrameCache, video: Path) -> None:
    before = key_for(cache, video)
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch
    touched = key_for(cache, video)
    assert touched != before

    # rewritten with content of the same size and the same mtime: the inode differs
    data = video.read_bytes()
    replacement = video.with_suffix(".new")
    replacement.write_bytes(data[::-1])
    os.utime(replacement, ns=(video.stat().st_atime_ns, video.stat().st_mtime_ns))
    os.replace(replacement, video)
    assert key_for(cache, video) not in {before, touched}

    # a relative path and a symlink name the same file
    link = video.parent / "link.mp4"
    link.symlink_to(video)
    assert key_for(cache, link) == key_for(cache, video)


def test_key_of_a_frame_folder_follows_its_listing(cache: FrameCache, tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", SIZE, colour(i)).save(folder / f"{i:04d}.jpg")
    k1 = key_for(cache, folder)
    assert key_for(cache, folder) == k1
    Image.new("RGB", SIZE, colour(3)).save(folder / "0003.jpg")
    k2 = key_for(cache, folder)
    assert k2 != k1
    (folder / "0001.jpg").write_bytes((folder / "0001.jpg").read_bytes() + b"\0")
    k3 = key_for(cache, folder)
    assert k3 not in {k1, k2}
    (folder / "0003.jpg").rename(folder / "0009.jpg")
    assert key_for(cache, folder) not in {k1, k2, k3}


def test_key_of_a_url_and_bad_arguments(cache: FrameCache, tmp_path: Path, video: Path) -> None:
    url = "https://example.com/videos/talk.mp4"
    k = cache.key(url, fps=1.0, max_side=448, start=None, end=None)
    assert k == cache.key(url, fps=1.0, max_side=448, start=None, end=None)
    assert k != cache.key(url + "?v=2", fps=1.0, max_side=448, start=None, end=None)
    # a file:// URL names the local file: same key as its path, and it follows the file's changes
    assert cache.key(video.as_uri(), fps=1.0, max_side=448, start=None, end=None) == key_for(cache, video)
    with pytest.raises(VideoNotFoundError, match="no such file"):
        key_for(cache, tmp_path / "missing.mp4")
    for bad in (
        {"fps": 0.0},
        {"fps": float("nan")},
        {"max_side": 0},
        {"max_side": 1.5},
        {"start": -1.0},
        {"end": float("inf")},
    ):
        with pytest.raises(InvalidArgumentError):
            key_for(cache, video, **bad)


@pytest.mark.parametrize("bad_key", ["", "../../etc", "0" * 32, "0" * 32 + "-../x", "G" * 32 + "-448"])
def test_malformed_keys_are_refused(cache: FrameCache, bad_key: str) -> None:
    with pytest.raises(InvalidArgumentError, match="not a frame cache key"):
        cache.lookup(bad_key)
    with pytest.raises(InvalidArgumentError):
        cache.frames(ExplodingReader(), GRID, key=bad_key)  # refused at the call, before iterating
    with pytest.raises(InvalidArgumentError):
        cache.load(bad_key, [0])
    assert not cache.root.exists() or not any(cache.root.iterdir())


def _delete_a_jpeg(entry: Path) -> None:
    (entry / "000003.jpg").unlink()


def _truncate_a_jpeg(entry: Path) -> None:
    path = entry / "000005.jpg"
    path.write_bytes(path.read_bytes()[:100])


def _flip_a_byte(entry: Path) -> None:
    # same size, different content: only the checksum can tell
    path = entry / "000007.jpg"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _swap_two_jpegs(entry: Path) -> None:
    a, b = entry / "000001.jpg", entry / "000002.jpg"
    tmp = entry / "swap"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def _garble_manifest(entry: Path) -> None:
    path = entry / "manifest.json"
    path.write_text(path.read_text()[:-40] + "garbage", encoding="utf-8")


def _manifest_of_wrong_shape(entry: Path) -> None:
    path = entry / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["frames"] = [{"index": "x"}]
    path.write_text(json.dumps(manifest))


def _delete_manifest(entry: Path) -> None:
    (entry / "manifest.json").unlink()


@pytest.mark.parametrize(
    "damage",
    [
        _delete_a_jpeg,
        _truncate_a_jpeg,
        _flip_a_byte,
        _swap_two_jpegs,
        _garble_manifest,
        _manifest_of_wrong_shape,
        _delete_manifest,
    ],
)
def test_damaged_entry_is_detected_removed_and_rebuilt(cache: FrameCache, video: Path, damage) -> None:
    key = key_for(cache, video)
    fill(cache, key)
    damage(cache.root / key)

    reader = FakeReader()
    frames = list(cache.frames(reader, GRID, key=key))
    assert reader.calls, "a damaged entry must not be replayed"
    assert [f.index for f in frames] == list(range(len(GRID)))
    for f in frames:
        assert f.index is not None
        assert_is_frame_of(f, f.index)

    # rebuilt: the next request is served from disk again, with the right frames
    again = list(cache.frames(ExplodingReader(), GRID, key=key))
    for f in again:
        assert f.index is not None
        assert_is_frame_of(f, f.index)
    assert leftovers(cache) == []


def test_load_from_a_damaged_entry_raises_a_miss_never_wrong_frames(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    fill(cache, key)
    _flip_a_byte(cache.root / key)
    assert [f.index for f in cache.load(key, [1, 2])] == [1, 2]  # undamaged frames still load
    with pytest.raises(CacheMissError, match="damaged"):
        cache.load(key, [7])
    assert cache.lookup(key) is None


def test_lookup_removes_a_truncated_entry(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    fill(cache, key)
    _truncate_a_jpeg(cache.root / key)
    assert cache.lookup(key) is None
    assert not (cache.root / key).exists()


def test_early_stop_commits_nothing(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    stream = cache.frames(FakeReader(), GRID, key=key)
    got = [next(stream) for _ in range(3)]
    assert [f.index for f in got] == [0, 1, 2]
    assert any(p.name.startswith(".tmp-") for p in cache.root.iterdir())  # being written
    stream.close()
    assert cache.lookup(key) is None
    assert leftovers(cache) == []

    # a reader that fails half-way: the error reaches the caller and nothing is committed
    with pytest.raises(RuntimeError, match="decoder exploded"):
        fill(cache, key, FakeReader(fail_after=5))
    assert cache.lookup(key) is None
    assert leftovers(cache) == []

    reader = FakeReader()
    assert len(fill(cache, key, reader)) == len(GRID)
    assert reader.decoded == len(GRID)


def test_frames_for_other_targets_under_the_same_key_are_not_replayed(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    fill(cache, key)
    other = [t + 0.5 for t in GRID]
    reader = FakeReader()
    frames = list(cache.frames(reader, other, key=key))
    assert reader.calls
    assert [f.timestamp for f in frames] == [pytest.approx(t - 0.01) for t in other]


def test_interleaved_writers_of_one_key_do_not_corrupt_each_other(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    a = cache.frames(FakeReader(), GRID, key=key)
    b = cache.frames(FakeReader(), GRID, key=key)
    out_a: list[Frame] = []
    out_b: list[Frame] = []
    for fa, fb in zip(a, b, strict=False):
        out_a.append(fa)
        out_b.append(fb)
    out_a.extend(a)
    out_b.extend(b)
    assert [f.index for f in out_a] == [f.index for f in out_b] == list(range(len(GRID)))
    entry = cache.lookup(key)
    assert entry is not None
    assert entry.indices == tuple(range(len(GRID)))
    for f in cache.frames(ExplodingReader(), GRID, key=key):
        assert f.index is not None
        assert_is_frame_of(f, f.index)
    assert leftovers(cache) == []


def _write_in_child(root: str, key: str) -> int:
    return len(list(FrameCache(root).frames(FakeReader(), GRID, key=key)))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()")
def test_concurrent_processes_writing_one_key(cache: FrameCache, video: Path) -> None:
    key = key_for(cache, video)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        counts = pool.starmap(_write_in_child, [(str(cache.root), key)] * 4)
    assert counts == [len(GRID)] * 4
    for f in cache.frames(ExplodingReader(), GRID, key=key):
        assert f.index is not None
        assert_is_frame_of(f, f.index)
    assert leftovers(cache) == []


def test_least_recently_used_entries_are_evicted(tmp_path: Path, video: Path) -> None:
    probe = FrameCache(tmp_path / "probe", max_bytes=None)
    k = key_for(probe, video)
    fill(probe, k)
    one = probe.total_bytes()
    assert one > 0

    cache = FrameCache(tmp_path / "lru", max_bytes=int(one * 2.5))
    keys = [key_for(cache, video, start=float(s)) for s in range(3)]
    fill(cache, keys[0])
    fill(cache, keys[1])
    assert cache.lookup(keys[0]) is not None
    assert cache.lookup(keys[1]) is not None
    list(cache.frames(ExplodingReader(), GRID, key=keys[0]))  # keys[0] used last → keys[1] is the LRU
    fill(cache, keys[2])
    assert cache.lookup(keys[1]) is None
    assert cache.lookup(keys[0]) is not None
    assert cache.lookup(keys[2]) is not None
    assert cache.max_bytes is not None
    assert cache.total_bytes() <= cache.max_bytes

    # an entry larger than the bound on its own is kept (the pipeline still has to load from it)
    tiny = FrameCache(tmp_path / "tiny", max_bytes=1)
    fill(tiny, keys[0])
    assert tiny.lookup(keys[0]) is not None
    fill(tiny, keys[1])
    assert tiny.lookup(keys[0]) is None
    assert tiny.lookup(keys[1]) is not None


def test_clear(cache: FrameCache, video: Path) -> None:
    keys = [key_for(cache, video, fps=f) for f in (1.0, 2.0)]
    for k in keys:
        fill(cache, k)
    assert cache.total_bytes() > 0
    cache.clear()
    assert cache.total_bytes() == 0
    assert all(cache.lookup(k) is None for k in keys)


def test_temporary_cache_is_deleted_on_exit(video: Path) -> None:
    with FrameCache.temporary() as cache:
        root = cache.root
        key = key_for(cache, video)
        fill(cache, key)
        assert [f.index for f in cache.load(key, [3])] == [3]
        assert root.is_dir()
    assert not root.exists()


def test_default_root_and_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import platformdirs

    monkeypatch.delenv(ENV_CACHE_DIR, raising=False)
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("gens-tools")) / "frames"
    assert FrameCache().root == default_cache_dir()
    monkeypatch.setenv(ENV_CACHE_DIR, str(tmp_path / "mine"))
    assert FrameCache().root == tmp_path / "mine" / "frames"
    assert FrameCache(tmp_path / "explicit").root == tmp_path / "explicit"


def test_unwritable_cache_folder_gives_a_typed_error(tmp_path: Path, video: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cache = FrameCache(blocker / "cache")
    key = key_for(cache, video)
    with pytest.raises(FrameCacheError, match="cannot write the frame cache"):
        fill(cache, key)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(InvalidArgumentError):
        FrameCache(max_bytes=0)
    with pytest.raises(InvalidArgumentError):
        FrameCache(jpeg_quality=101)


def test_real_video_through_the_cache(tmp_path: Path) -> None:
    from gens_tools.synthetic import make_test_video, read_time_code
    from gens_tools.video._base import sampling_grid
    from gens_tools.video._pyav import PyAVReader

    path = make_test_video(tmp_path / "clip.mp4", duration=8.0, fps=25.0, gop=50)
    cache = FrameCache(tmp_path / "cache")
    reader = PyAVReader(path)
    grid = sampling_grid(reader.info, 1.0)
    key = cache.key(str(path), fps=1.0, max_side=96, start=None, end=None)
    decoded = list(cache.frames(reader, grid, key=key))
    assert [f.image.size for f in decoded if f.image is not None] == [(96, 54)] * len(grid)

    replayed = list(cache.frames(ExplodingReader(), grid, key=key))
    assert [f.timestamp for f in replayed] == [f.timestamp for f in decoded] == grid
    for f in replayed:
        assert f.image is not None
        assert f.image.size == (96, 54)
        assert read_time_code(f.image) == pytest.approx(f.timestamp, abs=1e-3)
    chosen = cache.load(key, [6, 3])
    assert [read_time_code(f.require_image()) for f in chosen] == [6.0, 3.0]

    # the file is rewritten (a new recording under the same name): the old entry no longer applies
    make_test_video(path, duration=4.0, fps=25.0)
    assert cache.key(str(path), fps=1.0, max_side=96, start=None, end=None) != key


def test_a_write_failure_in_the_background_writer_stops_the_pass_and_commits_nothing(
    cache: FrameCache, video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from gens_tools.video import _cache

    written = 0
    real = _cache.encode_jpeg

    def disk_fills_up(image: Image.Image, **kw: object) -> bytes:
        nonlocal written
        written += 1
        if written > 3:
            raise OSError(28, "No space left on device")
        return real(image, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_cache, "encode_jpeg", disk_fills_up)
    key = key_for(cache, video)
    with pytest.raises(FrameCacheError, match="No space left on device"):
        fill(cache, key, grid=[float(i) for i in range(60)])
    assert cache.lookup(key) is None
    assert leftovers(cache) == []
    assert not any(t.name == "gens-tools-cache-writer" for t in threading.enumerate())


def test_frames_read_from_a_temporary_cache_carry_no_path(video: Path) -> None:
    # Its folder is deleted on exit: a path would point at nothing (the `--no-cache` bug).
    with FrameCache.temporary() as cache:
        key = key_for(cache, video)
        fill(cache, key)
        frames = cache.load(key, [1, 2])
        replayed = list(cache.frames(ExplodingReader(), GRID, key=key))
    assert [f.path for f in frames] == [None, None]
    assert {f.path for f in replayed} == {None}
    assert all(f.image is not None for f in frames)


def test_entries_name_their_video_and_clear_one_video(tmp_path: Path, cache: FrameCache) -> None:
    from gens_tools.synthetic import make_test_video
    from gens_tools.video._base import sampling_grid
    from gens_tools.video._pyav import PyAVReader

    videos = [make_test_video(tmp_path / f"v{i}.mp4", duration=3.0, fps=10.0, size=(64, 36)) for i in range(2)]
    for path in videos:
        reader = PyAVReader(path)
        key = cache.key(str(path), fps=2.0, max_side=None, start=None, end=None)
        list(cache.frames(reader, sampling_grid(reader.info, 2.0), key=key))
    entries = cache.entries()
    assert sorted(Path(e.source or "").name for e in entries) == ["v0.mp4", "v1.mp4"]
    assert {e.fps for e in entries} == {2.0}
    assert all(e.n_bytes > 0 and e.last_used > 0 for e in entries)
    # A rewritten video is still the same video for `clear`: its stale entries go too.
    make_test_video(videos[0], duration=2.0, fps=10.0, size=(64, 36))
    removed = cache.clear(videos[0])
    assert [Path(e.source or "").name for e in removed] == ["v0.mp4"]
    assert [Path(e.source or "").name for e in cache.entries()] == ["v1.mp4"]


def test_an_entry_of_an_older_version_is_rebuilt_without_a_warning(
    cache: FrameCache, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = key_for(cache, video)
    fill(cache, key)
    manifest = cache.root / key / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format"] = 1  # quality 95, no video named
    manifest.write_text(json.dumps(data))
    with caplog.at_level("INFO", logger="gens_tools.video._cache"):
        assert cache.lookup(key) is None
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "another version" in caplog.records[0].getMessage()
    assert len(fill(cache, key)) == len(GRID)
    assert cache.lookup(key) is not None


def test_a_sweep_never_takes_a_starting_writer_for_a_dead_one(tmp_path: Path) -> None:
    """Writers start while other calls sweep the cache for dead writers' folders (20 concurrent agent calls
    do this). A writer's folder must never look abandoned while its writer lives, not even while the writer
    is taking its lock: CI once lost a live writer's folder that way ("No such file or directory")."""
    import threading

    from gens_tools.video._cache import _TMP_PREFIX, _WriterLock

    cache = FrameCache(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    stop = threading.Event()

    def sweep() -> None:
        while not stop.is_set():
            cache._sweep_stale()

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for t in sweepers:
        t.start()
    lost = 0
    try:
        for i in range(3000):
            folder = tmp_path / f"{_TMP_PREFIX}k-{i}"
            folder.mkdir()
            lock = _WriterLock(folder)
            if not folder.is_dir():
                lost += 1
            lock.release()
    finally:
        stop.set()
        for t in sweepers:
            t.join()
    assert lost == 0
