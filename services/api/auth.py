"""Optional API keys. When keys are configured (as SHA-256 digests, never in clear), the /v1
routes and the live streams need one: `Authorization: Bearer <key>`, or `?token=<key>` for
browsers' WebSocket and EventSource, which cannot set headers. Health and metrics stay open."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import HTTPException, WebSocketException, status
from prometheus_client import CollectorRegistry, Counter
from starlette.requests import HTTPConnection

WS_POLICY_VIOLATION = 1008


def key_digest(key: str) -> str:
    """What the settings hold for a key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKeys:
    digests: frozenset[str]
    failures: Counter
    write_digests: frozenset[str] = frozenset()
    """Keys that may also write; a write key reads too."""

    @classmethod
    def create(
        cls, digests: list[str], registry: CollectorRegistry, write_digests: Sequence[str] = ()
    ) -> ApiKeys:
        failures = Counter(
            "mr_auth_failures",
            "Requests refused for a missing or wrong API key.",
            ["reason"],
            registry=registry,
        )
        for reason in ("missing", "invalid"):
            failures.labels(reason)
        writers = frozenset(d.lower() for d in write_digests)
        return cls(frozenset(d.lower() for d in digests), failures, writers)

    def accepts(self, key: str) -> bool:
        # a lookup by digest: its timing tells nothing useful about the keys themselves
        digest = key_digest(key)
        return digest in self.digests or digest in self.write_digests

    def may_write(self, key: str) -> bool:
        return key_digest(key) in self.write_digests


def _presented_key(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return connection.query_params.get("token") or None


def require_api_key(connection: HTTPConnection) -> None:
    """A route dependency (HTTP and WebSocket alike)."""
    keys: ApiKeys | None = getattr(connection.app.state, "api_keys", None)
    if keys is None or not keys.digests:
        return
    key = _presented_key(connection)
    if key is not None and keys.accepts(key):
        return
    reason = "missing" if key is None else "invalid"
    keys.failures.labels(reason).inc()
    detail = "an API key is required" if key is None else "the API key is not valid"
    if connection.scope["type"] == "websocket":
        raise WebSocketException(WS_POLICY_VIOLATION, detail)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


def require_write_key(connection: HTTPConnection) -> None:
    """A route dependency for writes: a write key is needed even when reads are open."""
    keys: ApiKeys | None = getattr(connection.app.state, "api_keys", None)
    if keys is None or not keys.write_digests:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "writes are disabled: no write key is configured"
        )
    key = _presented_key(connection)
    if key is not None and keys.may_write(key):
        return
    reason = "missing" if key is None else "invalid"
    keys.failures.labels(reason).inc()
    detail = "a write key is required" if key is None else "the key may not write"
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )
