"""What the delivery benchmarks (webhook alerts, live fan-out) share: a sample signal, a server
in its own process that says which port it listens on, and latency quantiles."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from services.alerts.sample import sample_signal

SAMPLE = sample_signal()
"""The KOSPI close reaction to the July 2025 letter, as `alerts test` sends it."""


def quantile(ordered: Sequence[float], q: float) -> float:
    """The `q` quantile of values sorted in ascending order."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def listen_and_tell() -> socket.socket:
    """A socket listening on a free port of 127.0.0.1 (early connections wait in its backlog);
    the port is printed for the parent process (`server_process`)."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=1024)
    print(sock.getsockname()[1], flush=True)
    return sock


@contextmanager
def server_process(script: str, *flags: str) -> Iterator[int]:
    """Run `script --serve *flags` (which calls `listen_and_tell`); yields its port and stops
    it at the end."""
    server = subprocess.Popen(
        [sys.executable, script, "--serve", *flags], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.terminate()
        server.wait(timeout=30)
