"""Frames that reach the model on every chat API: :class:`GenSFunctionAgent` and :func:`frames_as_user_message`.

OpenAI Chat Completions takes images only in *user* messages; llama-index's ``OpenAI`` LLM turns a ``tool``
message into its text alone, so with a plain ``FunctionAgent`` the frames ``video_frames`` returns never reach
the model. :class:`GenSFunctionAgent` is a ``FunctionAgent`` that, after each round of tool calls, keeps the tool
messages as text and puts the frames (each caption, then its image) in one user message right after them —
where every chat API (OpenAI Chat Completions and Responses, Gemini, Anthropic…) accepts images. The frames
stay in the agent's memory like the tool results, so later turns still see them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, MessageRole, TextBlock
from llama_index.core.memory import BaseMemory
from llama_index.core.workflow import Context

__all__ = ["FRAMES_NOTE", "GenSFunctionAgent", "frames_as_user_message"]

#: Added to a tool message whose images moved to the user message after it.
FRAMES_NOTE = "The frames' images follow in the next message, each after its timestamp."


def _has_images(message: ChatMessage) -> bool:
    return any(isinstance(block, ImageBlock) for block in message.blocks)


def frames_as_user_message(
    messages: Sequence[ChatMessage], tool_names: Mapping[str, str] | None = None
) -> list[ChatMessage]:
    """``messages`` (one round of tool results) with their images moved into one user message after them.

    Each tool message keeps its first text block, the result's description (plus :data:`FRAMES_NOTE`); the user
    message holds, per tool result, ``Frames returned by <tool>:`` (the name from ``tool_names``, by tool call
    id) and then the result's captions and images in their order, so each image follows its timestamp. Messages
    without images are returned unchanged, and nothing is added when no message holds an image.
    """
    out: list[ChatMessage] = []
    moved: list[TextBlock | ImageBlock] = []
    for message in messages:
        if message.role != MessageRole.TOOL or not _has_images(message):
            out.append(message)
            continue
        text = [b for b in message.blocks if isinstance(b, TextBlock)]
        # The first text block is the result's description; the rest caption the images that follow them.
        head, rest = message.blocks[:1], message.blocks[1:]
        kept = [b for b in head if isinstance(b, TextBlock)] or text[:1]
        out.append(
            ChatMessage(
                role=MessageRole.TOOL,
                blocks=[*kept, TextBlock(text=FRAMES_NOTE)],
                additional_kwargs=dict(message.additional_kwargs),
            )
        )
        name = (tool_names or {}).get(str(message.additional_kwargs.get("tool_call_id")), "the tool")
        moved.append(TextBlock(text=f"Frames returned by {name}:"))
        moved.extend(b for b in rest if isinstance(b, TextBlock | ImageBlock))
    if moved:
        out.append(ChatMessage(role=MessageRole.USER, blocks=list(moved)))
    return out


class GenSFunctionAgent(FunctionAgent):
    """A ``FunctionAgent`` whose model sees the frames that tools return, on any chat API.

    Use it in place of ``FunctionAgent`` (alone or inside an ``AgentWorkflow``) with the tools of
    :class:`~llama_index.tools.gens.GenSToolSpec`: after each round of tool calls, the images in the results
    move to one user message after the tool messages (see :func:`frames_as_user_message`), so a model behind
    OpenAI Chat Completions — which drops images from tool messages — reads every frame beside its timestamp.

    Example:
        .. code-block:: python

            from llama_index.llms.openai import OpenAI
            from llama_index.tools.gens import GenSFunctionAgent, GenSToolSpec

            spec = GenSToolSpec(AccessPolicy.allow(["~/videos"]), sampler="gens-3b")
            agent = GenSFunctionAgent(tools=spec.to_tool_list(), llm=OpenAI(model="gpt-4o"))
            print(await agent.run("When is the chart shown in ~/videos/talk.mp4?"))
    """

    async def handle_tool_call_results(self, ctx: Context, results: list[ToolCallResult], memory: BaseMemory) -> None:
        """Add the tool results as ``FunctionAgent`` does, then move their images into a user message."""
        await super().handle_tool_call_results(ctx, results, memory)
        scratchpad: list[ChatMessage] = await ctx.store.get(self.scratchpad_key, default=[])
        names = {r.tool_id: r.tool_name for r in results}
        start = len(scratchpad)
        while start > 0 and scratchpad[start - 1].role == MessageRole.TOOL:
            start -= 1
        round_ = scratchpad[start:]
        if not round_ or not any(_has_images(m) for m in round_):
            return
        scratchpad[start:] = frames_as_user_message(round_, names)
        await ctx.store.set(self.scratchpad_key, scratchpad)
