"""``GenSVideoRetriever``: a LlamaIndex retriever whose "documents" are the frames of a video.

A query is a question about the video; the retriever asks a gens-tools sampler (GenS, or the uniform
baseline) which frames matter and returns one :class:`~llama_index.core.schema.ImageNode` per chosen frame,
in time order, scored with the sampler's relevance.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from gens_tools import AccessPolicy, FrameSampler, FrameSelection, SamplingOptions
from gens_tools.agent import (
    DEFAULT_K,
    FrameRequest,
    check_image_options,
    check_k,
    check_range,
    resolve_sampler,
    sample_request,
    validate_frame_request,
)
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, QueryType

from llama_index.tools.gens.nodes import selection_nodes

__all__ = ["GenSVideoRetriever", "VideoQueryBundle", "as_video_query"]


@dataclass
class VideoQueryBundle(QueryBundle):
    """A query that also says which video (and which part of it) to look at.

    Any field left ``None`` falls back to what the retriever was built with. ``start``/``end`` take seconds
    or ``[hh:]mm:ss`` strings.
    """

    video: str | None = None
    start: float | str | None = None
    end: float | str | None = None
    k: int | None = None


def as_video_query(query: QueryType) -> VideoQueryBundle:
    """Any query (a string, a plain :class:`QueryBundle`) as a :class:`VideoQueryBundle`."""
    if isinstance(query, VideoQueryBundle):
        return query
    if isinstance(query, QueryBundle):
        return VideoQueryBundle(query_str=query.query_str)
    return VideoQueryBundle(query_str=query)


class GenSVideoRetriever(BaseRetriever):
    """Retrieve the frames of a video most relevant to a question.

    Args:
        video: the video to bind (path, frame folder or http(s) URL); ``None`` to take it from each
            query's :class:`VideoQueryBundle`.
        sampler: a :class:`gens_tools.FrameSampler`, a sampler name (``"uniform"``, ``"gens-3b"``, ``"gens"``,
            ``"remote"``…, built once and reused for every query) or ``None`` for uniform sampling.
        k: frames per query (a query bundle may ask for another number).
        start, end: the default time range (seconds or ``[hh:]mm:ss``).
        options: how to sample (:class:`gens_tools.SamplingOptions`, or a mapping of its fields).
        policy: an :class:`gens_tools.AccessPolicy`; when given, every video (bound or from a query) must be
            allowed by it, and ``k`` and the range length are capped by it. Use one whenever the video or the
            query comes from a model or a user.
        jpeg_quality: JPEG quality of the node images.
        image_max_side: longer side (px) of the node images; ``None`` keeps the decoded size.
        sampler_options: options for :func:`gens_tools.make_sampler` when ``sampler`` is a name.
        **settings: single :class:`gens_tools.SamplingOptions` fields (``fps``, ``max_side``, ``min_gap``,
            ``backend``, ``frame_rate``, ``cache``), overriding those of ``options``.

    Each returned :class:`NodeWithScore` holds an :class:`ImageNode` with the base64 JPEG
    (``image_mimetype="image/jpeg"``), a caption with the timestamp, and metadata ``timestamp_s``, ``start``,
    ``end``, ``score``, ``source``. Nodes come in time order.
    """

    def __init__(
        self,
        video: str | os.PathLike[str] | None = None,
        *,
        sampler: FrameSampler | str | None = None,
        k: int = DEFAULT_K,
        start: float | str | None = None,
        end: float | str | None = None,
        options: SamplingOptions | dict[str, Any] | None = None,
        policy: AccessPolicy | None = None,
        jpeg_quality: int = 85,
        image_max_side: int | None = None,
        sampler_options: dict[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
        **settings: Any,
    ) -> None:
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.policy = policy
        self.video = os.fspath(video) if video is not None else None
        self.k = k
        self.start = start
        self.end = end
        self.options = SamplingOptions.build(options, **settings)
        self.jpeg_quality = jpeg_quality
        self.image_max_side = image_max_side
        # Check the bound settings now, so a bad configuration fails at construction, not at the first query.
        if self.video is not None and policy is not None:
            self.video = policy.check(self.video)
        check_k(k, policy=policy)
        check_range(start, end, policy=policy)
        check_image_options(jpeg_quality, image_max_side)
        self.sampler: FrameSampler = resolve_sampler(sampler, sampler_options)

    # -- requests ------------------------------------------------------------------------------------------

    def request_for(self, query: QueryType) -> FrameRequest:
        """The checked frame request for ``query`` (bound settings filled in, policy applied)."""
        bundle = as_video_query(query)
        return validate_frame_request(
            bundle.video if bundle.video is not None else self.video,
            bundle.query_str,
            k=bundle.k,
            start=bundle.start if bundle.start is not None else self.start,
            end=bundle.end if bundle.end is not None else self.end,
            default_k=self.k,
            policy=self.policy,
        )

    def retrieve_selection(self, query: QueryType) -> FrameSelection:
        """Run the sampler for ``query`` and return the whole :class:`~gens_tools.FrameSelection` (frames,
        spans, timings), not just nodes."""
        return sample_request(self.request_for(query), sampler=self.sampler, options=self.options, policy=self.policy)

    async def aretrieve_selection(self, query: QueryType) -> FrameSelection:
        """Async :meth:`retrieve_selection` (decoding and scoring run in a worker thread)."""
        return await asyncio.to_thread(self.retrieve_selection, query)

    def nodes_for(self, selection: FrameSelection, frames: Any = None) -> list[NodeWithScore]:
        """Image nodes for the selection's frames (or the given subset), in time order."""
        return selection_nodes(selection, frames, jpeg_quality=self.jpeg_quality, image_max_side=self.image_max_side)

    # -- BaseRetriever -------------------------------------------------------------------------------------

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self.nodes_for(self.retrieve_selection(query_bundle))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        selection = await self.aretrieve_selection(query_bundle)
        return await asyncio.to_thread(self.nodes_for, selection)

    def close(self) -> None:
        """Release the sampler (models, HTTP clients)."""
        self.sampler.close()
