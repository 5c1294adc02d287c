"""The remote sampler itself: its options, its HTTP client and the blocking and async scoring calls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from gens_tools import _checks as checks
from gens_tools.errors import InvalidArgumentError
from gens_tools.progress import ProgressCallback, emit
from gens_tools.samplers._base import FrameSampler, Window, WindowScores
from gens_tools.samplers._prompt import GENS_INSTRUCTION, validate_question
from gens_tools.samplers._registry import register_sampler
from gens_tools.samplers.remote._failures import PLACEHOLDER_API_KEY, CallState, FailureReport, redact
from gens_tools.samplers.remote._request import RequestFormat
from gens_tools.samplers.remote._scheduler import LoopThread, Stages, ascore_in_order, run_window, score_in_order
from gens_tools.samplers.remote._size_guard import MIN_REQUEST_BYTES, SizeGuard
from gens_tools.samplers.remote._transport import display_url, import_openai, new_client
from gens_tools.samplers.remote._window import PreparedWindow, WindowScorer

if TYPE_CHECKING:
    from openai import AsyncOpenAI

#: Environment variable read for the API key when none is passed.
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
#: Frame size (longest side, px) the sampler asks the pipeline to decode when ``max_side`` is not given.
DEFAULT_DECODE_SIDE = 448
#: Smallest frame side (px) the request-size guard shrinks to by default: GenS-3B reads 112×112 frames.
DEFAULT_MIN_SIDE = 112
#: Request fields that can carry the answer's length limit.
MAX_TOKENS_PARAMS = ("max_tokens", "max_completion_tokens")
#: The ``detail`` values of image parts (hosted OpenAI models).
IMAGE_DETAILS = ("low", "high", "auto")


@register_sampler("remote", extra="openai")
class RemoteGenSSampler(FrameSampler):
    """Scores windows with GenS served behind an OpenAI-compatible chat API, several windows at a time.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1`` for ``vllm serve``.
        model: the served model name (vLLM: the path or ``--served-model-name``).
        api_key: the key to send. Default: the environment variable ``api_key_env``, else a placeholder
            (enough for a local server started without ``--api-key``). Never shown in messages or ``repr``.
        api_key_env: environment variable to read the key from (default ``OPENAI_API_KEY``).
        concurrency: requests in flight at once for one call (windows of one video scored in parallel).
        timeout: seconds one HTTP request may take (a 256-frame window on a busy server can take a while).
        max_retries: retries of one request on 429, 408/409, 5xx, timeouts and dropped connections, with the
            SDK's exponential backoff (it honours ``Retry-After``).
        window_size: most frames per window (GenS was trained on up to 256).
        max_side: longest side (px) of the frames sent, also what the pipeline is asked to decode. ``None``
            (default): frames are sent as decoded, and the pipeline decodes at 448 px unless told otherwise.
        min_side: the request-size guard never shrinks frames below this (default 112 px, GenS-3B's frame
            size, or ``max_side`` if smaller).
        jpeg_quality: JPEG quality of the frames sent (1 to 95).
        max_request_bytes: the largest request body to send; bigger windows are recompressed, then shrunk,
            then split (each part labelled from ``[0]`` and mapped back). Lowered automatically when the
            server answers HTTP 413.
        max_images_per_request: most images one request may carry (vLLM's ``--limit-mm-per-prompt``).
        max_tokens: answer length limit; default sized to the window (``16 + 4 × frames``, 128 … 1024).
        max_tokens_param: the request field that carries it: ``max_tokens`` (vLLM, most servers) or
            ``max_completion_tokens`` (newer hosted models).
        temperature: sampling temperature (0 = greedy, as GenS is evaluated); ``None`` leaves it out.
        image_detail: the image parts' ``detail`` (``low``/``high``/``auto``, hosted OpenAI models); ``None``
            leaves it out.
        instruction: the instruction after the question (default: GenS's own, byte-exact).
        extra_body: extra request fields for the server (e.g. vLLM's ``{"stop_token_ids": […]}``).
        default_headers: extra HTTP headers on every request.
    """

    name: ClassVar[str] = "remote"
    generative = True
    secret_options: ClassVar[tuple[str, ...]] = ("api_key",)

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        concurrency: int = 8,
        timeout: float = 300.0,
        max_retries: int = 3,
        window_size: int = 256,
        max_side: int | None = None,
        min_side: int | None = None,
        jpeg_quality: int = 85,
        max_request_bytes: int = 20 * 1024 * 1024,
        max_images_per_request: int = 256,
        max_tokens: int | None = None,
        max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        temperature: float | None = 0.0,
        image_detail: Literal["low", "high", "auto"] | None = None,
        instruction: str = GENS_INSTRUCTION,
        extra_body: Mapping[str, Any] | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = checks.api_root("base_url", base_url)
        self.model = checks.non_empty_str("model", model)
        if api_key is not None and not isinstance(api_key, str):
            raise InvalidArgumentError("api_key must be a string")
        checks.non_empty_str("api_key_env", api_key_env)
        self.api_key_env = api_key_env
        self.concurrency = checks.positive_int("concurrency", concurrency, maximum=1024)
        self.timeout = checks.positive_number("timeout", timeout)
        self.max_retries = checks.int_in_range("max_retries", max_retries, 0, 50)
        self.window_size = checks.positive_int("window_size", window_size)
        self.max_side = checks.image_side("max_side", max_side)
        if min_side is None:
            min_side = DEFAULT_MIN_SIDE if self.max_side is None else min(DEFAULT_MIN_SIDE, self.max_side)
        self.min_side = checks.image_side("min_side", min_side) or DEFAULT_MIN_SIDE
        if self.max_side is not None and self.min_side > self.max_side:
            raise InvalidArgumentError(f"min_side ({min_side}) must not exceed max_side ({max_side})")
        self.preferred_max_side = self.max_side if self.max_side is not None else DEFAULT_DECODE_SIDE
        self.jpeg_quality = checks.jpeg_quality("jpeg_quality", jpeg_quality)
        self.max_request_bytes = checks.int_in_range("max_request_bytes", max_request_bytes, MIN_REQUEST_BYTES)
        self.max_images_per_request = checks.positive_int("max_images_per_request", max_images_per_request)
        self.max_tokens = checks.optional_positive_int("max_tokens", max_tokens)
        self.max_tokens_param = checks.choice("max_tokens_param", max_tokens_param, MAX_TOKENS_PARAMS)
        self.temperature = checks.optional_non_negative_number("temperature", temperature)
        self.image_detail = checks.optional_choice("image_detail", image_detail, IMAGE_DETAILS)
        checks.non_empty_str("instruction", instruction)
        self.instruction = instruction  # byte-exact: not stripped
        self.extra_body = dict(extra_body or {})
        self.default_headers = dict(default_headers or {})
        self._api_key = api_key
        self._request = RequestFormat(
            model=self.model,
            instruction=self.instruction,
            max_tokens=self.max_tokens,
            max_tokens_param=self.max_tokens_param,
            temperature=self.temperature,
            image_detail=self.image_detail,
            extra_body=self.extra_body,
        )
        self._guard = SizeGuard(
            self._request,
            limit=self.max_request_bytes,
            max_side=self.max_side,
            min_side=self.min_side,
            jpeg_quality=self.jpeg_quality,
            max_images=self.max_images_per_request,
        )
        failures = FailureReport(
            server=self.server,
            model=self.model,
            api_key_env=self.api_key_env,
            timeout=self.timeout,
            max_retries=self.max_retries,
            redact=self._redact,
        )
        self._windows = WindowScorer(self._guard, failures)
        self._lock = threading.Lock()
        self._runner: LoopThread | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        import_openai()  # fail now, with the install hint, rather than at the first window

    # ------------------------------------------------------------------ configuration

    def __repr__(self) -> str:
        return f"RemoteGenSSampler(base_url={self.server!r}, model={self.model!r}, concurrency={self.concurrency})"

    @property
    def server(self) -> str:
        """The server's URL as shown in messages (without credentials)."""
        return display_url(self.base_url)

    def build_messages(self, image_urls: Sequence[str], question: str) -> list[dict[str, Any]]:
        """The chat messages for one request: a single user message interleaving ``[i]`` labels and images,
        then the question and the instruction (frames first, so the image prefix is shared across questions).
        """
        return self._request.messages(image_urls, question)

    def _resolve_key(self) -> str:
        if self._api_key:
            return self._api_key
        return os.environ.get(self.api_key_env) or PLACEHOLDER_API_KEY

    def _redact(self, text: str, limit: int) -> str:
        return redact(text, self._resolve_key(), limit)

    def _new_client(self) -> AsyncOpenAI:
        return new_client(
            self.base_url,
            self._resolve_key(),
            timeout=self.timeout,
            max_retries=self.max_retries,
            default_headers=self.default_headers,
        )

    def _stages(self, client: AsyncOpenAI, question: str, call: CallState) -> Stages[PreparedWindow]:
        """This sampler's two stages of scoring a window, for one call with ``client``."""
        windows = self._windows

        def prepare(window: Window) -> PreparedWindow | WindowScores:
            return windows.prepare(window, question)

        def deliver(job: PreparedWindow) -> Awaitable[WindowScores]:
            return windows.deliver(client, job, question, call)

        return Stages(prepare, deliver)

    # ------------------------------------------------------------------ sync API

    def _get_runner(self) -> LoopThread:
        with self._lock:
            if self._runner is None:
                self._runner = LoopThread(self._new_client())
                self._finalizer = weakref.finalize(self, self._runner.stop)
            return self._runner

    def score_window(self, window: Window, question: str) -> WindowScores:
        """Score one window (blocking)."""
        question = validate_question(question)
        runner = self._get_runner()
        stages = self._stages(runner.client, question, CallState())
        return runner.submit(run_window(window, stages, asyncio.Semaphore(1))).result()

    def _score_stream(
        self, windows: Iterable[Window], question: str, note: Callable[[str], None]
    ) -> Iterator[WindowScores]:
        """Windows scored concurrently, results in window order.

        At most ``concurrency`` requests are in flight. ``windows`` is consumed lazily in the calling thread:
        a window is taken when fewer than :data:`PREPARE_AHEAD` windows are being encoded, and its frames are
        released as soon as it is encoded, so decoding, encoding and requests overlap while the frames of only
        a few windows are held at once. Up to ``concurrency`` encoded windows wait for a free request slot.
        """
        question = validate_question(question)
        runner = self._get_runner()
        stages = self._stages(runner.client, question, CallState())
        yield from score_in_order(runner, windows, stages, self.concurrency)

    def close(self) -> None:
        """Stop the background event loop and close the HTTP client. Safe to call twice; the sampler can be
        used again afterwards (a new loop starts on demand)."""
        with self._lock:
            runner, self._runner = self._runner, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        if runner is not None:
            runner.stop()

    # ------------------------------------------------------------------ async API

    async def ascore_window(self, window: Window, question: str) -> WindowScores:
        """Score one window from async code."""
        question = validate_question(question)
        async with self._new_client() as client:
            return await run_window(window, self._stages(client, question, CallState()), asyncio.Semaphore(1))

    async def ascore_windows(
        self,
        windows: Iterable[Window] | AsyncIterable[Window],
        question: str,
        *,
        total: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> AsyncIterator[WindowScores]:
        """Async form of :meth:`score_windows`: the same bounds, lazy consumption and window order.
        ``windows`` may be an async iterable (use one when producing a window blocks, e.g. decoding)."""
        question = validate_question(question)
        async with self._new_client() as client:
            stages = self._stages(client, question, CallState())
            scored = ascore_in_order(windows, stages, self.concurrency)
            async with contextlib.aclosing(scored):
                done = 0
                async for result in scored:
                    done += 1
                    emit(progress, "score", done, total)
                    yield result
