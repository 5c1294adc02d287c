"""GenS behind an OpenAI-compatible endpoint (vLLM, SGLang, a hosted API): windows scored concurrently.

Each window becomes one chat request whose single user message interleaves the GenS prompt with the frames
as JPEG data URLs: ``[0]`` image ``\\n[1]`` image … ``\\nQuestion: …\\n<instruction>``. The frames come before
the question, so a server with prefix caching (vLLM caches by default) reuses a window's image prefix when
another question is asked about the same video. The answer goes through the core GenS parser.

Transport failures are retried by the ``openai`` SDK itself (429, 408/409, 5xx, timeouts and dropped
connections, with exponential backoff and ``Retry-After``). A window that still fails comes back *unscored*
with the reason in ``issues``; mistakes the user must fix (a server that cannot be reached at all, a rejected
API key, an unknown model) raise :class:`~gens_tools.errors.SamplerError` instead. A request-size guard
recompresses, shrinks and finally splits a window rather than send more than the server accepts.

Only the GenS checkpoints were trained for this prompt; any other vision model behind the same API can be
used as a zero-shot sampler, with no guarantee about the quality of its scores.

Modules: :mod:`~.sampler` (the :class:`RemoteGenSSampler` and its options), :mod:`~.request` (the request
body), :mod:`~.size_guard` (fitting it under the size limit), :mod:`~.transport` (the ``openai`` client),
:mod:`~.reply` (reading the answer), :mod:`~.failures` (what a failed request means), :mod:`~.window`
(scoring one window) and :mod:`~.scheduler` (many windows at once, in order).
"""

from gens_tools.samplers.remote._failures import PLACEHOLDER_API_KEY
from gens_tools.samplers.remote._sampler import DEFAULT_API_KEY_ENV, RemoteGenSSampler
from gens_tools.samplers.remote._scheduler import PREPARE_AHEAD
from gens_tools.samplers.remote._transport import CACHE_KEY_HEADER

__all__ = [
    "CACHE_KEY_HEADER",
    "DEFAULT_API_KEY_ENV",
    "PLACEHOLDER_API_KEY",
    "PREPARE_AHEAD",
    "RemoteGenSSampler",
]
