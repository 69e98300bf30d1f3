"""A real HTTP server on 127.0.0.1 that plays recorded answers: each path has a script of
responses, served in order (the last one repeats), and every request is recorded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).with_name("fixtures")


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    """Wait before answering (a timeout, for a client with a shorter one)."""
    declared_length: int | None = None
    """A Content-Length larger than the body: the connection closes mid-body."""


def fixture(name: str, **headers: str) -> Answer:
    return Answer(body=(FIXTURES / name).read_bytes(), headers=headers)


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self.scripts[path] = list(answers)

    def next_answer(self, path: str) -> Answer:
        with self._lock:
            script = self.scripts.get(path)
            if not script:
                return Answer(404, b"not found")
            return script.pop(0) if len(script) > 1 else script[0]

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def feed_server() -> Iterator[tuple[FeedServer, str]]:
    """Yields the server's script and its base URL; stops it at the end."""
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(Recorded(self.path, dict(self.headers.items())))
            answer = state.next_answer(self.path)
            if answer.delay_s:
                time.sleep(answer.delay_s)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            length = answer.declared_length or len(answer.body)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if answer.status != 304:
                self.wfile.write(answer.body)
            if answer.declared_length:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="feed-server", daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def rss(count: int, *, start_day: int = 1) -> bytes:
    """An RSS 2.0 feed of `count` tariff items on `count` different countries' goods."""
    codes = ["Korea", "Japan", "Vietnam", "India", "Brazil", "Canada", "Mexico", "Thailand"]
    items = "".join(
        f"<item><title>Notice {i}: 25% tariff on goods of {codes[i % len(codes)]}</title>"
        f"<link>https://feeds.example/notice/{i}</link><guid>notice-{i}</guid>"
        f"<pubDate>{_rfc822(start_day + i // 1440, i % 1440)}</pubDate>"
        "<description>A tariff notice.</description></item>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Notices</title>'
        f"<link>https://feeds.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def _rfc822(day: int, minute: int) -> str:
    return f"{day:02d} Jul 2025 {minute // 60:02d}:{minute % 60:02d}:00 +0000"
