"""The MCP server on the official ``mcp`` SDK (imported here only, when a server is built): the low-level
``Server`` with the tools of :class:`~gens_tools.mcp.VideoTools` (their input schemas exactly as every other
integration declares them), over stdio or streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from gens_tools.errors import BackendUnavailableError, InvalidArgumentError
from gens_tools.mcp._tools import ImageBlock, TextBlock, ToolCallResult, VideoTools

__all__ = ["INSTRUCTIONS", "SERVER_NAME", "build_server", "serve_http", "serve_stdio"]

SERVER_NAME = "gens-tools"
INSTRUCTIONS = (
    "Tools to look inside videos: video_frames returns the frames most relevant to a question, with their "
    "timestamps and relevance scores, as images; video_info tells a video's length; ask_video (when offered) has "
    "a vision model answer a question about a video, looking more closely where it is unsure. Only videos under "
    "the folders and URL prefixes the user allowed can be opened."
)


def _import_mcp() -> tuple[Any, Any]:
    try:
        import mcp_types
        from mcp.server.lowlevel import Server
    except ImportError as exc:
        raise BackendUnavailableError(
            "the MCP server needs the mcp package (2.x): pip install 'gens-tools[mcp]'"
        ) from exc
    return Server, mcp_types


def _version() -> str:
    from gens_tools import __version__

    return str(__version__)


def _content(result: ToolCallResult, types: Any) -> Any:
    blocks: list[Any] = []
    for block in result.content:
        if isinstance(block, TextBlock):
            blocks.append(types.TextContent(type="text", text=block.text))
        elif isinstance(block, ImageBlock):
            blocks.append(types.ImageContent(type="image", data=block.data, mime_type=block.mime_type))
    return types.CallToolResult(content=blocks, structured_content=result.structured, is_error=result.is_error)


def build_server(tools: VideoTools) -> Any:
    """The SDK's low-level ``Server`` offering ``tools`` (``tools/list`` and ``tools/call``). Calls run in a
    worker thread, so a long sampling run does not block the connection."""
    import anyio

    if not isinstance(tools, VideoTools):
        raise InvalidArgumentError(f"tools must be VideoTools, got {type(tools).__name__}")
    server_cls, types = _import_mcp()

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=d.name, description=d.description, input_schema=d.input_schema)
                for d in tools.definitions()
            ]
        )

    async def call_tool(ctx: Any, params: Any) -> Any:
        name = str(params.name)
        arguments = dict(params.arguments or {})
        call: Callable[[], ToolCallResult] = lambda: tools.call(name, arguments)  # noqa: E731
        result = await anyio.to_thread.run_sync(call)
        return _content(result, types)

    return server_cls(
        SERVER_NAME,
        version=_version(),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(tools: VideoTools) -> None:
    """Serve ``tools`` over stdin/stdout until the client closes the connection."""
    from mcp.server.stdio import stdio_server

    server = build_server(tools)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(
    tools: VideoTools,
    *,
    port: int = 8000,
    path: str = "/mcp",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``tools`` over streamable HTTP on 127.0.0.1 (``port`` 0 picks a free one) until cancelled.

    Args:
        on_ready: called with the endpoint URL once the server listens.
    """
    import anyio
    import uvicorn

    server = build_server(tools)
    app = server.streamable_http_app(streamable_http_path=path, host="127.0.0.1")
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    http = uvicorn.Server(config)
    async with anyio.create_task_group() as group:
        group.start_soon(http.serve)
        while not http.started:
            if http.should_exit:
                return
            await anyio.sleep(0.05)
        bound = http.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{bound}{path}"
        if on_ready is not None:
            on_ready(url)
        else:
            print(f"gens-tools mcp: serving MCP over streamable HTTP at {url}", file=sys.stderr, flush=True)
