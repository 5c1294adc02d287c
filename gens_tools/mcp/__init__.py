"""gens-tools as a Model Context Protocol server: every MCP client (Claude Desktop, IDE agents, the OpenAI Agents
SDK, Google ADK, LangChain and LlamaIndex through their MCP adapters) can look at a video.

Run it with ``gens-tools mcp --allow ~/videos`` (stdio) or ``--http`` (streamable HTTP on 127.0.0.1). In code::

    from gens_tools import AccessPolicy
    from gens_tools.agent import VideoFramesTool
    from gens_tools.mcp import VideoTools, serve_stdio

    tools = VideoTools(VideoFramesTool("gens-3b", policy=AccessPolicy.allow(["~/videos"]), shows_images=True))
    anyio.run(serve_stdio, tools)

The tools (:class:`VideoTools`) are the agent layer's: ``video_frames`` (the text every agent reads, then each
frame as an image beside its timestamp), ``video_info`` and, with an assistant, ``ask_video`` (the multi-step
:class:`~gens_tools.agent.VideoAgent`). The ``mcp`` SDK (``pip install 'gens-tools[mcp]'``) is imported only
when a server is built.
"""

from gens_tools.mcp._server import INSTRUCTIONS, SERVER_NAME, build_server, serve_http, serve_stdio
from gens_tools.mcp._tools import ImageBlock, TextBlock, ToolCallResult, ToolDefinition, VideoTools, ask_text

__all__ = [
    "INSTRUCTIONS",
    "SERVER_NAME",
    "ImageBlock",
    "TextBlock",
    "ToolCallResult",
    "ToolDefinition",
    "VideoTools",
    "ask_text",
    "build_server",
    "serve_http",
    "serve_stdio",
]
