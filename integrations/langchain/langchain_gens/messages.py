"""Getting the frames to a chat model that accepts images only in user messages.

OpenAI Chat Completions takes images in user messages only: a ``tool`` message carries text. So after a
:class:`~langchain_gens.GenSVideoFramesTool` call, the frames (the tool message's artifact) are sent as a
follow-up :class:`~langchain_core.messages.HumanMessage` of v1 image blocks, each preceded by its timestamp.
:func:`frames_message` builds that message; :func:`with_frame_messages` inserts one after every run of tool
results in a history (what :class:`~langchain_gens.GenSFramesMiddleware` does before each model call).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping, Sequence
from typing import Any, Literal

from gens_tools import FrameSelection, InvalidArgumentError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from langchain_gens.artifacts import is_selection_dict, selection_from_dict
from langchain_gens.formatting import DEFAULT_JPEG_QUALITY, frame_blocks, text_block

#: Prefix of the ids of the messages :func:`with_frame_messages` inserts (so it never inserts one twice).
FRAMES_MESSAGE_ID_PREFIX = "gens-frames-"

History = Literal["all", "latest"]


def _frame_artifact(message: BaseMessage) -> FrameSelection | Mapping[str, Any] | None:
    """The frame selection a successful tool message carries, in either artifact form (not decoded)."""
    if not isinstance(message, ToolMessage) or message.status == "error":
        return None
    artifact: object = message.artifact
    if isinstance(artifact, FrameSelection):
        return artifact
    if isinstance(artifact, Mapping) and is_selection_dict(artifact):
        return artifact
    return None


def selection_of(message: BaseMessage) -> FrameSelection | None:
    """The :class:`FrameSelection` a successful frame-tool message carries (either artifact form), else
    ``None``."""
    artifact = _frame_artifact(message)
    if artifact is None or isinstance(artifact, FrameSelection):
        return artifact
    return selection_from_dict(artifact)


def _has_images(message: BaseMessage) -> bool:
    content = message.content
    if isinstance(content, str):
        return False
    return any(isinstance(b, dict) and b.get("type") in ("image", "image_url") for b in content)


def _header(selection: FrameSelection, message: ToolMessage | None) -> str:
    origin = ""
    if message is not None:
        origin = f" from the {message.name or 'frame'} tool call {message.tool_call_id}"
    return (
        f'Frames{origin} of {selection.video} for "{selection.question}": {len(selection.frames)} frames '
        "in time order, each after its time and relevance score."
    )


def _blocks_for(
    selection: FrameSelection,
    message: ToolMessage | None,
    *,
    jpeg_quality: int,
    max_side: int | None,
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [text_block(_header(selection, message))]
    blocks.extend(frame_blocks(selection, jpeg_quality=jpeg_quality, max_side=max_side))
    return blocks


def frames_message(
    source: FrameSelection | ToolMessage,
    *,
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_side: int | None = None,
) -> HumanMessage:
    """A user message showing the frames of a selection (or of a frame-tool message's artifact).

    The content is v1 blocks: a header naming the video and question, then for each frame a text block with
    its time and score followed by an image block (base64 JPEG).

    Raises:
        InvalidArgumentError: the tool message carries no frame selection (e.g. it reports an error).
    """
    message: ToolMessage | None = None
    if isinstance(source, ToolMessage):
        message = source
        selection = selection_of(source)
        if selection is None:
            raise InvalidArgumentError(
                "this tool message carries no FrameSelection artifact (an error, or another tool's result)"
            )
    elif isinstance(source, FrameSelection):
        selection = source
    else:
        raise InvalidArgumentError(f"expected a FrameSelection or a ToolMessage, got {type(source).__name__}")
    blocks = _blocks_for(selection, message, jpeg_quality=jpeg_quality, max_side=max_side)
    msg_id = FRAMES_MESSAGE_ID_PREFIX + message.tool_call_id if message is not None else None
    return HumanMessage(content=blocks, id=msg_id)  # type: ignore[arg-type]


def _wants(message: BaseMessage, tool_names: Collection[str] | None) -> bool:
    artifact = _frame_artifact(message)
    if artifact is None or _has_images(message):
        return False
    if tool_names is not None and message.name not in tool_names:
        return False
    frames = artifact.frames if isinstance(artifact, FrameSelection) else artifact["frames"]
    return bool(frames)


def with_frame_messages(
    messages: Sequence[BaseMessage],
    *,
    tool_names: Collection[str] | None = None,
    history: History = "all",
    jpeg_quality: int = DEFAULT_JPEG_QUALITY,
    max_side: int | None = None,
    memo: MutableMapping[str, list[dict[str, Any]]] | None = None,
) -> list[BaseMessage]:
    """``messages`` with a frames user message inserted after each run of tool results that holds frames.

    The message goes after the *whole* run of tool messages that answer one assistant turn (chat APIs want
    every tool result right after the assistant's tool calls). Tool messages that already carry images
    (``images_in_content=True``), that report an error, or whose tool is not in ``tool_names`` are skipped,
    and so is a run already followed by its frames message.

    Args:
        messages: the conversation (not modified).
        tool_names: only results of these tools (default: any tool whose artifact is a FrameSelection).
        history: ``"all"`` shows the frames of every earlier call on each model call; ``"latest"`` only those
            of the tool results after the last assistant message (cheaper; earlier frames are then text only).
        jpeg_quality, max_side: how frames are encoded.
        memo: an optional cache of encoded blocks by tool call id, so repeated calls do not re-encode.
    """
    if history not in ("all", "latest"):
        raise InvalidArgumentError(f"history must be 'all' or 'latest', got {history!r}")
    items = list(messages)
    present = {m.id for m in items if isinstance(m, HumanMessage) and m.id}
    last_ai = max((i for i, m in enumerate(items) if isinstance(m, AIMessage)), default=-1)
    out: list[BaseMessage] = []
    pending: list[ToolMessage] = []
    for i, message in enumerate(items):
        out.append(message)
        if not isinstance(message, ToolMessage):
            continue
        if _wants(message, tool_names) and (history == "all" or i > last_ai):
            pending.append(message)
        following = items[i + 1] if i + 1 < len(items) else None
        if isinstance(following, ToolMessage) or not pending:
            continue
        msg_id = FRAMES_MESSAGE_ID_PREFIX + "+".join(m.tool_call_id for m in pending)
        if msg_id not in present:
            blocks: list[dict[str, Any]] = []
            for tm in pending:
                selection = selection_of(tm)
                assert selection is not None
                cached = memo.get(tm.tool_call_id) if memo is not None else None
                if cached is None:
                    cached = _blocks_for(selection, tm, jpeg_quality=jpeg_quality, max_side=max_side)
                    if memo is not None:
                        memo[tm.tool_call_id] = cached
                blocks.extend(cached)
            out.append(HumanMessage(content=blocks, id=msg_id))  # type: ignore[arg-type]
        pending = []
    return out
