"""Video question answering in one call: a sampler chooses the frames, an assistant answers from them.

::

    from gens_tools.qa import VideoQA
    from gens_tools.assistants import make_assistant

    qa = VideoQA(assistant=make_assistant("gpt-4o"))   # sampler "auto": GenS when it can run here
    answer = qa.ask("lecture.mp4", "When does the speaker show the results table?")
    print(answer.text, answer.cited_labels, answer.usage.input_tokens)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from gens_tools._checks import optional_positive_int
from gens_tools.agent._access import AccessPolicy
from gens_tools.errors import InvalidArgumentError
from gens_tools.options import SamplingOptions
from gens_tools.progress import ProgressCallback
from gens_tools.samplers._base import FrameSampler

if TYPE_CHECKING:
    from gens_tools.assistants._base import Answer, Assistant
    from gens_tools.frames import FrameSelection


def _check_k(k: object, name: str = "k") -> int | None:
    return optional_positive_int(name, k)


class VideoQA:
    """Ask questions about videos: ``sampler`` picks K frames, ``assistant`` answers from them.

    Args:
        sampler: a :class:`FrameSampler` or a registered sampler name (``"auto"``, ``"gens-3b"``, ``"remote"``,
            ``"uniform"``…); ``None`` or ``"auto"`` (the default): GenS when it can run here, else uniform
            sampling, said in every selection's ``notices``.
        assistant: an :class:`~gens_tools.assistants.Assistant` (OpenAI, Gemini); required.
        k: frames to sample per question; ``None`` lets the assistant's budget planner choose (the model
            family's default, fewer if they would not fit).
        options: how to sample (:class:`~gens_tools.SamplingOptions`).
        policy: when given, videos and ``k`` are checked against it (for tools driven by a model).
        **settings: single :class:`~gens_tools.SamplingOptions` fields (``fps=2``, ``cache=False``…),
            overriding those of ``options``.
    """

    def __init__(
        self,
        sampler: FrameSampler | str | None = "auto",
        assistant: Assistant | None = None,
        *,
        k: int | None = None,
        options: SamplingOptions | None = None,
        policy: AccessPolicy | None = None,
        **settings: Any,
    ) -> None:
        from gens_tools.assistants._base import Assistant

        if sampler is None or isinstance(sampler, str):
            from gens_tools.samplers._registry import make_sampler

            sampler = make_sampler(sampler or "auto")
        if not isinstance(sampler, FrameSampler):
            raise InvalidArgumentError(f"sampler must be a FrameSampler or a sampler name, got {sampler!r}")
        if not isinstance(assistant, Assistant):
            raise InvalidArgumentError(f"assistant must be an Assistant, got {assistant!r}")
        self.sampler = sampler
        self.assistant = assistant
        self.k = _check_k(k)
        self.options = SamplingOptions.build(options, **settings)
        self.policy = policy

    def __repr__(self) -> str:
        return f"VideoQA(sampler={self.sampler.name!r}, assistant={self.assistant!r}, k={self.k!r})"

    def choose_k(self, question: str, k: int | None = None) -> int:
        """The number of frames to sample: ``k``, else the instance's ``k``, else the planner's choice
        (capped by the access policy's ``max_k`` when there is one)."""
        chosen = _check_k(k) or self.k
        if chosen is None:
            chosen = self.assistant.suggest_k(question)
            if self.policy is not None:
                chosen = min(chosen, self.policy.max_k)
        return chosen

    def select(
        self,
        video: str | os.PathLike[str],
        question: str,
        *,
        k: int | None = None,
        start: float | None = None,
        end: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> FrameSelection:
        """Only the sampling step of :meth:`ask`."""
        from gens_tools.pipeline._sample import sample_frames

        return sample_frames(video, question, **self._sampling_options(question, k, start, end, progress))

    def _sampling_options(
        self,
        question: str,
        k: int | None,
        start: float | None,
        end: float | None,
        progress: ProgressCallback | None,
    ) -> dict[str, Any]:
        return {
            "sampler": self.sampler,
            "k": self.choose_k(question, k),
            "start": start,
            "end": end,
            "options": self.options,
            "progress": progress,
            "policy": self.policy,
        }

    def ask(
        self,
        video: str | os.PathLike[str],
        question: str,
        *,
        k: int | None = None,
        start: float | None = None,
        end: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> Answer:
        """Sample frames of ``video`` for ``question`` and have the assistant answer from them.

        The answer's ``timings`` hold the sampling stages (``decode``, ``score``, ``select``, prefixed
        ``sample_``) next to the assistant's (``plan``, ``request``) and the overall ``total``.
        """
        import time

        t0 = time.perf_counter()
        selection = self.select(video, question, k=k, start=start, end=end, progress=progress)
        answer = self.assistant.answer(question, selection)
        return _merge_timings(answer, selection, time.perf_counter() - t0)

    async def aask(
        self,
        video: str | os.PathLike[str],
        question: str,
        *,
        k: int | None = None,
        start: float | None = None,
        end: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> Answer:
        """Async form of :meth:`ask` (sampling runs in a worker thread)."""
        import time

        from gens_tools.pipeline._sample import asample_frames

        t0 = time.perf_counter()
        selection = await asample_frames(video, question, **self._sampling_options(question, k, start, end, progress))
        answer = await self.assistant.aanswer(question, selection)
        return _merge_timings(answer, selection, time.perf_counter() - t0)

    def close(self) -> None:
        """Close the sampler and the assistant."""
        self.sampler.close()
        self.assistant.close()

    def __enter__(self) -> VideoQA:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _merge_timings(answer: Answer, selection: FrameSelection, total: float) -> Answer:
    timings = {f"sample_{k}": v for k, v in selection.timings.items()}
    timings.update({k: v for k, v in answer.timings.items() if k != "total"})
    timings["answer_total"] = answer.timings.get("total", 0.0)
    timings["total"] = total
    answer.timings = timings
    return answer
