"""A webhook receiver for the tests: a real HTTP server (uvicorn on 127.0.0.1) that records
every request and answers as the test scripts it; and an independent signature check."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

Script = Callable[[str, int], tuple[int, dict[str, str]]]
"""(idempotency key, attempt number from 1) -> (status, headers) to answer."""


def verify_signature(
    secret: str, header: str, body: bytes, *, now_s: int, tolerance_s: int
) -> bool:
    """What a receiver does, written apart from the service's code: parse `t=..,v1=..`,
    reject a stale `t`, compare the HMAC-SHA256 of `<t>.<body>` in constant time."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    t = int(fields["t"])
    if abs(now_s - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), fields["v1"])


@dataclass
class Received:
    key: str
    attempt: int
    status: int
    signature: str
    body: bytes
    at_s: float


@dataclass
class Receiver:
    script: Script = lambda key, attempt: (200, {})
    clock: Callable[[], float] = lambda: 0.0
    requests: list[Received] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            key = request.headers["idempotency-key"]
            attempt = 1 + sum(1 for r in self.requests if r.key == key)
            status, headers = self.script(key, attempt)
            body = await request.body()
            signature = request.headers.get("x-mr-signature", "")
            self.requests.append(Received(key, attempt, status, signature, body, self.clock()))
            return Response(status_code=status, headers=headers, content=b"scripted")

        return app

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]
