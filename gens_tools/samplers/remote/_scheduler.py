"""Running many windows at once, in order: each window is encoded in a worker thread (its frames released
right after), then sent when one of ``concurrency`` request slots is free, slots being taken in window order.
Results come back in window order while the input is consumed lazily, so only a few windows' frames are
held at once. Blocking callers use a background event loop (:class:`LoopThread`); async callers use theirs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import contextlib
import threading
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from gens_tools.samplers._base import Window, WindowScores

if TYPE_CHECKING:
    from openai import AsyncOpenAI

#: Windows whose frames are held at once while being encoded (the one being decoded comes on top).
PREPARE_AHEAD = 2

T = TypeVar("T")
J = TypeVar("J")


class LoopThread:
    """An event loop running in a daemon thread, with the async client that lives on it."""

    def __init__(self, client: AsyncOpenAI) -> None:
        self.client = client
        self._stopped = False
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="gens-remote-loop", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> cf.Future[T]:
        """Run ``coro`` on the loop; its result or exception comes back through the future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    async def _shutdown(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.loop.shutdown_default_executor()

    def stop(self) -> None:
        """Close the client, cancel what still runs and stop the loop. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if threading.current_thread() is self.thread:  # pragma: no cover - defensive
            self.loop.call_soon(self.loop.stop)
            return
        if self.loop.is_running():
            with contextlib.suppress(Exception):
                self.submit(self._shutdown()).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass(frozen=True, slots=True)
class Stages(Generic[J]):
    """The two stages of scoring a window. ``prepare`` blocks (it runs in a worker thread) and turns the
    window into a job, or already into a result when there is nothing to send; ``deliver`` sends a job."""

    prepare: Callable[[Window], J | WindowScores]
    deliver: Callable[[J], Awaitable[WindowScores]]


async def run_window(
    window: Window,
    stages: Stages[Any],
    send_slots: asyncio.Semaphore,
    on_prepared: Callable[[], object] | None = None,
    prev_turn: asyncio.Event | None = None,
    turn: asyncio.Event | None = None,
) -> WindowScores:
    """Prepare a window (its frames are released right after, then ``on_prepared`` is called), then deliver
    it while holding one of ``send_slots``.

    Slots are taken in window order (``prev_turn`` is set once the previous window has its slot, ``turn``
    once this one has), so a window that encodes faster never overtakes an earlier one."""
    try:
        try:
            prepared = await asyncio.to_thread(stages.prepare, window)
        finally:
            if on_prepared is not None:
                on_prepared()
        del window  # from here on only the prepared job is kept
        if isinstance(prepared, WindowScores):
            return prepared
        if prev_turn is not None:
            await prev_turn.wait()
        await send_slots.acquire()
    finally:
        if turn is not None:
            turn.set()
    try:
        return await stages.deliver(prepared)
    finally:
        send_slots.release()


# The scheduling logic exists once, in :class:`_Schedule`: a generator that says what to do next (take a
# window, start one, wait, hand a result out) and is told what came of it. The blocking and the async callers
# below only carry out those steps, each in its own way.


@dataclass(slots=True)
class _Start:
    """Start scoring ``window`` (its turn comes after ``prev_turn``); reply ``(prepared flag, result)``."""

    window: Window
    prev_turn: asyncio.Event | None
    turn: asyncio.Event


@dataclass(slots=True)
class _Wait:
    """Wait until one of ``pending`` is done; reply nothing."""

    pending: list[Any]


@dataclass(slots=True)
class _Output:
    """The next result in window order (a finished future); reply nothing."""

    result: Any


class _Pull:
    """Take the next window from the source; reply it, or ``None`` when there is none."""


PULL = _Pull()
_Step = _Pull | _Start | _Wait | _Output


class _Schedule:
    """What to do next to score windows in order with at most ``concurrency`` deliveries at once: a window is
    taken while fewer than :data:`PREPARE_AHEAD` are being prepared and fewer than ``2 × concurrency`` are
    unfinished; a result goes out once every earlier one has; an error raised by any window (one the user must
    fix) is raised at once, out of order.

    A caller asks for :meth:`next_step` until it is ``None``, carries each step out and, for a
    :data:`PULL` or a :class:`_Start`, tells the schedule what came of it with :meth:`reply`."""

    def __init__(self, stages: Stages[Any], concurrency: int) -> None:
        self._stages = stages
        self._send_slots = asyncio.Semaphore(concurrency)
        self._started: _Started[Any, Any] = _Started(concurrency)
        self._steps = self._plan()
        self._reply: Any = None

    def _plan(self) -> Generator[_Step, Any, None]:
        started = self._started
        exhausted = False
        while True:
            while not exhausted and started.may_pull():
                window: Window | None = yield PULL
                if window is None:
                    exhausted = True
                    break
                prev_turn, turn = started.next_turns()
                flag, result = yield _Start(window, prev_turn, turn)
                window = None  # the frames are the task's now, released once encoded
                started.add(flag, result)
            if not started.results:
                return
            if not started.results[0].done():
                yield _Wait(started.unfinished())
                started.raise_first_fatal()
                continue
            yield _Output(started.pop())

    def next_step(self) -> _Step | None:
        """What to do next; ``None`` when every window is done."""
        reply, self._reply = self._reply, None
        try:
            return self._steps.send(reply)
        except StopIteration:
            return None

    def reply(self, value: Any) -> None:
        """What came of the last step: the window pulled (``None``: no more), or ``(prepared flag, result)``
        of the window started."""
        self._reply = value

    def run(self, step: _Start, flag: cf.Future[None] | asyncio.Future[None]) -> Coroutine[Any, Any, WindowScores]:
        """The coroutine that scores the window of ``step``, marking ``flag`` once it is prepared."""
        return run_window(step.window, self._stages, self._send_slots, _setter(flag), step.prev_turn, step.turn)

    def cancel(self) -> list[Any]:
        """Cancel what still runs; the cancelled futures."""
        results = list(self._started.results)
        for future in results:
            future.cancel()
        return results


def score_in_order(
    runner: LoopThread, windows: Iterable[Window], stages: Stages[Any], concurrency: int
) -> Iterator[WindowScores]:
    """Score ``windows`` on ``runner``'s loop with at most ``concurrency`` deliveries at once, yielding results
    in window order (see :class:`_Schedule`). ``windows`` is consumed in the calling thread; windows still
    running are cancelled when the iterator is closed."""
    source = iter(windows)
    schedule = _Schedule(stages, concurrency)
    try:
        while (step := schedule.next_step()) is not None:
            if isinstance(step, _Pull):
                schedule.reply(next(source, None))
            elif isinstance(step, _Start):
                started: cf.Future[None] = cf.Future()
                schedule.reply((started, runner.submit(schedule.run(step, started))))
            elif isinstance(step, _Wait):
                cf.wait(step.pending, return_when=cf.FIRST_COMPLETED)
            else:
                yield step.result.result()
    finally:
        schedule.cancel()


async def ascore_in_order(
    windows: Iterable[Window] | AsyncIterable[Window], stages: Stages[Any], concurrency: int
) -> AsyncGenerator[WindowScores, None]:
    """Async form of :func:`score_in_order` on the running loop, with the same bounds and order.
    ``windows`` may be an async iterable (use one when producing a window blocks, e.g. decoding)."""
    source = _aiter_windows(windows)
    schedule = _Schedule(stages, concurrency)
    try:
        while (step := schedule.next_step()) is not None:
            if isinstance(step, _Pull):
                schedule.reply(await anext(source, None))
            elif isinstance(step, _Start):
                prepared = asyncio.get_running_loop().create_future()
                schedule.reply((prepared, asyncio.ensure_future(schedule.run(step, prepared))))
            elif isinstance(step, _Wait):
                await asyncio.wait(step.pending, return_when=asyncio.FIRST_COMPLETED)
            else:
                yield step.result.result()
    finally:
        if cancelled := schedule.cancel():
            await asyncio.gather(*cancelled, return_exceptions=True)


class _Future(Protocol):
    def done(self) -> bool: ...

    def cancelled(self) -> bool: ...

    def exception(self) -> BaseException | None: ...


F = TypeVar("F", bound=_Future)
R = TypeVar("R", bound=_Future)


class _Started(Generic[F, R]):
    """The windows started and not yet yielded, in window order: for each, a flag set once it is prepared
    (its frames released) and its result."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.flags: deque[F] = deque()
        self.results: deque[R] = deque()
        self._last_turn: asyncio.Event | None = None

    def may_pull(self) -> bool:
        """Whether another window may be taken from the source: few enough windows hold frames (being
        prepared) and few enough are waiting for, or in, a request."""
        preparing = sum(not f.done() for f in self.flags)
        unfinished = sum(not f.done() for f in self.results)
        return preparing < PREPARE_AHEAD and unfinished < 2 * self.concurrency

    def next_turns(self) -> tuple[asyncio.Event | None, asyncio.Event]:
        """The previous window's turn event (``None`` for the first) and a new one for the next window."""
        prev, self._last_turn = self._last_turn, asyncio.Event()
        return prev, self._last_turn

    def add(self, flag: F, result: R) -> None:
        """Track a started window."""
        self.flags.append(flag)
        self.results.append(result)

    def unfinished(self) -> list[Any]:
        """What is still running: flags of windows being prepared, then results not yet in."""
        return [f for f in self.flags if not f.done()] + [r for r in self.results if not r.done()]

    def pop(self) -> R:
        """Stop tracking the first window; its result."""
        self.flags.popleft()
        return self.results.popleft()

    def raise_first_fatal(self) -> None:
        """Raise at once when a finished window failed in a way the user must fix (out of window order)."""
        for future in self.results:
            if future.done() and not future.cancelled():
                exc = future.exception()
                if exc is not None:
                    raise exc


def _setter(flag: cf.Future[None] | asyncio.Future[None]) -> Callable[[], object]:
    """A callback that marks ``flag`` done (once)."""

    def mark() -> None:
        if not flag.done():
            flag.set_result(None)

    return mark


class _SyncWindows:
    """A sync iterable of windows as an async iterator that keeps no reference to the last window given."""

    def __init__(self, windows: Iterable[Window]) -> None:
        self._it = iter(windows)

    def __aiter__(self) -> _SyncWindows:
        return self

    async def __anext__(self) -> Window:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None


def _aiter_windows(windows: Iterable[Window] | AsyncIterable[Window]) -> AsyncIterator[Window]:
    if isinstance(windows, AsyncIterable):
        return aiter(windows)
    return _SyncWindows(windows)
