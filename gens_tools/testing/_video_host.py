"""A fake video host: files over HTTP on 127.0.0.1, with range requests and scripted redirects, for tests of
what gens-tools opens from URLs (and what it refuses to)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Redirect:
    """``path`` answers ``status`` with ``Location: location`` (after serving the file ``after`` times)."""

    location: str
    status: int = 302
    after: int = 0


class FakeVideoHost:
    """Serves the files of ``root`` (with range requests, like a CDN and object stores, unless ``ranges`` is
    false: then every request gets the whole file, and the stream can only be read from its start) and
    answers the paths given to :meth:`redirect` with redirects. Records every path requested (``requested``)
    and counts the range requests answered (``range_requests``); stops itself after ``lifetime`` seconds in
    any case.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, root: str | Path, *, ranges: bool = True, lifetime: float = 120.0) -> None:
        self.root = Path(root)
        self.ranges = ranges
        self.range_requests = 0
        self.redirects: dict[str, Redirect] = {}
        self.requested: list[str] = []
        self._lock = threading.Lock()
        host = self

        class Handler(_Handler):
            fake = host

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-video-host", daemon=True
        )
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self._stopped = threading.Event()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def url(self, path: str) -> str:
        """The URL of ``path`` (``"videos/a.mp4"``) on this host."""
        return f"{self.origin}/{path.lstrip('/')}"

    def redirect(self, path: str, location: str, status: int = 302, *, after: int = 0) -> str:
        """Make ``path`` redirect to ``location`` (``after``: serve the file that many times first, as a server
        that redirects only later requests); returns the URL of ``path``."""
        self.redirects["/" + path.lstrip("/")] = Redirect(location, status, after)
        return self.url(path)

    def requests_for(self, path: str) -> int:
        """How many requests asked for ``path``."""
        with self._lock:
            return self.requested.count("/" + path.lstrip("/"))

    def start(self) -> FakeVideoHost:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._timer.cancel()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeVideoHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVideoHost
    protocol_version = "HTTP/1.1"
    timeout = 15

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _serve(self, body: bool) -> None:
        fake = self.fake
        path = self.path.split("?")[0]
        with fake._lock:
            fake.requested.append(path)
        moved = fake.redirects.get(path)
        if moved is not None and fake.requests_for(path) > moved.after:
            self._empty(moved.status, {"Location": moved.location})
            return
        file = (fake.root / path.lstrip("/")).resolve()
        if not file.is_file() or not file.is_relative_to(fake.root.resolve()):
            self._empty(404)
            return
        size = file.stat().st_size
        start, end, partial = 0, size - 1, False
        header = self.headers.get("Range")
        if fake.ranges and header and header.startswith("bytes="):
            first, _, last = header[len("bytes=") :].partition("-")
            try:
                start = int(first) if first else 0
                end = min(int(last), size - 1) if last else size - 1
            except ValueError:
                start, end = 0, size - 1
            partial = True
            with fake._lock:
                fake.range_requests += 1
        if start >= size:
            self._empty(416, {"Content-Range": f"bytes */{size}"})
            return
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        if fake.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if not body:
            return
        with file.open("rb") as f:
            f.seek(start)
            remaining = end - start + 1
            try:
                while remaining > 0 and not fake._stopped.is_set():
                    chunk = f.read(min(65536, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except OSError:
                pass  # the client stopped reading (FFmpeg drops connections when it seeks)
