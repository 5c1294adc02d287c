"""``GenSVideoRetriever``: a LangChain retriever over one video; a query returns its most relevant frames."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Self

from gens_tools import AccessPolicy, Frame, FrameSampler, FrameSelection
from gens_tools.agent import (
    FrameRequest,
    asample_request,
    check_image_options,
    frame_text,
    resolve_sampler,
    sample_request,
    validate_frame_request,
)
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import model_validator

from langchain_gens.formatting import DEFAULT_JPEG_QUALITY
from langchain_gens.tools import gather_sampling_options

ImageFormat = Literal["base64", "path", "none"]


class GenSVideoRetriever(BaseRetriever):
    """Retrieve the ``k`` frames of one video most relevant to a query, one :class:`Document` per frame.

    Each document's ``page_content`` names the frame's time and score (and the span it belongs to); its
    ``metadata`` holds ``source`` (the video), ``timestamp_s``, ``start_s``/``end_s`` (the scored span that
    contains the frame, else the frame's own grid interval), ``score`` (``None`` when the sampler does not
    score), ``timestamp`` (``hh:mm:ss.s``), ``frame_index``, ``sampler``, ``question`` and the image:
    ``image_base64`` + ``mime_type`` (``image_format="base64"``), ``image_path`` (``"path"``: JPEGs written
    under ``frames_dir``), or nothing (``"none"``). Documents come in time order.

    ``invoke(query, k=…, start=…, end=…)`` overrides the number of frames and the time range for one call;
    they are checked like the tools' arguments (:func:`gens_tools.agent.validate_frame_request`: ``k``
    may be ``"8"``, times ``"12:34"``) and, with a ``policy``, capped by it.

    How frames are sampled is a :class:`~gens_tools.SamplingOptions` (``options=``), whose fields are accepted
    as keyword arguments too (``fps``, ``max_side``, ``min_gap``, ``backend``, ``frame_rate``, ``cache``).

    Example:
        .. code-block:: python

            from langchain_gens import GenSVideoRetriever

            retriever = GenSVideoRetriever(video="talk.mp4", sampler="gens-3b", k=8)
            for doc in retriever.invoke("the revenue chart"):
                print(doc.metadata["timestamp_s"], doc.metadata["score"])
    """

    video: str
    """The video file, frame folder or http(s) URL this retriever searches."""
    sampler: Any = None
    """A :class:`~gens_tools.FrameSampler` or a registered sampler name (built once);
    ``None`` for ``"auto"`` (GenS when it can run, else uniform sampling, said)."""
    sampler_options: dict[str, Any] | None = None
    """Options for :func:`gens_tools.make_sampler` when ``sampler`` is a name."""
    k: int = 4
    """Frames (documents) per query."""
    start: float | None = None
    """Default start of the searched range (seconds)."""
    end: float | None = None
    """Default end of the searched range (seconds)."""
    options: Any = None
    """How frames are sampled: a :class:`~gens_tools.SamplingOptions` (its fields may also be given as keyword
    arguments)."""
    policy: AccessPolicy | None = None
    """When given, the video, ``k`` and the range length are checked against it on every query."""
    image_format: ImageFormat = "base64"
    """How each document carries its image: ``"base64"``, ``"path"`` or ``"none"``."""
    frames_dir: Path | None = None
    """Where ``image_format="path"`` writes frames (one subfolder per query)."""
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    """JPEG quality of the images."""
    image_max_side: int | None = None
    """Shrink base64 images to this longer side (px); ``None`` = as decoded."""

    @model_validator(mode="before")
    @classmethod
    def _gather_options(cls, data: Any) -> Any:
        return gather_sampling_options(data)

    @model_validator(mode="after")
    def _configure(self) -> Self:
        if self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k}")
        if self.image_format == "path" and self.frames_dir is None:
            raise ValueError("image_format='path' needs frames_dir, the folder to write frames into")
        check_image_options(self.jpeg_quality, self.image_max_side)
        self.sampler = resolve_sampler(self.sampler, self.sampler_options)
        return self

    @property
    def frame_sampler(self) -> FrameSampler:
        """The resolved sampler."""
        sampler: FrameSampler = self.sampler
        return sampler

    def _sample(self, request: FrameRequest) -> FrameSelection:
        return sample_request(request, sampler=self.frame_sampler, options=self.options, policy=self.policy)

    def _request(self, query: str, k: object, start: object, end: object) -> FrameRequest:
        return validate_frame_request(
            self.video,
            query,
            k=k,
            start=self.start if start is None else start,
            end=self.end if end is None else end,
            default_k=self.k,
            policy=self.policy,
        )

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | str | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
    ) -> list[Document]:
        selection = self._sample(self._request(query, k, start, end))
        return self._documents(selection)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | str | None = None,
        start: float | str | None = None,
        end: float | str | None = None,
    ) -> list[Document]:
        import asyncio

        request = self._request(query, k, start, end)
        selection = await asample_request(
            request, sampler=self.frame_sampler, options=self.options, policy=self.policy
        )
        return await asyncio.to_thread(self._documents, selection)

    def _save_dir(self, selection: FrameSelection) -> Path:
        assert self.frames_dir is not None
        ident = json.dumps(
            [
                selection.video,
                selection.question,
                selection.sampler,
                selection.fps,
                selection.start,
                selection.end,
                selection.timestamps,
            ],
        )
        return Path(self.frames_dir).expanduser() / hashlib.sha256(ident.encode()).hexdigest()[:16]

    def _documents(self, selection: FrameSelection) -> list[Document]:
        if self.image_format == "path" and selection.frames:
            selection.save(self._save_dir(selection), jpeg_quality=self.jpeg_quality)
        return [self._document(selection, frame) for frame in selection.frames]

    def _document(self, selection: FrameSelection, frame: Frame) -> Document:
        t = frame.timestamp
        span = selection.span_of(frame)
        start_s, end_s = (span.start, span.end) if span is not None else selection.frame_interval(frame)
        metadata: dict[str, Any] = {
            "source": selection.video,
            "timestamp_s": t,
            "start_s": start_s,
            "end_s": end_s,
            "score": frame.score,
            "timestamp": frame.label,
            "frame_index": frame.index,
            "sampler": selection.sampler,
            "question": selection.question,
        }
        if self.image_format == "base64":
            metadata["image_base64"] = frame.to_base64(
                quality=self.jpeg_quality, max_side=self.image_max_side
            )
            metadata["mime_type"] = "image/jpeg"
        elif self.image_format == "path" and frame.path is not None:
            metadata["image_path"] = str(frame.path)
        content = frame_text(selection, frame)
        return Document(id=f"{selection.video}#t={t:.3f}", page_content=content, metadata=metadata)
