"""``GenSFramesMiddleware``: shows a ``langchain.agents.create_agent`` model the frames its tool calls found.

Needs the ``langchain`` package (``pip install 'langchain-gens[agents]'``).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from gens_tools import BackendUnavailableError, InvalidArgumentError
from gens_tools.agent import check_image_options

try:
    from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
except ImportError as exc:  # pragma: no cover - exercised only without langchain installed
    raise BackendUnavailableError(
        "GenSFramesMiddleware needs the 'langchain' package (create_agent and middleware): "
        "pip install 'langchain-gens[agents]'"
    ) from exc

from langchain_gens.formatting import DEFAULT_JPEG_QUALITY
from langchain_gens.messages import History, with_frame_messages


class _BoundedMemo(OrderedDict[str, list[dict[str, Any]]]):
    """Encoded frame blocks by tool call id; the oldest entries go first once ``size`` is reached."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key: str, value: list[dict[str, Any]]) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class GenSFramesMiddleware(AgentMiddleware):  # type: ignore[type-arg]
    """Before every model call, add the frames of the agent's frame-tool results as user messages.

    The agent state keeps only the tool messages (text content, the ``FrameSelection`` as artifact); the
    image messages are added to each model request on the fly, right after the tool results they belong to,
    so the state stays small and a chat model that takes images only in user messages (OpenAI Chat
    Completions) still sees every frame with its timestamp.

    Args:
        tool_names: only results of these tools (default: any tool whose artifact is a FrameSelection).
        history: ``"all"`` (default) re-sends the frames of earlier calls on every model call; ``"latest"``
            sends only the frames of the newest tool results.
        jpeg_quality, max_side: how frames are encoded for the model.
        memo_size: how many tool results' encoded frames to keep, so later turns do not re-encode them.

    Example:
        .. code-block:: python

            from langchain.agents import create_agent
            from langchain_gens import GenSVideoFramesTool, GenSFramesMiddleware

            tool = GenSVideoFramesTool(sampler="gens-3b", allowed_roots=["~/videos"])
            agent = create_agent("openai:gpt-4o", [tool], middleware=[GenSFramesMiddleware()])
    """

    def __init__(
        self,
        *,
        tool_names: Collection[str] | None = None,
        history: History = "all",
        jpeg_quality: int = DEFAULT_JPEG_QUALITY,
        max_side: int | None = None,
        memo_size: int = 32,
    ) -> None:
        if history not in ("all", "latest"):
            raise InvalidArgumentError(f"history must be 'all' or 'latest', got {history!r}")
        check_image_options(jpeg_quality, max_side, max_side_name="max_side")
        if memo_size < 0:
            raise InvalidArgumentError(f"memo_size must be >= 0, got {memo_size!r}")
        self.tool_names = frozenset(tool_names) if tool_names is not None else None
        self.history: History = history
        self.jpeg_quality = jpeg_quality
        self.max_side = max_side
        self._memo = _BoundedMemo(memo_size)

    def _with_frames(self, request: ModelRequest) -> ModelRequest:  # type: ignore[type-arg]
        messages = with_frame_messages(
            request.messages,
            tool_names=self.tool_names,
            history=self.history,
            jpeg_quality=self.jpeg_quality,
            max_side=self.max_side,
            memo=self._memo,
        )
        if len(messages) == len(request.messages):
            return request
        return request.override(messages=messages)  # type: ignore[arg-type]

    def wrap_model_call(
        self,
        request: ModelRequest,  # type: ignore[type-arg]
        handler: Callable[[ModelRequest], ModelResponse],  # type: ignore[type-arg]
    ) -> ModelResponse:  # type: ignore[type-arg]
        """Add the frame messages, then call the model."""
        return handler(self._with_frames(request))

    async def awrap_model_call(
        self,
        request: ModelRequest,  # type: ignore[type-arg]
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],  # type: ignore[type-arg]
    ) -> ModelResponse:  # type: ignore[type-arg]
        """Async form: JPEG encoding runs in a worker thread."""
        return await handler(await asyncio.to_thread(self._with_frames, request))
