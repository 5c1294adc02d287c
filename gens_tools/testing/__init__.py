"""Offline stand-ins for the services gens-tools talks to, shared by the tests, the benchmarks and the examples.

- :class:`FakeOpenAI` and :class:`FakeGemini`: local HTTP servers that the real ``openai`` and ``google-genai``
  SDKs talk to. They check every request against the provider's published rules (roles, part shapes, image
  encodings, counts, sizes, a context limit priced independently of gens-tools' planner), answer in the real
  response format, and can be scripted with faults and with replies (texts, tool calls, or functions of the
  request, for multi-step agents).
- :class:`FakeGenSServer`: an OpenAI-compatible server that answers like GenS served by vLLM; it reads the time
  code painted into each frame by :mod:`gens_tools.synthetic` and scores the frames it was asked about.
- Faults on the wire for all three (:mod:`gens_tools.testing._wire`: a dripped answer, a reset, a body that is
  not JSON, HTML, a cut body, a redirect, 429 with an hour's or no ``Retry-After``), scripted per request.
- :class:`FakeVideoHost`: video files over HTTP with range requests and scripted redirects.
- :func:`peak_rss_mib`: this process's own peak memory, for memory checks in a child process.
- :mod:`gens_tools.testing.tiny_qwen` and :mod:`gens_tools.testing.tiny_aria`: tiny random-weight GenS-shaped
  models and locally built tokenizers (they need the ``local`` extra; import them explicitly).

Every server listens on 127.0.0.1 only and stops itself after a bounded lifetime.
"""

from gens_tools.testing._chat_servers import (
    FakeGemini,
    FakeOpenAI,
    FakeServer,
    Recorded,
    ToolCall,
    gemini_image_tokens,
    openai_image_tokens,
)
from gens_tools.testing._gens_server import (
    FakeGenSServer,
    Fault,
    Seen,
    check_gens_request,
    coded_window,
    coded_windows,
    gens_answer,
)
from gens_tools.testing._memory import peak_rss_mib
from gens_tools.testing._video_host import FakeVideoHost
from gens_tools.testing._wire import WIRE_FAULTS

__all__ = [
    "WIRE_FAULTS",
    "FakeGemini",
    "FakeGenSServer",
    "FakeOpenAI",
    "FakeServer",
    "FakeVideoHost",
    "Fault",
    "Recorded",
    "Seen",
    "ToolCall",
    "check_gens_request",
    "coded_window",
    "coded_windows",
    "gemini_image_tokens",
    "gens_answer",
    "openai_image_tokens",
    "peak_rss_mib",
]
