"""Conditional HTTP GETs (ETag / Last-Modified) with a timeout; every failure is `FetchFailed`.
Errors never name the URL (a URL may carry a key)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.sources.exceptions import FetchFailed


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes | None
    """None: 304 Not Modified."""
    etag: str | None
    last_modified: str | None


class Fetcher:
    def __init__(self, client: httpx.AsyncClient, *, max_bytes: int = 20 * 1024 * 1024) -> None:
        self._client = client
        self._max_bytes = max_bytes

    async def get(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        timeout_s: float | None = None,
    ) -> Fetched:
        """`timeout_s`: for each of connect, read and write; None: the client's own."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            timeout = httpx.Timeout(timeout_s) if timeout_s else self._client.timeout
            async with self._client.stream(
                "GET", url, headers=headers, timeout=timeout
            ) as response:
                if response.status_code == 304:
                    return Fetched(None, etag, last_modified)
                if response.status_code != 200:
                    raise FetchFailed(f"HTTP {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise FetchFailed(f"answer over {self._max_bytes:,} bytes")
        except httpx.TimeoutException as exc:
            raise FetchFailed("timed out") from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(type(exc).__name__) from exc
        return Fetched(
            bytes(body), response.headers.get("etag"), response.headers.get("last-modified")
        )
