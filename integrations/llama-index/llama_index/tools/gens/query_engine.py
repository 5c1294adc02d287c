"""``GenSVideoQueryEngine``: ask a question about a video, answered by a multimodal model from GenS-chosen frames."""

from __future__ import annotations

import os
from typing import Any

from gens_tools import AccessPolicy, FrameSampler, FrameSelection, InvalidArgumentError
from gens_tools.assistants import Answer, Assistant
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.llms import LLM
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import QueryType

from llama_index.tools.gens.llm_assistant import LlamaIndexAssistant
from llama_index.tools.gens.retriever import GenSVideoRetriever, VideoQueryBundle, as_video_query

__all__ = ["GenSVideoQueryEngine"]


def as_assistant(llm: LLM | Assistant, **options: Any) -> Assistant:
    """A gens-tools assistant as is; a llama-index LLM wrapped in :class:`LlamaIndexAssistant`."""
    if isinstance(llm, Assistant):
        if options:
            raise InvalidArgumentError(
                f"assistant options {sorted(options)} apply to llama-index LLMs; set them on the assistant"
            )
        return llm
    if isinstance(llm, LLM):
        return LlamaIndexAssistant(llm, **options)
    raise InvalidArgumentError(
        f"llm must be a llama-index LLM that takes ImageBlocks or a gens-tools Assistant, got {type(llm).__name__}"
    )


class GenSVideoQueryEngine(CustomQueryEngine):
    """Answers questions about a video: the retriever picks the relevant frames, a multimodal model reads
    them (with their timestamps) and answers, citing the timestamps it relied on.

    The frames sent are planned to the model's limits by the gens-tools budget planner (context window,
    image token cost, most images and bytes per request): the highest-scored frames are kept first. The
    :class:`Response`'s ``source_nodes`` are exactly the frames sent, as image nodes in time order with
    ``timestamp_s``/``start``/``end``/``score``/``source`` metadata; ``metadata`` holds the answer's cited
    timestamps (``citations``, ``cited_labels``), the planner's estimate, the provider's token usage and the
    sampler's relevant spans.

    Build it with :meth:`from_video`, or from a :class:`GenSVideoRetriever` and an ``llm``: any llama-index
    LLM that takes ``ChatMessage`` s with ``ImageBlock`` s (OpenAI, Google GenAI…) or a gens-tools
    :class:`~gens_tools.Assistant` (``OpenAIAssistant``, ``GeminiAssistant``).
    ``assistant_options`` (``detail``, ``max_side``, ``max_frames``, ``budget`` overrides, ``model``…) tune
    how a llama-index LLM is wrapped.

    A query may be a string or a :class:`VideoQueryBundle` (another video, a time range, another ``k``).
    """

    retriever: GenSVideoRetriever = Field(description="Chooses the frames.")
    llm: Any = Field(description="A llama-index LLM that takes ImageBlocks, or a gens-tools Assistant.")
    assistant_options: dict[str, Any] = Field(default_factory=dict)
    _assistant: Any = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._assistant = as_assistant(self.llm, **self.assistant_options)

    @property
    def assistant(self) -> Assistant:
        """The gens-tools assistant that sends the frames (the LLM wrapped, or the assistant given)."""
        assistant: Assistant = self._assistant
        return assistant

    @classmethod
    def from_video(
        cls,
        video: str | os.PathLike[str] | None,
        llm: LLM | Assistant,
        *,
        sampler: FrameSampler | str | None = None,
        k: int | None = None,
        policy: AccessPolicy | None = None,
        assistant_options: dict[str, Any] | None = None,
        **retriever_options: Any,
    ) -> GenSVideoQueryEngine:
        """An engine bound to ``video`` (or ``None``: each query names one in a :class:`VideoQueryBundle`).

        ``k=None`` samples as many frames as the model can take (the planner's suggestion for it).
        ``retriever_options`` go to :class:`GenSVideoRetriever`: ``start``, ``end``, ``options``
        (:class:`gens_tools.SamplingOptions`) or single option fields (``fps``, ``frame_rate``, ``cache``…).
        """
        assistant = as_assistant(llm, **(assistant_options or {}))
        if k is None:
            k = assistant.suggest_k()
            if policy is not None:
                k = min(k, policy.max_k)
        retriever = GenSVideoRetriever(video, sampler=sampler, k=k, policy=policy, **retriever_options)
        return cls(retriever=retriever, llm=assistant)

    # -- answering -----------------------------------------------------------------------------------------

    def _response(self, selection: FrameSelection, answer: Answer) -> Response:
        nodes = self.retriever.nodes_for(selection, answer.frames)
        metadata: dict[str, Any] = {
            "video": selection.video,
            "question": answer.question,
            "model": answer.model,
            "sampler": selection.sampler,
            "timestamps": [round(f.timestamp, 3) for f in answer.frames],
            "citations": [round(t, 3) for t in answer.citations],
            "cited_labels": answer.cited_labels,
            "usage": answer.usage.to_dict(),
            "estimate": dict(answer.estimate),
            "attempts": answer.attempts,
            "spans": [s.to_dict() for s in selection.spans],
            "n_frames_sampled": len(selection.frames),
            "timings": {**selection.timings, **{f"answer_{k}": v for k, v in answer.timings.items()}},
        }
        return Response(response=answer.text, source_nodes=nodes, metadata=metadata)

    def answer(self, query: QueryType) -> Response:
        """Answer ``query`` (a string or a :class:`VideoQueryBundle`)."""
        bundle = as_video_query(query)
        selection = self.retriever.retrieve_selection(bundle)
        answer = self._assistant.answer(selection.question, selection)
        return self._response(selection, answer)

    async def aanswer(self, query: QueryType) -> Response:
        """Async :meth:`answer`."""
        bundle = as_video_query(query)
        selection = await self.retriever.aretrieve_selection(bundle)
        answer = await self._assistant.aanswer(selection.question, selection)
        return self._response(selection, answer)

    def query(self, str_or_query_bundle: QueryType) -> Response:
        """Answer a query; unlike the base class this keeps a :class:`VideoQueryBundle`'s video and range."""
        with self.callback_manager.as_trace("query"):
            return self.answer(str_or_query_bundle)

    async def aquery(self, str_or_query_bundle: QueryType) -> Response:
        """Async :meth:`query`."""
        with self.callback_manager.as_trace("query"):
            return await self.aanswer(str_or_query_bundle)

    def custom_query(self, query_str: str) -> Response:
        """Answer a plain question about the bound video."""
        return self.answer(VideoQueryBundle(query_str=query_str))

    async def acustom_query(self, query_str: str) -> Response:
        """Async :meth:`custom_query`."""
        return await self.aanswer(VideoQueryBundle(query_str=query_str))
