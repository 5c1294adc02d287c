"""Local stand-ins for the OpenAI and Gemini HTTP APIs, for tests that drive the real SDK clients.

Each server is a real HTTP server on 127.0.0.1 (a thread, daemon handler threads, a watchdog that shuts it
down after ``max_lifetime`` seconds even if a test forgets). It checks what the real API requires — the
key header, roles, part shapes, data-URL / inline-data encoding that decodes to a real image of the stated
type, image counts and byte sizes under the limits, and a context limit computed with the provider's own
pricing rules (written here independently of the code under test) — and answers in the real response format.
Requests that break a rule get the provider's error *and* are listed in ``violations``, so a test can
assert there were none.

The fake model "answers" from what it was shown: it cites the first and last frame labels it saw, and
(when ``check_time_codes`` is on) it reads the time code painted into each image by
:func:`gens_tools.synthetic.paint_time_code` and reports a violation when an image does not show the time
of the label just before it. An ``answer`` hook replaces that answer with one scripted from the request's
text and the decoded images (e.g. :func:`gens_tools.synthetic.needle_answer`).

Faults are scripted with :meth:`FakeServer.push` (one per request, in order): ``"429"``, ``"500"``,
``"503"``, ``"timeout"`` (the reply is held back for ``slow_seconds``), ``"too_long"``, ``"refusal"``,
``"content_filter"``, ``"policy"``, ``"empty"``, ``"truncated"``, ``"auth"``, ``"no-choices"`` (no choice or
candidate at all), and the faults on the wire of :mod:`gens_tools.testing._wire` (``"drip"``, ``"reset"``,
``"not-json"``, ``"html"``, ``"cut-body"``, ``"redirect"``, ``"429-wait"``, ``"429-bare"``).

Replies are scripted with :meth:`FakeServer.script` (one per answered request, in order): a text, a
:class:`ToolCall` or a list of them (OpenAI Chat Completions), or a function of the :class:`Recorded` request
returning one of those — so a scripted model can read what it was sent (the time codes in its images, the tool
results) before it answers. Without a script the model answers with the labels it saw.

FakeOpenAI's Chat Completions also takes function tools, ``tool`` messages (checked like the API: each answers a
call of the assistant message before it, every call is answered, no images in them), ``response_format``
(``json_schema`` checked against the strict-mode rules) and ``stream: true`` (server-sent events, usage in a
last chunk when ``stream_options.include_usage`` is set). FakeGemini takes ``responseJsonSchema`` /
``responseSchema`` with ``responseMimeType: application/json``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeAlias

from PIL import Image

from gens_tools.testing._wire import WIRE_FAULTS, write_wire_fault

MiB = 1024 * 1024
_MIME_TO_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
# 400s a correct client can still get (not rule violations): too long, bad key, content policy.
_EXPECTED_REJECTIONS = {"context_length_exceeded", "API_KEY_INVALID", "content_policy_violation"}
_LABEL = re.compile(r"\[(\d{2}):(\d{2}):(\d{2})(?:\.(\d))?\]")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: Any
    size: int
    images: list[dict[str, Any]] = field(default_factory=list)  # per image: label, size, detail, tokens…
    prompt_tokens: int = 0
    status: int = 0
    shown: list[tuple[str | None, Image.Image]] = field(default_factory=list, repr=False)  # with an answer hook
    reply: Any = None  # what the fake model answered (text, or the tool calls)

    @property
    def texts(self) -> list[str]:
        """Every text the request carried (system, user, tool and assistant texts), in order."""
        return list(_message_texts(self.body))


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the fake model makes (OpenAI Chat Completions)."""

    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=lambda: "call_" + uuid.uuid4().hex[:16])


#: One scripted reply: a text, tool calls, or a function of the request that returns one of those.
Reply: TypeAlias = "str | ToolCall | Sequence[ToolCall] | Callable[[Recorded], Any]"


def _message_texts(value: Any) -> Any:
    """Every ``text``/``content`` string inside a request body, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("text", "content") and isinstance(item, str):
                yield item
            else:
                yield from _message_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _message_texts(item)


class _Stream:
    """A reply sent as server-sent events."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    def encode(self) -> bytes:
        lines = [f"data: {json.dumps(event)}\n\n" for event in self.events]
        lines.append("data: [DONE]\n\n")
        return "".join(lines).encode("utf-8")


#: Scripts the fake model's answer: called with the request's text parts (joined by newlines) and each image
#: with the label text before it; returns the answer text.
AnswerHook = Callable[[str, list[tuple[str | None, Image.Image]]], str]


def _texts(body: Any) -> list[str]:
    """Every ``text`` string in a request body, in order (chat, Responses and Gemini shapes alike)."""
    out: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                out += _texts(value)
    elif isinstance(body, list):
        for value in body:
            out += _texts(value)
    return out


class _Reject(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _label_seconds(text: str) -> float | None:
    """The last ``[hh:mm:ss(.d)]`` timestamp in ``text`` (a bare label, or a caption such as ``Frame at 4.0s
    [00:00:04.0] score 5``), in seconds."""
    found = _LABEL.findall(text.strip())
    if not found:
        return None
    h, mi, s, f = found[-1]
    return int(h) * 3600 + int(mi) * 60 + int(s) + (int(f) / 10 if f else 0.0)


def _decode_image(data: bytes, mime: str) -> Image.Image:
    fmt = _MIME_TO_FORMAT.get(mime)
    if fmt is None:
        raise _Reject(400, f"Unsupported image MIME type {mime!r}.", "invalid_image_format")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:
        raise _Reject(
            400, "You uploaded an unsupported image. Please make sure your image is valid.", "invalid_image"
        ) from exc
    if img.format != fmt:
        raise _Reject(400, f"Image data is {img.format}, but the MIME type says {mime}.", "invalid_image")
    return img


class FakeServer:
    """The shared machinery: HTTP plumbing, recording, fault script, watchdog."""

    #: per-image byte limit, request limits (overridden by subclasses)
    max_images = 500
    max_image_bytes = 20 * MiB
    max_total_image_bytes = 50 * MiB
    max_request_bytes = 64 * MiB

    def __init__(
        self,
        *,
        api_key: str = "test-key-123",
        context_limit: int | None = None,
        slow_seconds: float = 1.5,
        check_time_codes: bool = False,
        max_lifetime: float = 120.0,
        answer: AnswerHook | None = None,
        drip_interval: float = 0.5,
    ) -> None:
        self.api_key = api_key
        self.drip_interval = drip_interval
        self._stop_event = threading.Event()
        self.answer = answer
        self.context_limit = context_limit
        self.slow_seconds = slow_seconds
        self.check_time_codes = check_time_codes
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self._faults: deque[str] = deque()
        self._replies: deque[Any] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 15  # a stuck client cannot hold a handler thread for long
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                self._fail()

            def _fail(self) -> None:
                self.send_response(405)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self._stopped = False
        self._watchdog = threading.Timer(max_lifetime, self.stop)
        self._watchdog.daemon = True
        self._watchdog.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *faults: str) -> None:
        """Script faults for the next requests (one each, in order)."""
        with self._lock:
            self._faults.extend(faults)

    def script(self, *replies: Reply) -> None:
        """Script the model's next replies (one per answered request, in order; see the module notes)."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def scripted(self) -> int:
        """Scripted replies not used yet."""
        return len(self._replies)

    def next_reply(self, rec: Recorded) -> Any:
        """The reply to ``rec``: the next scripted one (called with ``rec`` when it is a function), else
        :meth:`answer_text`."""
        with self._lock:
            item = self._replies.popleft() if self._replies else None
        if item is None:
            reply: Any = self.answer_text(rec)
        else:
            reply = item(rec) if callable(item) else item
        if isinstance(reply, ToolCall):
            reply = [reply]
        rec.reply = reply
        return reply

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stop_event.set()
        self._watchdog.cancel()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- plumbing --

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("content-length") or 0)
        headers = {k.lower(): v for k, v in h.headers.items()}
        if length > self.max_request_bytes:
            if length <= 64 * MiB:  # drain what the client sends before answering
                h.rfile.read(length)
            with self._lock:
                self.requests.append(Recorded(path=h.path, headers=headers, body=None, size=length, status=413))
                if self._faults:
                    self._faults.popleft()
            self._send(h, *self.error_response(413, "Request payload size exceeds the limit.", None))
            return
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        rec = Recorded(path=h.path, headers=headers, body=body, size=length)
        with self._lock:
            self.requests.append(rec)
            fault = self._faults.popleft() if self._faults else None
        if fault == "timeout":
            time.sleep(self.slow_seconds)  # the client gives up first; the reply goes nowhere
        if fault in WIRE_FAULTS:

            def normal() -> tuple[int, dict[str, str], bytes]:
                status, extra_headers, payload = self._answer(h, rec, None)
                return status, extra_headers, self._encode(payload)

            rec.status = 0
            error = self.error_response(429, "Rate limit reached for requests", None)[2]
            write_wire_fault(
                h,
                fault,
                normal,
                stop=self._stop_event,
                drip_interval=self.drip_interval,
                error_body=self._encode(error),
            )
            return
        status, extra_headers, payload = self._answer(h, rec, fault)
        rec.status = status
        self._send(h, status, extra_headers, payload)

    def _answer(self, h: BaseHTTPRequestHandler, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], Any]:
        try:
            return self.respond(rec, fault)
        except _Reject as rej:
            if rej.status == 400 and rej.code not in _EXPECTED_REJECTIONS:
                self.violations.append(f"{h.path}: {rej.message}")
            return self.error_response(rej.status, rej.message, rej.code)

    @staticmethod
    def _encode(payload: Any) -> bytes:
        return payload.encode() if isinstance(payload, _Stream) else json.dumps(payload).encode("utf-8")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], payload: Any) -> None:
        stream = isinstance(payload, _Stream)
        data = payload.encode() if stream else json.dumps(payload).encode("utf-8")
        try:
            h.send_response(status)
            h.send_header("content-type", "text/event-stream" if stream else "application/json")
            h.send_header("content-length", str(len(data)))
            for k, v in headers.items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass

    # -- shared checks --

    def check_images(self, rec: Recorded, images: list[tuple[str | None, str, bytes, dict[str, Any]]]) -> None:
        """Count/size limits, decoding, and the label/time-code pairing."""
        if len(images) > self.max_images:
            raise _Reject(400, f"Too many images: {len(images)} > {self.max_images}.")
        total = 0
        for label, mime, data, info in images:
            if len(data) > self.max_image_bytes:
                raise _Reject(400, f"Image too large: {len(data)} bytes.")
            total += len(data)
            img = _decode_image(data, mime)
            info.update(label=label, width=img.width, height=img.height, bytes=len(data))
            if self.answer is not None:
                rec.shown.append((label, img.convert("RGB")))
            if self.check_time_codes:
                from gens_tools.synthetic import read_time_code

                shown = _label_seconds(label or "")
                try:
                    painted = read_time_code(img)
                except ValueError as exc:
                    self.violations.append(f"image after {label!r} holds no time code: {exc}")
                    continue
                if shown is None or abs(painted - shown) > 0.55:
                    self.violations.append(f"image after label {label!r} shows time {painted:.3f}s")
            rec.images.append(info)
        if total > self.max_total_image_bytes:
            raise _Reject(400, f"Total image bytes {total} exceed the limit.")
        read = [_label_seconds(i.get("label") or "") for i in rec.images]
        times = [t for t in read if t is not None]
        if len(times) == len(read) and times != sorted(times):
            self.violations.append(f"frames are not in time order: {times}")

    def answer_text(self, rec: Recorded) -> str:
        if self.answer is not None:
            return self.answer("\n".join(_texts(rec.body)), rec.shown)
        labels = [i["label"] for i in rec.images if i.get("label")]
        if not labels:
            return "I was shown no frames."
        return (
            f"I was shown {len(labels)} frames. The event starts at {labels[0]} and is still visible at {labels[-1]}."
        )

    # -- provider specifics --

    def respond(self, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def error_response(self, status: int, message: str, code: str | None) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError


# --- OpenAI ------------------------------------------------------------------------------------------------


def openai_image_tokens(width: int, height: int, detail: str, base: int = 85, per_tile: int = 170) -> int:
    """gpt-4o pricing, written from the published description."""
    if detail == "low":
        return base
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    short = min(w, h)
    if short > 768:
        w, h = w * 768 / short, h * 768 / short
    return base + per_tile * (math.ceil(w / 512) * math.ceil(h / 512))


def _text_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


class FakeOpenAI(FakeServer):
    """Chat Completions (``/v1/chat/completions``) and Responses (``/v1/responses``)."""

    _CHAT_KEYS = frozenset(
        {
            "model",
            "messages",
            "max_completion_tokens",
            "max_tokens",
            "temperature",
            "top_p",
            "n",
            "stop",
            "seed",
            "user",
            "stream",
            "response_format",
            "store",
            "metadata",
            "tools",
            "tool_choice",
            "parallel_tool_calls",
            "stream_options",
        }
    )
    _RESP_KEYS = frozenset(
        {
            "model",
            "input",
            "instructions",
            "max_output_tokens",
            "temperature",
            "top_p",
            "store",
            "metadata",
            "user",
            "stream",
            "text",
            "reasoning",
        }
    )

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("context_limit", 128_000)
        super().__init__(**kwargs)

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def error_response(self, status: int, message: str, code: str | None) -> tuple[int, dict[str, str], Any]:
        err_type = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        headers = {"x-request-id": "req_" + uuid.uuid4().hex[:12]}
        if status == 429:
            headers["retry-after-ms"] = "5"
        if status >= 500:
            headers["retry-after-ms"] = "5"
        return status, headers, {"error": {"message": message, "type": err_type, "param": None, "code": code}}

    def respond(self, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], Any]:
        auth = rec.headers.get("authorization", "")
        if fault == "auth" or auth != f"Bearer {self.api_key}":
            got = auth.removeprefix("Bearer ")
            # The worst case for a client: the error quotes the key it was sent, in full.
            raise _Reject(
                401,
                f"Incorrect API key provided: {got}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_api_key",
            )
        if fault in ("429", "500", "503"):
            status = int(fault)
            message = "Rate limit reached for requests" if status == 429 else "The server had an error"
            return self.error_response(status, message, "rate_limit_exceeded" if status == 429 else None)
        if not isinstance(rec.body, dict):
            raise _Reject(400, "We could not parse the JSON body of your request.")
        if rec.path == "/v1/chat/completions":
            prompt = self._check_chat(rec)
        elif rec.path == "/v1/responses":
            prompt = self._check_responses(rec)
        else:
            raise _Reject(404, f"Invalid URL (POST {rec.path})")
        rec.prompt_tokens = prompt
        if fault == "too_long" or (self.context_limit is not None and prompt > self.context_limit):
            limit = self.context_limit or 128_000
            raise _Reject(
                400,
                f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
                f"{max(prompt, limit + 1)} tokens. Please reduce the length of the messages.",
                "context_length_exceeded",
            )
        if fault == "policy":
            raise _Reject(
                400, "Your request was rejected as a result of our safety system.", "content_policy_violation"
            )
        if fault == "no-choices":
            return (
                200,
                {},
                {
                    "id": "chatcmpl-" + uuid.uuid4().hex[:20],
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": str(rec.body.get("model")),
                    "choices": [],
                },
            )
        reply = self.next_reply(rec)
        calls: list[ToolCall] = []
        if isinstance(reply, str):
            text: str | None = reply
        else:
            calls, text = list(reply), None
            if rec.path != "/v1/chat/completions" or not calls or not all(isinstance(c, ToolCall) for c in calls):
                raise ValueError(f"the fake can script tool calls for Chat Completions only, got {reply!r}")
            declared = {t["function"]["name"] for t in rec.body.get("tools") or []}
            unknown = [c.name for c in calls if c.name not in declared]
            if unknown:
                raise ValueError(f"scripted call of {unknown} but the request declares only {sorted(declared)}")
        refusal = None
        finish = "tool_calls" if calls else "stop"
        if fault == "refusal":
            text, refusal = None, "I'm sorry, I can't help with that."
        elif fault == "content_filter":
            text, finish = None, "content_filter"
        elif fault == "empty":
            text = ""
        elif fault == "truncated":
            text, finish = "", "length"
        out_tokens = _text_tokens(text or refusal or "") + sum(_text_tokens(json.dumps(c.arguments)) for c in calls)
        model = str(rec.body["model"]) + "-2024-08-06"
        if rec.path == "/v1/chat/completions":
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": out_tokens,
                "total_tokens": prompt + out_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            }
            wire_calls = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in calls
            ]
            if rec.body.get("stream"):
                return 200, {}, self._chat_stream(rec, model, text, refusal, wire_calls, finish, usage)
            reply_message: dict[str, Any] = {
                "role": "assistant",
                "content": text,
                "refusal": refusal,
                "annotations": [],
            }
            if wire_calls:
                reply_message["tool_calls"] = wire_calls
            return (
                200,
                {},
                {
                    "id": "chatcmpl-" + uuid.uuid4().hex[:20],
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": reply_message,
                            "logprobs": None,
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                    "service_tier": "default",
                    "system_fingerprint": "fp_fake",
                },
            )
        content: list[dict[str, Any]] = []
        state = "completed"
        incomplete: dict[str, str] | None = None
        if refusal:
            content.append({"type": "refusal", "refusal": refusal})
        elif finish == "content_filter":
            state, incomplete = "incomplete", {"reason": "content_filter"}
        elif finish == "length":
            state, incomplete = "incomplete", {"reason": "max_output_tokens"}
        else:
            content.append({"type": "output_text", "text": text or "", "annotations": [], "logprobs": []})
        return (
            200,
            {},
            {
                "id": "resp_" + uuid.uuid4().hex[:20],
                "object": "response",
                "created_at": int(time.time()),
                "status": state,
                "error": None,
                "incomplete_details": incomplete,
                "instructions": rec.body.get("instructions"),
                "model": model,
                "output": [
                    {
                        "type": "message",
                        "id": "msg_" + uuid.uuid4().hex[:12],
                        "status": "completed",
                        "role": "assistant",
                        "content": content,
                    }
                ]
                if content
                else [],
                "parallel_tool_calls": True,
                "tool_choice": "auto",
                "tools": [],
                "store": rec.body.get("store", True),
                "usage": {
                    "input_tokens": prompt,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": out_tokens,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": prompt + out_tokens,
                },
            },
        )

    @staticmethod
    def _chat_stream(
        rec: Recorded,
        model: str,
        text: str | None,
        refusal: str | None,
        calls: list[dict[str, Any]],
        finish: str,
        usage: dict[str, Any],
    ) -> _Stream:
        """The reply as Chat Completions chunks: the role, the text in pieces (or each call's name, then its
        arguments), the finish reason, then the usage when asked for."""
        head = {
            "id": "chatcmpl-" + uuid.uuid4().hex[:20],
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        want_usage = bool((rec.body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            event = {
                **head,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if want_usage:
                event["usage"] = None
            return event

        events = [chunk({"role": "assistant", "content": "" if not calls else None, "refusal": None})]
        if refusal:
            events.append(chunk({"refusal": refusal}))
        for i in range(0, len(text or ""), 16):
            events.append(chunk({"content": (text or "")[i : i + 16]}))
        for n, call in enumerate(calls):
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": n,
                                "id": call["id"],
                                "type": "function",
                                "function": {"name": call["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            arguments = call["function"]["arguments"]
            events.append(chunk({"tool_calls": [{"index": n, "function": {"arguments": arguments}}]}))
        events.append(chunk({}, finish))
        if want_usage:
            events.append({**head, "choices": [], "usage": usage})
        return _Stream(events)

    @staticmethod
    def _check_strict_schema(schema: Any, where: str) -> None:
        """OpenAI's strict structured-output rules: every object sets ``additionalProperties: false`` and
        lists all its properties in ``required``."""
        if not isinstance(schema, dict):
            raise _Reject(400, f"Invalid schema for {where}: a schema must be an object.")
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties")
            if not isinstance(props, dict):
                raise _Reject(400, f"Invalid schema for {where}: an object schema needs 'properties'.")
            if schema.get("additionalProperties") is not False:
                raise _Reject(
                    400,
                    f"Invalid schema for {where}: 'additionalProperties' is required to be supplied and to be false.",
                )
            required = schema.get("required")
            if not isinstance(required, list) or sorted(required) != sorted(props):
                raise _Reject(
                    400,
                    f"Invalid schema for {where}: 'required' is required to be supplied and to be an "
                    "array including every key in properties.",
                )
            for name, sub in props.items():
                FakeOpenAI._check_strict_schema(sub, f"{where}.{name}")
        for sub in schema.get("anyOf") or []:
            FakeOpenAI._check_strict_schema(sub, where)
        if "items" in schema:
            FakeOpenAI._check_strict_schema(schema["items"], f"{where}[]")

    def _check_response_format(self, spec: Any, where: str) -> None:
        if not isinstance(spec, dict) or spec.get("type") not in ("text", "json_object", "json_schema"):
            raise _Reject(400, f"Invalid '{where}': type must be text, json_object or json_schema.")
        if spec["type"] != "json_schema":
            return
        inner = spec.get("json_schema") if where == "response_format" else spec
        if not isinstance(inner, dict) or not _TOOL_NAME.match(str(inner.get("name", ""))):
            raise _Reject(400, f"Invalid '{where}': json_schema needs a name of 1-64 letters, digits, '_' or '-'.")
        if inner.get("strict"):
            self._check_strict_schema(inner.get("schema"), f"{where} {inner['name']!r}")

    def _check_tools(self, body: dict[str, Any]) -> None:
        tools = body.get("tools")
        if tools is None:
            if "tool_choice" in body:
                raise _Reject(400, "'tool_choice' is only allowed when 'tools' are specified.")
            return
        if not isinstance(tools, list) or not tools:
            raise _Reject(400, "'tools' must be a non-empty array.")
        for i, tool in enumerate(tools):
            fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
            if not isinstance(fn, dict) or not _TOOL_NAME.match(str(fn.get("name", ""))):
                raise _Reject(400, f"Invalid 'tools[{i}]': a function with a name of 1-64 letters, digits, '_' or '-'.")
            params = fn.get("parameters")
            if params is not None and (not isinstance(params, dict) or params.get("type") != "object"):
                raise _Reject(
                    400,
                    f"Invalid schema for function '{fn['name']}': schema must be a JSON Schema of 'type: \"object\"'.",
                )
            if fn.get("strict") and params is not None:
                self._check_strict_schema(params, f"function '{fn['name']}'")

    def _check_model(self, body: dict[str, Any], allowed: frozenset[str]) -> None:
        unknown = set(body) - allowed
        if unknown:
            raise _Reject(400, f"Unrecognized request argument supplied: {sorted(unknown)[0]}")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise _Reject(400, "you must provide a model parameter")
        for key in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
            if key in body and (not isinstance(body[key], int) or body[key] < 1):
                raise _Reject(400, f"Invalid '{key}': must be a positive integer.")

    @staticmethod
    def _data_url(url: Any) -> tuple[str, bytes]:
        if not isinstance(url, str):
            raise _Reject(400, "Invalid image_url: expected a string.")
        m = re.match(r"^data:(image/[a-z]+);base64,(.*)$", url, re.S)
        if not m:
            raise _Reject(400, "Invalid image URL: expected a data URL 'data:image/...;base64,...'.")
        try:
            data = base64.b64decode(m.group(2), validate=True)
        except (binascii.Error, ValueError):
            raise _Reject(400, "Invalid base64 image data.") from None
        return m.group(1), data

    def _check_chat(self, rec: Recorded) -> int:
        body = rec.body
        self._check_model(body, self._CHAT_KEYS)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Reject(400, "'messages' must be a non-empty array.")
        self._check_tools(body)
        if "response_format" in body:
            self._check_response_format(body["response_format"], "response_format")
        if "stream_options" in body and not body.get("stream"):
            raise _Reject(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
        tokens = 3
        images: list[tuple[str | None, str, bytes, dict[str, Any]]] = []
        pending: list[str] = []  # tool calls of the last assistant message not answered yet
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict) or msg.get("role") not in ("system", "developer", "user", "assistant", "tool"):
                raise _Reject(400, f"Invalid value for 'messages[{i}].role'.")
            role = msg["role"]
            if pending and role != "tool":
                raise _Reject(
                    400,
                    "An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not have response "
                    f"messages: {', '.join(pending)}",
                )
            if role == "tool":
                call_id = msg.get("tool_call_id")
                if call_id not in pending:
                    raise _Reject(
                        400,
                        "Invalid parameter: messages with role 'tool' must be a response to a "
                        f"preceeding message with 'tool_calls' (messages[{i}], tool_call_id {call_id!r}).",
                    )
                pending.remove(call_id)
            if role == "assistant" and msg.get("tool_calls"):
                for call in msg["tool_calls"]:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict) or not isinstance(fn.get("arguments"), str) or not call.get("id"):
                        raise _Reject(
                            400,
                            f"Invalid 'messages[{i}].tool_calls': each needs an id and a function "
                            "with a name and arguments (a JSON string).",
                        )
                    tokens += _text_tokens(fn["arguments"]) + 4
                    pending.append(call["id"])
            content = msg.get("content")
            tokens += 4
            if content is None and role == "assistant" and msg.get("tool_calls"):
                continue
            if isinstance(content, str):
                tokens += _text_tokens(content)
                continue
            if not isinstance(content, list) or not content:
                raise _Reject(400, f"'messages[{i}].content' must be a string or a non-empty array.")
            last_text: str | None = None
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    if not isinstance(part.get("text"), str) or set(part) != {"type", "text"}:
                        raise _Reject(400, f"Invalid text part at messages[{i}].content[{j}].")
                    tokens += _text_tokens(part["text"])
                    last_text = part["text"]
                elif kind == "image_url":
                    if msg["role"] != "user":
                        raise _Reject(
                            400,
                            f"Image inputs are only supported in 'user' messages "
                            f"(messages[{i}] has role {msg['role']!r}).",
                        )
                    spec = part.get("image_url")
                    if not isinstance(spec, dict) or set(spec) - {"url", "detail"}:
                        raise _Reject(400, f"Invalid image_url part at messages[{i}].content[{j}].")
                    detail = spec.get("detail", "auto")
                    if detail not in ("low", "high", "auto"):
                        raise _Reject(400, f"Invalid value for detail: {detail!r}.")
                    mime, data = self._data_url(spec.get("url"))
                    images.append((last_text, mime, data, {"detail": detail}))
                    last_text = None
                else:
                    raise _Reject(400, f"Invalid content part type {kind!r} at messages[{i}].content[{j}].")
        if pending:
            raise _Reject(
                400,
                "An assistant message with 'tool_calls' must be followed by tool messages responding "
                f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                f"{', '.join(pending)}",
            )
        self.check_images(rec, images)
        for info in rec.images:
            info["tokens"] = openai_image_tokens(info["width"], info["height"], info["detail"])
        return int(tokens + sum(i["tokens"] for i in rec.images))

    def _check_responses(self, rec: Recorded) -> int:
        body = rec.body
        self._check_model(body, self._RESP_KEYS)
        if "text" in body:
            fmt = body["text"].get("format") if isinstance(body["text"], dict) else None
            if fmt is not None:
                self._check_response_format(fmt, "text.format")
        if "instructions" in body and not isinstance(body["instructions"], str):
            raise _Reject(400, "'instructions' must be a string.")
        tokens = _text_tokens(body.get("instructions") or "") + 3
        items = body.get("input")
        if isinstance(items, str):
            return tokens + _text_tokens(items)
        if not isinstance(items, list) or not items:
            raise _Reject(400, "'input' must be a string or a non-empty array.")
        images: list[tuple[str | None, str, bytes, dict[str, Any]]] = []
        for i, item in enumerate(items):
            role = item.get("role") if isinstance(item, dict) else None
            if role not in ("user", "system", "developer", "assistant"):
                raise _Reject(400, f"Invalid value for 'input[{i}].role'.")
            content = item.get("content")
            if isinstance(content, str):
                tokens += _text_tokens(content)
                continue
            if not isinstance(content, list):
                raise _Reject(400, f"'input[{i}].content' must be a string or an array.")
            last_text: str | None = None
            for j, part in enumerate(content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "input_text" and isinstance(part.get("text"), str):
                    tokens += _text_tokens(part["text"])
                    last_text = part["text"]
                elif kind == "input_image":
                    if role != "user":
                        raise _Reject(400, f"input_image is only allowed in user messages (input[{i}]).")
                    detail = part.get("detail")
                    if detail not in ("low", "high", "auto", "original"):
                        raise _Reject(400, f"Missing or invalid 'detail' at input[{i}].content[{j}].")
                    mime, data = self._data_url(part.get("image_url"))
                    images.append((last_text, mime, data, {"detail": detail}))
                    last_text = None
                else:
                    raise _Reject(400, f"Invalid content part at input[{i}].content[{j}].")
        self.check_images(rec, images)
        for info in rec.images:
            info["tokens"] = openai_image_tokens(info["width"], info["height"], info["detail"])
        return int(tokens + sum(i["tokens"] for i in rec.images))


# --- Gemini ------------------------------------------------------------------------------------------------

_GEMINI_PATH = re.compile(r"^/(v1|v1beta|v1alpha)/models/([A-Za-z0-9.\-_]+):generateContent$")
_GEMINI_MIME = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
_LEVELS = {
    "MEDIA_RESOLUTION_LOW": 280,
    "MEDIA_RESOLUTION_MEDIUM": 560,
    "MEDIA_RESOLUTION_HIGH": 1120,
    "MEDIA_RESOLUTION_ULTRA_HIGH": 2240,
}
# The request-wide setting has no ULTRA_HIGH (that one is per part only).
_REQUEST_LEVELS = {"MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM", "MEDIA_RESOLUTION_HIGH"}
_GEN_CONFIG_KEYS = {
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "stopSequences",
    "responseMimeType",
    "seed",
    "mediaResolution",
    "thinkingConfig",
    "responseSchema",
    "responseJsonSchema",
}


def gemini_image_tokens(model: str, width: int, height: int, level: str | None) -> int:
    """Gemini pricing: 2.x tiles of 258 tokens; 3.x and later a flat cost per media_resolution level (the
    part's own, else the request's, else high)."""
    if model.startswith(("gemini-1", "gemini-2")):
        if width <= 384 and height <= 384:
            return 258
        return 258 * math.ceil(width / 768) * math.ceil(height / 768)
    return _LEVELS[level or "MEDIA_RESOLUTION_HIGH"]


class FakeGemini(FakeServer):
    """``POST /{version}/models/{model}:generateContent`` of the Gemini Developer API."""

    max_images = 3000
    max_total_image_bytes = 64 * MiB
    max_request_bytes = 20 * MiB  # inline data: the whole request must stay under 20 MB

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("context_limit", 1_048_576)
        super().__init__(**kwargs)

    @property
    def base_url(self) -> str:
        return self.root

    def error_response(self, status: int, message: str, code: str | None) -> tuple[int, dict[str, str], Any]:
        state = {
            400: "INVALID_ARGUMENT",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            413: "INVALID_ARGUMENT",
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            503: "UNAVAILABLE",
        }.get(status, "UNKNOWN")
        error: dict[str, Any] = {"code": status, "message": message, "status": state}
        if code == "API_KEY_INVALID":
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ]
        return status, {}, {"error": error}

    def respond(self, rec: Recorded, fault: str | None) -> tuple[int, dict[str, str], Any]:
        m = _GEMINI_PATH.match(rec.path)
        if not m:
            raise _Reject(404, f"The requested URL {rec.path} was not found on this server.")
        model = m.group(2)
        if fault == "auth" or rec.headers.get("x-goog-api-key") != self.api_key:
            got = rec.headers.get("x-goog-api-key", "")
            raise _Reject(400, f"API key not valid. Please pass a valid API key. (got {got})", "API_KEY_INVALID")
        if fault == "429":
            return self.error_response(429, "Resource has been exhausted (e.g. check quota).", None)
        if fault in ("500", "503"):
            message = "An internal error has occurred." if fault == "500" else "The model is overloaded."
            return self.error_response(int(fault), message, None)
        body = rec.body
        if not isinstance(body, dict):
            raise _Reject(400, "Invalid JSON payload received.")
        unknown = set(body) - {
            "contents",
            "systemInstruction",
            "generationConfig",
            "safetySettings",
            "tools",
            "toolConfig",
            "cachedContent",
        }
        if unknown:
            raise _Reject(400, f'Invalid JSON payload received. Unknown name "{sorted(unknown)[0]}".')
        tokens = 0
        system = body.get("systemInstruction")
        if system is not None:
            parts = system.get("parts") if isinstance(system, dict) else None
            if not isinstance(parts, list) or not all(isinstance(p, dict) and set(p) == {"text"} for p in parts):
                raise _Reject(400, "systemInstruction must hold text parts only.")
            tokens += sum(_text_tokens(p["text"]) for p in parts)
        config = body.get("generationConfig") or {}
        if set(config) - _GEN_CONFIG_KEYS:
            raise _Reject(400, f"Unknown generationConfig field {sorted(set(config) - _GEN_CONFIG_KEYS)[0]}.")
        if "responseSchema" in config and "responseJsonSchema" in config:
            raise _Reject(400, "responseSchema and responseJsonSchema cannot both be set.")
        if ("responseSchema" in config or "responseJsonSchema" in config) and (
            config.get("responseMimeType") != "application/json"
        ):
            raise _Reject(400, "A response schema needs responseMimeType application/json.")
        schema = config.get("responseJsonSchema")
        if schema is not None and (not isinstance(schema, dict) or "type" not in schema):
            raise _Reject(400, "responseJsonSchema must be a JSON schema object.")
        request_level = config.get("mediaResolution")
        if request_level is not None and request_level not in _REQUEST_LEVELS:
            raise _Reject(400, f"Invalid generationConfig.mediaResolution {request_level!r}.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _Reject(400, "* GenerateContentRequest.contents: contents is not specified")
        images: list[tuple[str | None, str, bytes, dict[str, Any]]] = []
        for i, content in enumerate(contents):
            if not isinstance(content, dict) or content.get("role") not in ("user", "model"):
                raise _Reject(400, f"Please use a valid role: user, model. (contents[{i}])")
            parts = content.get("parts")
            if not isinstance(parts, list) or not parts:
                raise _Reject(400, f"* GenerateContentRequest.contents[{i}].parts: must not be empty")
            last_text: str | None = None
            for j, part in enumerate(parts):
                if not isinstance(part, dict):
                    raise _Reject(400, f"contents[{i}].parts[{j}] must be an object.")
                data_fields = [
                    k
                    for k in part
                    if k
                    in (
                        "text",
                        "inlineData",
                        "inline_data",
                        "fileData",
                        "file_data",
                        "functionCall",
                        "functionResponse",
                    )
                ]
                extra = set(part) - set(data_fields) - {"mediaResolution", "thought", "thoughtSignature"}
                if len(data_fields) != 1 or extra:
                    raise _Reject(400, f"contents[{i}].parts[{j}] must set exactly one data field.")
                if "text" in part:
                    if not isinstance(part["text"], str):
                        raise _Reject(400, f"contents[{i}].parts[{j}].text must be a string.")
                    tokens += _text_tokens(part["text"])
                    last_text = part["text"]
                    continue
                inline = part.get("inlineData", part.get("inline_data"))
                if not isinstance(inline, dict):
                    raise _Reject(400, f"contents[{i}].parts[{j}]: only inline image data is accepted here.")
                mime = inline.get("mimeType", inline.get("mime_type"))
                if mime not in _GEMINI_MIME:
                    raise _Reject(400, f"Unsupported MIME type: {mime}")
                raw = inline.get("data")
                if not isinstance(raw, str) or not raw:
                    raise _Reject(400, f"contents[{i}].parts[{j}].inlineData.data is required.")
                try:
                    alt = b"-_" if ("-" in raw or "_" in raw) else None
                    data = base64.b64decode(raw, altchars=alt, validate=True)
                except (binascii.Error, ValueError):
                    raise _Reject(
                        400, "Invalid value at 'inline_data.data' (TYPE_BYTES), Base64 decoding failed."
                    ) from None
                level = request_level
                if "mediaResolution" in part:
                    spec = part["mediaResolution"]
                    level = spec.get("level") if isinstance(spec, dict) else None
                    if level not in _LEVELS:
                        raise _Reject(400, f"Invalid mediaResolution {spec!r}.")
                images.append((last_text, mime, data, {"level": level}))
                last_text = None
        self.check_images(rec, images)
        for info in rec.images:
            info["tokens"] = gemini_image_tokens(model, info["width"], info["height"], info["level"])
        prompt = tokens + sum(i["tokens"] for i in rec.images)
        rec.prompt_tokens = prompt
        if fault == "too_long" or (self.context_limit is not None and prompt > self.context_limit):
            limit = self.context_limit or 1_048_576
            raise _Reject(
                400,
                f"The input token count ({max(prompt, limit + 1)}) exceeds the maximum number of "
                f"tokens allowed ({limit}).",
                "context_length_exceeded",
            )
        usage = {
            "promptTokenCount": prompt,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": tokens},
                {"modality": "IMAGE", "tokenCount": prompt - tokens},
            ],
        }
        version = model if not model.endswith("-latest") else "gemini-3.8-flash"
        meta = {"modelVersion": version, "responseId": uuid.uuid4().hex[:22]}
        if fault == "refusal":
            return (
                200,
                {},
                {
                    "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                    "usageMetadata": {**usage, "totalTokenCount": prompt},
                    **meta,
                },
            )
        if fault == "content_filter":
            candidate = {
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
                ],
            }
            return 200, {}, {"candidates": [candidate], "usageMetadata": {**usage, "totalTokenCount": prompt}, **meta}
        if fault == "no-choices":
            return 200, {}, {"candidates": [], "usageMetadata": {**usage, "totalTokenCount": prompt}, **meta}
        if fault in ("empty", "truncated"):
            candidate = {
                "content": {"role": "model", "parts": []} if fault == "empty" else {"role": "model"},
                "finishReason": "STOP" if fault == "empty" else "MAX_TOKENS",
                "index": 0,
            }
            return 200, {}, {"candidates": [candidate], "usageMetadata": {**usage, "totalTokenCount": prompt}, **meta}
        text = self.next_reply(rec)
        if not isinstance(text, str):
            raise ValueError(f"the fake Gemini answers with text only, got {text!r}")
        out = _text_tokens(text)
        return (
            200,
            {},
            {
                "candidates": [
                    {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {**usage, "candidatesTokenCount": out, "totalTokenCount": prompt + out},
                **meta,
            },
        )
