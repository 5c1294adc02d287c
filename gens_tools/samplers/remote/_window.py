"""Scoring one window remotely: encode its frames into request bodies, send them, and read the answers back
into per-frame scores (a window sent in several parts is mapped back to its own frame numbers)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.samplers._base import Window, WindowScores
from gens_tools.samplers._parser import MAX_OUTPUT_CHARS, ParsedOutput, parse_gens_output
from gens_tools.samplers.remote._failures import CallState, FailureReport, is_too_large
from gens_tools.samplers.remote._reply import Reply, read_reply
from gens_tools.samplers.remote._size_guard import MIN_REQUEST_BYTES, Part, SizeGuard, TooLarge
from gens_tools.samplers.remote._transport import import_openai, post_chat

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

#: How many times one window adapts to HTTP 413 (a lower limit, the window resent smaller).
MAX_413_ROUNDS = 4


@dataclass(slots=True)
class PreparedWindow:
    """A window encoded into request bodies; its frames are no longer needed."""

    index: int
    cache_key: str | None
    parts: list[Part]
    notes: list[str]


def cache_key(window: Window) -> str | None:
    """The value of the cache-key header for ``window``: the same for every question about it."""
    if window.video_key is None:
        return None
    digest = hashlib.sha256(f"{window.video_key}|{window.index}".encode()).hexdigest()
    return digest[:24]


class WindowScorer:
    """Prepares and delivers windows for one sampler (see :mod:`gens_tools.samplers.remote._scheduler` for
    how several are run at once)."""

    def __init__(self, guard: SizeGuard, failures: FailureReport) -> None:
        self.guard = guard
        self.failures = failures

    def prepare(self, window: Window, question: str) -> PreparedWindow | WindowScores:
        """Encode a window into request bodies (blocking: run it in a worker thread). Returns an unscored
        result when nothing can be sent; raises :class:`InvalidArgumentError` for frames without images."""
        n = len(window.frames)
        if n == 0:
            return WindowScores(window.index, None, issues=["window has no frames"])
        images = _images_of(window)
        try:
            parts, notes = self.guard.fit(images, question, self.guard.limit)
        except TooLarge as exc:
            return WindowScores(window.index, None, issues=[f"request-size guard: {exc}"])
        return PreparedWindow(window.index, cache_key(window), parts, notes)

    async def deliver(self, client: AsyncOpenAI, job: PreparedWindow, question: str, call: CallState) -> WindowScores:
        """Send a prepared window's parts one after another and combine the answers. A part the server
        refuses as too large (HTTP 413) lowers the size limit for every later request and is resent smaller.
        """
        openai = import_openai()
        t0 = time.perf_counter()
        issues: list[str] = list(job.notes)
        queue: deque[Part] = deque(job.parts)
        replies: list[tuple[Part, Reply]] = []
        rounds_413 = 0
        usage: dict[str, Any] = {"requests": 0, "retries": 0, "request_bytes": 0}
        while queue:
            part = queue.popleft()
            limit = self.guard.limit
            if part.body_bytes > limit:  # prepared before the server taught us a lower limit (413)
                if not await self._refit(part, question, limit, queue, issues):
                    return _unscored(job, issues, usage, t0)
                continue
            try:
                content, retries = await post_chat(client, part.body, job.cache_key)
            except openai.OpenAIError as exc:
                if is_too_large(exc) and rounds_413 < MAX_413_ROUNDS:
                    call.reached = True
                    rounds_413 += 1
                    new_limit = int(part.body_bytes * 0.7)
                    if new_limit < MIN_REQUEST_BYTES:
                        issues.append(f"server rejects even {part.body_bytes}-byte requests (HTTP 413)")
                        return _unscored(job, issues, usage, t0)
                    self.guard.lower(new_limit)
                    issues.append(
                        f"server rejected a {part.body_bytes}-byte request as too large (HTTP 413); "
                        f"sending at most {new_limit} bytes from now on"
                    )
                    if not await self._refit(part, question, new_limit, queue, issues):
                        return _unscored(job, issues, usage, t0)
                    continue
                issues.append(await self.failures.describe(exc, client, call))
                return _unscored(job, issues, usage, t0)
            reply = read_reply(content, retries, self.failures.redact)
            call.reached = True
            usage["requests"] += 1
            usage["retries"] += reply.retries
            usage["request_bytes"] += part.body_bytes
            for k, v in reply.usage.items():
                usage[k] = usage.get(k, 0) + v
            if reply.problem is not None:
                issues.append(reply.problem)
                return _unscored(job, issues, usage, t0)
            replies.append((part, reply))
        usage["image_side"] = min(p.side for p, _ in replies)
        usage["jpeg_quality"] = min(p.quality for p, _ in replies)
        return self._combine(job, replies, issues, usage, t0)

    async def _refit(self, part: Part, question: str, limit: int, queue: deque[Part], issues: list[str]) -> bool:
        """Re-encode ``part`` into requests of at most ``limit`` bytes, to be sent next (at the front of
        ``queue``). Returns ``False``, with the reason added to ``issues``, when it cannot be made to fit."""
        try:
            sub, notes = await asyncio.to_thread(self.guard.refit, part, question, limit)
        except TooLarge as exc:
            issues.append(f"request-size guard: {exc}")
            return False
        issues += notes
        queue.extendleft(reversed(sub))
        return True

    def _combine(
        self,
        job: PreparedWindow,
        replies: list[tuple[Part, Reply]],
        issues: list[str],
        usage: dict[str, Any],
        t0: float,
    ) -> WindowScores:
        """Parse each part's answer and join the parts' scores in frame order (unscored if any part is)."""
        replies.sort(key=lambda pr: pr[0].offset)
        scores: list[float] | None = []
        repaired = False
        raws: list[str] = []
        several = len(replies) > 1
        for part, reply in replies:
            assert reply.text is not None
            n = part.n
            label = f"frames {part.offset}-{part.offset + n - 1}: " if several else ""
            raws.append(reply.text[:MAX_OUTPUT_CHARS])  # what the parser reads; a report need not hold more
            if reply.finish_reason == "length":
                max_tokens = self.guard.request.max_tokens_for(n)
                issues.append(f"{label}the answer was cut at the token limit ({max_tokens})")
            try:
                parsed = parse_gens_output(reply.text, n)
            except Exception as exc:  # pragma: no cover - the parser is fuzzed never to raise; a window must not crash
                log.exception("GenS parser failed")
                parsed = ParsedOutput(None, repaired=True, issues=[f"the answer could not be parsed ({exc!r:.120})"])
            repaired = repaired or parsed.repaired
            issues += [label + issue for issue in parsed.issues]
            if parsed.scores is None or scores is None:
                scores = None
            else:
                scores += parsed.scores
        usage["latency_s"] = round(time.perf_counter() - t0, 4)
        raw_output = raws[0] if not several else "\n".join(raws)
        return WindowScores(job.index, scores, raw_output=raw_output, repaired=repaired, issues=issues, usage=usage)


def _images_of(window: Window) -> list[Image.Image]:
    images = []
    for frame in window.frames:
        try:
            images.append(frame.require_image())
        except (ValueError, OSError) as exc:
            raise InvalidArgumentError(
                f"window {window.index}: the frame at {frame.label} has no readable image ({exc}); "
                "the remote sampler needs decoded frames"
            ) from exc
    return images


def _unscored(job: PreparedWindow, issues: list[str], usage: dict[str, Any], t0: float) -> WindowScores:
    usage["latency_s"] = round(time.perf_counter() - t0, 4)
    log.info("window %d unscored: %s", job.index, "; ".join(issues))
    return WindowScores(job.index, None, raw_output=None, repaired=False, issues=issues, usage=usage)
