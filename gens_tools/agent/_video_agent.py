"""A multi-step video QA agent, free of any agent framework: look, answer with a confidence, and — when
unsure — look again where the assistant says, more closely, until confident or out of budget.

::

    from gens_tools.agent import VideoAgent
    from gens_tools.assistants import make_assistant

    agent = VideoAgent(make_assistant("gpt-4o"), "gens-3b")
    result = agent.ask("lecture.mp4", "What is the total on the last slide?")
    print(result.text, result.cited_labels)
    for step in result.steps:
        print(step.index, step.range_text(), step.fps, step.confidence)

Each step samples frames for a question over a range (the sampler's frame cache and prefix caches make a
second look at the same video cheap), sends them — and the frames earlier answers cited — to the assistant
within its limits (the budget planner), and asks for an answer, a confidence and what to look at next
(:data:`~gens_tools.agent.AGENT_REPLY_SCHEMA`, as structured output where the provider has it). A short range
is sampled on a finer grid (``zoom_fps``, doubled up to ``max_fps`` when the same range is asked for again).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from gens_tools._chat import one_line
from gens_tools._checks import optional_positive_int, positive_number
from gens_tools.agent._access import AccessPolicy
from gens_tools.agent._agent_reply import AGENT_REPLY_SCHEMA, AgentReply, LookNext, parse_agent_reply
from gens_tools.agent._agent_trace import (
    AgentBudget,
    AgentResult,
    AgentStep,
    SeenFrame,
    StopReason,
    range_words,
)
from gens_tools.agent._args import check_range, resolve_sampler
from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressCallback
from gens_tools.samplers import FrameSampler

if TYPE_CHECKING:
    from gens_tools.assistants import Answer, Assistant

__all__ = ["StepCallback", "VideoAgent"]

#: Called with each step as soon as it is done (``gens-tools ask --agent`` prints it).
StepCallback = Callable[[AgentStep], None]

_SAME_TIME = 0.05  # seconds: a carried frame this close to a sampled one is the same frame


@dataclass(frozen=True, slots=True)
class _Look:
    """What one step samples."""

    question: str
    start: float | None
    end: float | None
    fps: float


@dataclass(slots=True)
class _Run:
    """The state of one :meth:`VideoAgent.ask`."""

    question: str
    source: str
    start: float | None
    end: float | None
    t0: float
    steps: list[AgentStep]
    carried: list[Frame]
    looked: dict[tuple[float | None, float | None, str], float]
    duration: float | None = None

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0


class VideoAgent:
    """Answers a question about a video in steps, looking more closely where the assistant is unsure.

    Args:
        assistant: the :class:`~gens_tools.Assistant` that answers (GPT-4o, Gemini, or your own).
        sampler: a :class:`~gens_tools.FrameSampler`, a registered sampler name (built once, with
            ``sampler_options``) or ``None`` for uniform sampling.
        sampler_options: options for :func:`gens_tools.make_sampler` when ``sampler`` is a name.
        options: how to sample (:class:`~gens_tools.SamplingOptions`); its ``fps`` is the first step's grid.
        policy: when given, the video, ``k`` and the ranges are checked against it (an agent tool's policy).
        budget: how far to go (:class:`AgentBudget`, or a mapping of its fields); default 3 steps.
        k: frames for the first step (default: what the assistant's planner suggests, capped by the policy).
        zoom_k: frames for each later step (default: ``k``, at most 16).
        zoom_fps: the grid of a later step whose range is at most ``zoom_span`` seconds long.
        max_fps: the finest grid: a range asked for again is sampled at twice its last grid, up to this.
        zoom_span: longest range (seconds) sampled at ``zoom_fps``; also the length given to a range with only
            a start or an end.
        min_span: shortest range (seconds) sampled; a shorter one is widened around its middle.
        min_confidence: the confidence (0–1) at which the agent stops and answers.
        carry_cited: how many frames cited by earlier answers are shown again in later steps (0: none).
        **settings: single :class:`~gens_tools.SamplingOptions` fields, overriding those of ``options``.

    Raises:
        InvalidArgumentError: a bad setting.
    """

    def __init__(
        self,
        assistant: Assistant,
        sampler: FrameSampler | str | None = None,
        *,
        sampler_options: Mapping[str, Any] | None = None,
        options: SamplingOptions | Mapping[str, Any] | None = None,
        policy: AccessPolicy | None = None,
        budget: AgentBudget | Mapping[str, Any] | None = None,
        k: int | None = None,
        zoom_k: int | None = None,
        zoom_fps: float = 2.0,
        max_fps: float = 4.0,
        zoom_span: float = 60.0,
        min_span: float = 4.0,
        min_confidence: float = 0.8,
        carry_cited: int = 4,
        **settings: Any,
    ) -> None:
        from gens_tools.assistants import Assistant

        if not isinstance(assistant, Assistant):
            raise InvalidArgumentError(f"assistant must be an Assistant, got {type(assistant).__name__}")
        if policy is not None and not isinstance(policy, AccessPolicy):
            raise InvalidArgumentError(f"policy must be an AccessPolicy, got {type(policy).__name__}")
        checked = VideoAgent.check_settings(
            budget=budget,
            k=k,
            zoom_k=zoom_k,
            zoom_fps=zoom_fps,
            max_fps=max_fps,
            zoom_span=zoom_span,
            min_span=min_span,
            min_confidence=min_confidence,
            carry_cited=carry_cited,
        )
        self.options = SamplingOptions.build(options, **settings)
        self.policy = policy
        self.budget: AgentBudget = checked["budget"]
        self.k: int | None = checked["k"]
        self.zoom_k: int | None = checked["zoom_k"]
        self.zoom_fps: float = checked["zoom_fps"]
        self.max_fps: float = checked["max_fps"]
        self.zoom_span: float = checked["zoom_span"]
        self.min_span: float = checked["min_span"]
        self.min_confidence: float = checked["min_confidence"]
        self.carry_cited: int = checked["carry_cited"]
        self.assistant = assistant
        # Last: a sampler given by name may load a model, which a bad setting should not cost.
        self.sampler = resolve_sampler(sampler, sampler_options)
        self._owns_sampler = not isinstance(sampler, FrameSampler)

    @staticmethod
    def check_settings(
        *,
        budget: AgentBudget | Mapping[str, Any] | None = None,
        k: int | None = None,
        zoom_k: int | None = None,
        zoom_fps: float = 2.0,
        max_fps: float = 4.0,
        zoom_span: float = 60.0,
        min_span: float = 4.0,
        min_confidence: float = 0.8,
        carry_cited: int = 4,
    ) -> dict[str, Any]:
        """The agent's own settings (those of the constructor, same defaults), checked and normalised, without
        building anything: lets a caller refuse a bad setting before it loads a sampler's model.

        Raises:
            InvalidArgumentError: a bad setting, named by its argument.
        """
        if budget is None:
            budget = AgentBudget()
        elif isinstance(budget, Mapping):
            budget = AgentBudget(**budget)
        if not isinstance(budget, AgentBudget):
            raise InvalidArgumentError(f"budget must be an AgentBudget or a mapping, got {type(budget).__name__}")
        checked_zoom_fps = positive_number("zoom_fps", zoom_fps)
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, int | float):
            raise InvalidArgumentError(f"min_confidence must be a number between 0 and 1, got {min_confidence!r}")
        if not 0.0 < float(min_confidence) <= 1.0:
            raise InvalidArgumentError(f"min_confidence must be above 0 and at most 1, got {min_confidence!r}")
        if isinstance(carry_cited, bool) or not isinstance(carry_cited, int) or carry_cited < 0:
            raise InvalidArgumentError(f"carry_cited must be a whole number >= 0, got {carry_cited!r}")
        return {
            "budget": budget,
            "k": optional_positive_int("k", k),
            "zoom_k": optional_positive_int("zoom_k", zoom_k),
            "zoom_fps": checked_zoom_fps,
            "max_fps": max(positive_number("max_fps", max_fps), checked_zoom_fps),
            "zoom_span": positive_number("zoom_span", zoom_span),
            "min_span": positive_number("min_span", min_span),
            "min_confidence": float(min_confidence),
            "carry_cited": carry_cited,
        }

    def __repr__(self) -> str:
        return (
            f"VideoAgent(assistant={self.assistant!r}, sampler={self.sampler.name!r}, "
            f"max_steps={self.budget.max_steps}, min_confidence={self.min_confidence:g})"
        )

    # -- running -------------------------------------------------------------------------------------------

    def ask(
        self,
        video: str | os.PathLike[str],
        question: str,
        *,
        start: float | str | None = None,
        end: float | str | None = None,
        on_step: StepCallback | None = None,
        progress: ProgressCallback | None = None,
    ) -> AgentResult:
        """Answer ``question`` about ``video`` (optionally only its ``start``–``end`` part), step by step.

        Args:
            on_step: called with each :class:`AgentStep` as soon as it is done.
            progress: sampling progress (decoding, scoring), as for :func:`gens_tools.sample_frames`.

        Raises:
            AccessDeniedError, InvalidArgumentError, TimeRangeError: a video, question or range refused
                before anything is opened (or, for the range, once the video's length is known).
            the assistant's errors (:class:`~gens_tools.AssistantError` and its kinds) and the sampler's, as
                they are.
        """
        from gens_tools.samplers._prompt import validate_question

        question = validate_question(question)
        first_start, first_end = check_range(start, end, policy=self.policy)
        source = os.fspath(video)
        if self.policy is not None:
            source = self.policy.check(source)
        run = _Run(question, source, first_start, first_end, time.perf_counter(), [], [], {})
        look: _Look | None = _Look(question, first_start, first_end, self.options.fps)
        notes: list[str] = []
        while True:
            assert look is not None
            step = self._step(run, look, notes, progress)
            run.steps.append(step)
            if on_step is not None:
                on_step(step)
            reply_confidence = step.confidence
            if reply_confidence is not None and reply_confidence >= self.min_confidence:
                return self._result(run, "confident", "")
            stop = self._out_of_budget(run)
            if stop is not None:
                return self._result(run, *stop)
            look, notes, stop = self._next_look(run, step)
            if stop is not None:
                return self._result(run, *stop)

    async def aask(
        self,
        video: str | os.PathLike[str],
        question: str,
        *,
        start: float | str | None = None,
        end: float | str | None = None,
        on_step: StepCallback | None = None,
        progress: ProgressCallback | None = None,
    ) -> AgentResult:
        """Async :meth:`ask`: the run goes on in a worker thread (``on_step`` is called from there)."""
        return await asyncio.to_thread(
            self.ask, video, question, start=start, end=end, on_step=on_step, progress=progress
        )

    def close(self) -> None:
        """Close the assistant, and the sampler when the agent built it from a name."""
        if self._owns_sampler:
            self.sampler.close()
        self.assistant.close()

    def __enter__(self) -> VideoAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one step ------------------------------------------------------------------------------------------

    def _step_k(self, run: _Run) -> int:
        first = self.k or self.assistant.suggest_k(run.question)
        k = first if not run.steps else self.zoom_k or min(first, 16)
        if self.policy is not None:
            k = min(k, self.policy.max_k)
        if self.budget.max_frames is not None:
            sent = sum(step.frames_sent for step in run.steps)
            k = min(k, self.budget.max_frames - sent - len(run.carried))
        return max(k, 1)

    def _sample(self, run: _Run, look: _Look, k: int, progress: ProgressCallback | None) -> FrameSelection:
        from gens_tools.pipeline import sample_frames

        options = self.options if look.fps == self.options.fps else self.options.replace(fps=look.fps)
        return sample_frames(
            run.source,
            look.question,
            sampler=self.sampler,
            k=k,
            start=look.start,
            end=look.end,
            options=options,
            progress=progress,
            policy=self.policy,
        )

    def _with_carried(self, selection: FrameSelection, carried: Sequence[Frame]) -> tuple[FrameSelection, set[float]]:
        """The selection plus the carried frames it does not hold already, and the carried frames' times."""
        extra = [f for f in carried if all(abs(f.timestamp - g.timestamp) > _SAME_TIME for g in selection.frames)]
        if not extra:
            return selection, set()
        frames = sorted([*selection.frames, *extra], key=lambda f: f.timestamp)
        return replace(selection, frames=frames), {f.timestamp for f in extra}

    def _step(self, run: _Run, look: _Look, notes: list[str], progress: ProgressCallback | None) -> AgentStep:
        index = len(run.steps) + 1
        t0 = time.perf_counter()
        selection = self._sample(run, look, self._step_k(run), progress)
        t_sample = time.perf_counter() - t0
        if run.duration is None:
            run.duration = selection.duration
        shown, carried_times = self._with_carried(selection, run.carried)
        t1 = time.perf_counter()
        answer = self.assistant.answer(
            run.question,
            shown,
            instructions=self._instructions(run, look, shown, len(carried_times), index),
            response_schema=AGENT_REPLY_SCHEMA,
        )
        t_answer = time.perf_counter() - t1
        reply = parse_agent_reply(answer.text)
        self._carry(run, reply, answer)
        return self._make_step(index, look, shown, carried_times, answer, reply, notes, t_sample, t_answer)

    def _carry(self, run: _Run, reply: AgentReply, answer: Answer) -> None:
        """Keep the frames the reply's answer cites (not its look_next times) for the next steps."""
        from gens_tools.assistants._citations import match_citations, parse_citations

        if not self.carry_cited:
            return
        cited = match_citations(parse_citations(reply.answer), answer.frames)[0]
        kept = [f for f in run.carried if all(abs(f.timestamp - g.timestamp) > _SAME_TIME for g in cited)]
        run.carried = [*kept, *cited][-self.carry_cited :]

    @staticmethod
    def _make_step(
        index: int,
        look: _Look,
        shown: FrameSelection,
        carried_times: set[float],
        answer: Answer,
        reply: AgentReply,
        notes: list[str],
        t_sample: float,
        t_answer: float,
    ) -> AgentStep:
        from gens_tools.assistants import parse_citations

        sent = {round(f.timestamp, 6) for f in answer.frames}
        frames = [
            SeenFrame(
                timestamp=f.timestamp,
                score=f.score,
                origin=f.origin,
                sent=round(f.timestamp, 6) in sent,
                carried=f.timestamp in carried_times,
            )
            for f in shown.frames
        ]
        return AgentStep(
            index=index,
            question=look.question,
            start=look.start,
            end=look.end,
            fps=look.fps,
            frames=frames,
            answer=reply.answer,
            confidence=reply.confidence,
            look_next=reply.look_next,
            reply_format=reply.format,
            cited=parse_citations(reply.answer),
            input_tokens=answer.usage.input_tokens,
            output_tokens=answer.usage.output_tokens,
            estimated_input_tokens=answer.estimate.get("input_tokens"),
            seconds=t_sample + t_answer,
            timings={"sample": t_sample, "answer": t_answer},
            notes=[*notes, *(f"reply: {n}" for n in reply.notes)],
            selection=shown,
            answer_detail=answer,
        )

    # -- what the assistant reads ------------------------------------------------------------------------

    def _instructions(self, run: _Run, look: _Look, shown: FrameSelection, n_carried: int, index: int) -> str:
        left = self.budget.max_steps - index
        where = range_words(look.start, look.end)
        lines = [
            f"You are answering in steps; this is step {index} of at most {self.budget.max_steps}.",
            f"This step's frames were chosen from {where} of the video, {look.fps:g} candidate frames per second"
            + (f", for: {look.question}" if look.question != run.question else "")
            + "."
            + (f" {n_carried} frames that earlier answers cited are shown again." if n_carried else ""),
        ]
        if shown.duration is not None:
            lines.append(f"The video is {shown.duration:.1f} seconds long.")
        if run.steps:
            lines.append("Earlier steps:")
            for step in run.steps:
                confidence = "unknown" if step.confidence is None else f"{step.confidence:g}"
                asked = f' for "{step.question}"' if step.question != run.question else ""
                lines.append(
                    f"- step {step.index}: looked at {range_words(step.start, step.end)} at {step.fps:g} fps{asked}; "
                    f"answered (confidence {confidence}): {one_line(step.answer, 400)}"
                )
        lines.append(
            "Reply with your best answer so far, citing the timestamps of the frames you rely on as [hh:mm:ss], and "
            "your confidence from 0 to 1 that the answer is right."
        )
        if left > 0:
            lines.append(
                f"If your confidence is below {self.min_confidence:g}, set look_next to what would settle it: a "
                "question saying what to look for, and/or a start and end in seconds to look at (a range of up to "
                f"{self.zoom_span:g} seconds is looked at more closely, {self.zoom_fps:g} frames per second). "
                "Otherwise set look_next to null."
            )
        else:
            lines.append("This is the last step: give your best answer and set look_next to null.")
        return "\n".join(lines)

    # -- deciding what next --------------------------------------------------------------------------------

    def _out_of_budget(self, run: _Run) -> tuple[StopReason, str] | None:
        budget = self.budget
        steps = run.steps
        if len(steps) >= budget.max_steps:
            return "steps", f"the step budget ({budget.max_steps}) is spent"
        if budget.max_frames is not None:
            sent = sum(step.frames_sent for step in steps)
            if sent + len(run.carried) >= budget.max_frames:
                return "frames", f"the frame budget ({budget.max_frames}) is spent ({sent} frames sent)"
        last = steps[-1]
        if budget.max_tokens is not None:
            used = sum(step.tokens for step in steps)
            if used + last.tokens > budget.max_tokens:
                return "tokens", (
                    f"the token budget ({budget.max_tokens:,}) leaves no room for another step ({used:,} used, "
                    f"the last step took {last.tokens:,})"
                )
        if budget.max_seconds is not None:
            spent = run.seconds
            if spent + last.seconds > budget.max_seconds:
                return "seconds", (
                    f"the time budget ({budget.max_seconds:g}s) leaves no room for another step ({spent:.1f}s spent, "
                    f"the last step took {last.seconds:.1f}s)"
                )
        return None

    def _bounds(self, run: _Run) -> tuple[float, float | None]:
        lo = run.start if run.start is not None else 0.0
        hi = run.end if run.end is not None else run.duration
        if run.end is not None and run.duration is not None:
            hi = min(run.end, run.duration)
        return lo, hi

    @staticmethod
    def _best_span(run: _Run) -> LookNext | None:
        """The best-scored span of the first look (the overview) that no later step has looked at yet."""
        selection = run.steps[0].selection
        if selection is None:
            return None
        zooms = [(s.start, s.end) for s in run.steps[1:] if s.start is not None and s.end is not None]
        for span in sorted(selection.spans, key=lambda s: (-s.score, s.start)):
            if not any(a - 1e-6 <= span.start and span.end <= b + 1e-6 for a, b in zooms):
                return LookNext(None, span.start, span.end)
        return None

    def _next_look(self, run: _Run, step: AgentStep) -> tuple[_Look | None, list[str], tuple[StopReason, str] | None]:
        """What the next step samples (and the notes on how it was decided), or why there is none."""
        notes: list[str] = []
        done = _key(step.start, step.end, step.question)
        run.looked[done] = max(run.looked.get(done, 0.0), step.fps)
        wanted = step.look_next
        if wanted is None or wanted.empty:
            fallback = self._best_span(run)
            if fallback is None:
                why = "its reply could not be read" if step.reply_format == "text" else "it named nothing"
                return None, notes, ("no_next_step", f"the assistant was unsure but {why} to look at next")
            notes.append(
                "the assistant named nothing to look at next: looking closer at the best-scored span not looked at "
                f"yet, {fallback.start:.1f}-{fallback.end:.1f}s"
            )
            wanted = fallback
        question = wanted.question or run.question
        start, end, range_notes = self._resolve_range(run, wanted)
        notes.extend(range_notes)
        whole = start == run.start and end == run.end
        span = None if start is None or end is None else end - start
        fps = self.zoom_fps if span is not None and span <= self.zoom_span + 1e-9 and not whole else self.options.fps
        key = _key(start, end, question)
        before = run.looked.get(key)
        if before is not None:
            finer = min(self.max_fps, before * 2)
            if span is None or span > self.zoom_span + 1e-9 or finer <= before + 1e-9:
                return (
                    None,
                    notes,
                    (
                        "repeated",
                        f"the assistant asked again for {range_words(start, end)}, already looked at at {before:g} fps",
                    ),
                )
            notes.append(f"{range_words(start, end)} was looked at at {before:g} fps: now at {finer:g} fps")
            fps = finer
        return _Look(question, start, end, fps), notes, None

    def _resolve_range(self, run: _Run, wanted: LookNext) -> tuple[float | None, float | None, list[str]]:
        """The assistant's range made usable: ordered, inside the video (and the user's range), at least
        ``min_span`` and at most the policy's ``max_duration`` long."""
        notes: list[str] = []
        lo, hi = self._bounds(run)
        start, end = wanted.start, wanted.end
        if start is None and end is None:
            return run.start, run.end, notes
        if start is not None and end is not None and end < start:
            notes.append(f"the range {start:g}-{end:g}s was reversed: swapped")
            start, end = end, start
        if start is None:
            assert end is not None
            start = max(lo, end - self.zoom_span)
            notes.append(f"the range had no start: looking at {start:g}-{end:g}s")
        elif end is None:
            end = start + self.zoom_span if hi is None else min(hi, start + self.zoom_span)
            notes.append(f"the range had no end: looking at {start:g}-{end:g}s")
        if (hi is not None and start >= hi) or end <= lo:
            limit = f"{lo:g}-{hi:g}s" if hi is not None else f"from {lo:g}s"
            notes.append(f"the range {start:g}-{end:g}s lies outside the video ({limit}): looking at all of it")
            return run.start, run.end, notes
        clamped_start, clamped_end = max(start, lo), end if hi is None else min(end, hi)
        if (clamped_start, clamped_end) != (start, end):
            notes.append(f"the range {start:g}-{end:g}s was cut to {clamped_start:g}-{clamped_end:g}s (the video)")
            start, end = clamped_start, clamped_end
        if end - start < self.min_span:
            middle = (start + end) / 2
            new_start = max(lo, middle - self.min_span / 2)
            new_end = new_start + self.min_span if hi is None else min(hi, new_start + self.min_span)
            new_start = max(lo, new_end - self.min_span)
            notes.append(
                f"the range {start:g}-{end:g}s is shorter than {self.min_span:g}s: widened to "
                f"{new_start:g}-{new_end:g}s"
            )
            start, end = new_start, new_end
        cap = self.policy.max_duration if self.policy is not None else None
        if cap is not None and end - start > cap:
            middle = (start + end) / 2
            notes.append(f"the range {start:g}-{end:g}s is longer than allowed ({cap:g}s): cut around its middle")
            start, end = middle - cap / 2, middle + cap / 2
        return start, end, notes

    # -- the result ------------------------------------------------------------------------------------------

    def _result(self, run: _Run, stopped: StopReason, why: str) -> AgentResult:
        last = run.steps[-1]
        n = len(run.steps)
        steps = f"{n} step{'s' if n != 1 else ''}"
        confidence = last.confidence
        shown = "unknown" if confidence is None else f"{confidence:g}"
        if stopped == "confident":
            message = f"confident ({shown} >= {self.min_confidence:g}) after {steps}"
        else:
            message = f"not confident ({shown} < {self.min_confidence:g}) after {steps}: {why}"
        detail = last.answer_detail
        return AgentResult(
            question=run.question,
            video=run.source,
            answer=last.answer,
            confidence=confidence,
            confident=stopped == "confident",
            stopped=stopped,
            stop_message=message,
            cited=list(last.cited),
            steps=run.steps,
            budget=self.budget,
            min_confidence=self.min_confidence,
            seconds=run.seconds,
            model=detail.model if detail is not None else None,
            provider=detail.provider if detail is not None else None,
            sampler=self.sampler.name,
        )


def _key(start: float | None, end: float | None, question: str) -> tuple[float | None, float | None, str]:
    return (
        None if start is None else round(start, 1),
        None if end is None else round(end, 1),
        question,
    )
