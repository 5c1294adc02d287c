"""A fake OpenAI-compatible GenS server (a stand-in for vLLM serving GenS), for tests, benchmarks and examples.

:class:`FakeGenSServer` is a real HTTP server on 127.0.0.1 (one thread per connection, at most
``max_threads`` of them) that the ``openai`` SDK talks to for real. It checks every chat request against the
GenS request layout and records what it saw; it "reads" each frame by decoding the JPEG and reading the time
code painted by :mod:`gens_tools.synthetic`, and answers like GenS: a JSON object of local frame labels and
scores. Faults (429, 500, 413, a hang, an answer that is not GenS JSON, no choices, and the faults on the wire
of :mod:`gens_tools.testing._wire`: a dripped answer, a reset, a body that is not JSON, HTML, a cut body, a
redirect, 429 with an hour's or no Retry-After) are queued with :meth:`FakeGenSServer.inject`. The server stops
itself after ``lifetime`` seconds in any case.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from gens_tools.frames import Frame
from gens_tools.samplers._base import Window
from gens_tools.samplers._parser import format_gens_output
from gens_tools.samplers._prompt import GENS_INSTRUCTION
from gens_tools.synthetic import paint_time_code, read_time_code
from gens_tools.testing._wire import WIRE_FAULTS, write_wire_fault

DATA_URL_PREFIX = "data:image/jpeg;base64,"
TOKENS_PER_IMAGE = 100
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s\b)?\s*(?:-|to|and)\s*(\d+(?:\.\d+)?)")


@dataclass
class Seen:
    """One chat request as the server saw it."""

    n_images: int
    question: str
    times: list[float | None]
    image_sizes: list[tuple[int, int]]
    jpeg_bytes: list[int]
    body_bytes: int
    headers: dict[str, str]
    body: dict[str, Any]
    problems: list[str]
    started: float
    finished: float = 0.0


@dataclass
class Fault:
    """What to do with one request instead of answering it normally.

    ``kind``: ``"status"`` (an error ``status``, with ``retry-after-ms: retry_after_ms`` unless that is
    ``None``), ``"hang"`` (wait ``seconds`` first), ``"text"`` (answer ``text`` instead of the model),
    ``"no-choices"`` (a completion without any choice), or one of the faults on the wire of
    :mod:`gens_tools.testing._wire` (``"drip"``, ``"reset"``, ``"not-json"``, ``"html"``, ``"cut-body"``,
    ``"redirect"``, ``"429-wait"``, ``"429-bare"``).
    """

    kind: str
    status: int = 0
    seconds: float = 0.0
    text: str = ""
    retry_after_ms: int | None = 5


def gens_answer(seen: Seen) -> str:
    """The default fake model: frames whose time code lies in a span named in the question score 5, the
    frames one second either side 2 (as GenS would: local labels, ranges merged)."""
    spans = [(float(a), float(b)) for a, b in _SPAN.findall(seen.question)]
    scores: dict[int, float] = {}
    for i, t in enumerate(seen.times):
        if t is None:
            continue
        for a, b in spans:
            if a <= t <= b:
                scores[i] = 5
            elif a - 1 <= t <= b + 1:
                scores.setdefault(i, 2)
    entries: list[tuple[int, int, float]] = []
    for i in sorted(scores):
        if entries and entries[-1][1] == i - 1 and entries[-1][2] == scores[i]:
            entries[-1] = (entries[-1][0], i, scores[i])
        else:
            entries.append((i, i, scores[i]))
    return format_gens_output(entries)


def check_gens_request(body: Any, *, max_images: int | None) -> tuple[list[str], list[str], str]:
    """Problems with a chat request's shape, its image data URLs and its question (empty list = fine)."""
    problems: list[str] = []
    urls: list[str] = []
    question = ""
    if not isinstance(body, dict):
        return ["body is not a JSON object"], urls, question
    if not isinstance(body.get("model"), str):
        problems.append("no model")
    messages = body.get("messages")
    if not isinstance(messages, list) or len(messages) != 1:
        return [*problems, "expected exactly one message"], urls, question
    message = messages[0]
    if message.get("role") != "user":
        problems.append(f"message role is {message.get('role')!r}, not 'user'")
    content = message.get("content")
    if not isinstance(content, list) or len(content) < 3 or len(content) % 2 == 0:
        return [*problems, "content must be text, image, text, …, image, text"], urls, question
    n = len(content) // 2
    for i in range(n):
        text, image = content[2 * i], content[2 * i + 1]
        want = f"[{i}]" if i == 0 else f"\n[{i}]"
        if text != {"type": "text", "text": want}:
            problems.append(f"part {2 * i} should be the label {want!r}, got {text!r}"[:200])
        if not isinstance(image, dict) or image.get("type") != "image_url":
            problems.append(f"part {2 * i + 1} is not an image_url part")
            continue
        url = (image.get("image_url") or {}).get("url", "")
        if not url.startswith(DATA_URL_PREFIX):
            problems.append(f"image {i} is not a JPEG data URL")
        urls.append(url)
    last = content[-1]
    tail = last.get("text", "") if isinstance(last, dict) and last.get("type") == "text" else ""
    head, end = "\nQuestion: ", "\n" + GENS_INSTRUCTION
    if not tail.startswith(head):
        problems.append("the last part must start with '\\nQuestion: '")
    elif not tail.endswith(end):
        problems.append("the last part must end with GenS's instruction, byte for byte")
    else:
        question = tail[len(head) : len(tail) - len(end)]
    if body.get("temperature", 0) != 0:
        problems.append("decoding is not greedy")
    limit = body.get("max_tokens", body.get("max_completion_tokens"))
    if not isinstance(limit, int) or limit <= 0:
        problems.append("no positive max_tokens / max_completion_tokens")
    if max_images is not None and n > max_images:
        problems.append(f"At most {max_images} image(s) may be provided in one request")
    return problems, urls, question


class FakeGenSServer:
    """A real, bounded, self-stopping OpenAI-compatible HTTP server that plays GenS.

    Args:
        models: served model names (others get HTTP 404 like vLLM).
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get HTTP 401.
        delay: seconds each chat request takes (or a callable of the request giving them).
        answer: the fake model: request → assistant text (default :func:`gens_answer`).
        max_body_bytes: larger request bodies get HTTP 413.
        max_images: requests with more images get HTTP 400 (vLLM's ``--limit-mm-per-prompt``).
        max_threads: connections served at once; more wait to be accepted.
        read_images: decode every JPEG and read its time code (off: only count the images, for benchmarks).
        stop_after: stop for good (like a crashed engine) after answering this many chat requests.
        lifetime: seconds after which the server shuts itself down.
        drip_interval: seconds between the bytes of a ``"drip"`` fault's answer.
    """

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("gens-test",),
        api_key: str | None = None,
        delay: float | Callable[[Seen], float] = 0.0,
        answer: Callable[[Seen], str] = gens_answer,
        max_body_bytes: int | None = None,
        max_images: int | None = 256,
        max_threads: int = 32,
        read_images: bool = True,
        stop_after: int | None = None,
        lifetime: float = 120.0,
        drip_interval: float = 0.5,
    ) -> None:
        self.stop_after = stop_after
        self.drip_interval = drip_interval
        self.answered = 0
        self.read_images = read_images
        self.models = models
        self.api_key = api_key
        self.delay = delay
        self.answer = answer
        self.max_body_bytes = max_body_bytes
        self.max_images = max_images
        self.requests: list[Seen] = []
        self.rejected: list[tuple[int, int]] = []  # (status, body bytes) of requests refused before reading
        self.faults: deque[Fault] = deque()
        self.in_flight = 0
        self.peak_in_flight = 0
        self._prefixes: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(max_threads)
        self._connections: set[socket.socket] = set()
        server_self = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

            def process_request(self, request: Any, client_address: Any) -> None:
                server_self._slots.acquire()
                with server_self._lock:
                    server_self._connections.add(request)
                try:
                    super().process_request(request, client_address)
                except BaseException:
                    server_self._release(request)
                    raise

            def process_request_thread(self, request: Any, client_address: Any) -> None:
                try:
                    super().process_request_thread(request, client_address)
                finally:
                    server_self._release(request)

        class Handler(_Handler):
            fake = server_self

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-gens", daemon=True
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    # -- lifecycle
    @property
    def url(self) -> str:
        """The API root to give the sampler."""
        return f"http://127.0.0.1:{self._httpd.server_port}/v1"

    def start(self) -> FakeGenSServer:
        self._thread.start()
        self._timer.start()
        return self

    def _release(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)
        self._slots.release()

    def stop(self) -> None:
        """Stop accepting, drop open connections (keep-alive ones too) and wake hanging handlers."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._timer.cancel()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeGenSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting
    def inject(self, *faults: Fault) -> None:
        """Apply these faults, in order, to the next chat requests."""
        with self._lock:
            self.faults.extend(faults)

    @property
    def problems(self) -> list[str]:
        """Every request-shape problem seen so far."""
        return [p for r in self.requests for p in r.problems]

    def prefix_tokens_cached(self, content: list[Any]) -> int:
        """Simulate a prefix cache: the image prefix (everything before the question) counts as cached when an
        identical prefix was seen before."""
        prefix = json.dumps(content[:-1]).encode()
        digest = hashlib.sha256(prefix).hexdigest()
        with self._lock:
            hit = digest in self._prefixes
            self._prefixes.add(digest)
        return (len(content) // 2) * TOKENS_PER_IMAGE if hit else 0


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGenSServer
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end after this

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, payload: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client gave up (timeout): nothing to do
            self.close_connection = True

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        body = {"error": {"message": message, "type": "Error", "code": status}}
        self._send(status, json.dumps(body).encode(), headers=headers)

    def _authorized(self) -> bool:
        key = self.fake.api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._error(401, "Unauthorized: invalid API key")
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.fake.models]
            self._send(200, json.dumps({"object": "list", "data": data}).encode())
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        fake = self.fake
        if fake._stop.is_set():  # a stopped server answers nothing
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        if fake.max_body_bytes is not None and length > fake.max_body_bytes:
            self.rfile.read(length)
            with fake._lock:
                fake.rejected.append((413, length))
            self._error(413, f"request body of {length} bytes is over the {fake.max_body_bytes}-byte limit")
            return
        raw = self.rfile.read(length)
        if not self._authorized():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(400, "body is not JSON")
            return
        if body.get("model") not in fake.models:
            self._error(404, f"The model `{body.get('model')}` does not exist.")
            return
        problems, urls, question = check_gens_request(body, max_images=fake.max_images)
        times: list[float | None] = []
        sizes: list[tuple[int, int]] = []
        jpeg_bytes: list[int] = []
        for url in urls:
            if not fake.read_images:
                times.append(None)
                continue
            data = base64.b64decode(url[len(DATA_URL_PREFIX) :])
            jpeg_bytes.append(len(data))
            try:
                with Image.open(io.BytesIO(data)) as im:
                    if im.format != "JPEG":
                        problems.append(f"image is {im.format}, not JPEG")
                    im.load()
                    sizes.append(im.size)
                    try:
                        times.append(read_time_code(im))
                    except ValueError:
                        times.append(None)
            except OSError:
                problems.append("image does not decode")
                times.append(None)
        seen = Seen(
            n_images=len(urls),
            question=question,
            times=times,
            image_sizes=sizes,
            jpeg_bytes=jpeg_bytes,
            body_bytes=length,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            problems=problems,
            started=time.perf_counter(),
        )
        with fake._lock:
            fake.requests.append(seen)
            fake.in_flight += 1
            fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
            fault = fake.faults.popleft() if fake.faults else None
        try:
            self._answer(seen, body, fault)
        finally:
            seen.finished = time.perf_counter()
            with fake._lock:
                fake.in_flight -= 1

    def _answer(self, seen: Seen, body: dict[str, Any], fault: Fault | None) -> None:
        fake = self.fake
        if seen.problems:
            self._error(400, "; ".join(seen.problems)[:500])
            return
        delay = fake.delay(seen) if callable(fake.delay) else fake.delay
        if delay > 0:
            fake._stop.wait(delay)
        text = fake.answer(seen)
        if fault is not None:
            if fault.kind == "status":
                headers = {} if fault.retry_after_ms is None else {"retry-after-ms": str(fault.retry_after_ms)}
                self._error(fault.status, f"injected HTTP {fault.status}", headers=headers)
                return
            if fault.kind == "hang":
                fake._stop.wait(fault.seconds)
            elif fault.kind in WIRE_FAULTS:
                reply = self._reply(seen, body, text)
                write_wire_fault(
                    self,
                    fault.kind,
                    lambda: (200, {}, json.dumps(reply).encode()),
                    stop=fake._stop,
                    drip_interval=fake.drip_interval,
                )
                return
            elif fault.kind == "no-choices":
                self._send(200, json.dumps({**self._reply(seen, body, text), "choices": []}).encode())
                return
            elif fault.kind == "text":
                text = fault.text
        self._send(200, json.dumps(self._reply(seen, body, text)).encode())
        with fake._lock:
            fake.answered += 1
            crash = fake.stop_after is not None and fake.answered >= fake.stop_after
        if crash:
            threading.Thread(target=fake.stop, daemon=True).start()

    def _reply(self, seen: Seen, body: dict[str, Any], text: str) -> dict[str, Any]:
        fake = self.fake
        content = body["messages"][0]["content"]
        prompt_tokens = seen.n_images * TOKENS_PER_IMAGE + 120
        completion_tokens = max(1, len(text) // 3)
        reply = {
            "id": f"chatcmpl-{len(fake.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": fake.prefix_tokens_cached(content)},
            },
        }
        return reply


# ---------------------------------------------------------------------------------------------- helpers


def coded_window(
    index: int, times: list[float], *, size: tuple[int, int] = (96, 54), video_key: str | None = "video-A"
) -> Window:
    """A window of synthetic frames that show their own times (the fake server reads them)."""
    frames = [Frame(timestamp=t, image=paint_time_code(t, size), index=round(t)) for t in times]
    return Window(index=index, frames=frames, video_key=video_key)


def coded_windows(n_windows: int, per_window: int, **kw: Any) -> list[Window]:
    """``n_windows`` consecutive windows of ``per_window`` one-second frames."""
    return [coded_window(w, [float(w * per_window + i) for i in range(per_window)], **kw) for w in range(n_windows)]
