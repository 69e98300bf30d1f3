"""Dependencies that fail: retried with backoff, visible in `/readyz` while they are down, and
logged at most once per interval with a count, so an outage neither stops a consumer nor floods
the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiokafka.errors import (
    CommitFailedError,
    IllegalStateError,
    KafkaError,
    MessageSizeTooLargeError,
)
from sqlalchemy.exc import SQLAlchemyError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from services.store.exceptions import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

Transient = Callable[[BaseException], bool]


def store_transient(error: BaseException) -> bool:
    """Any database error: a restart or a network fault ends; a data error cannot reach the
    store (the input limits keep it out), and if one did, it shows in /readyz."""
    return isinstance(error, OSError | SQLAlchemyError | StoreUnavailable)


def kafka_transient(error: BaseException) -> bool:
    """Broker errors that retrying can cure (not a lost group membership, not a too-large
    record, which fail at once)."""
    permanent = CommitFailedError | IllegalStateError | MessageSizeTooLargeError
    return isinstance(error, KafkaError | OSError) and not isinstance(error, permanent)


@dataclass(slots=True)
class Outage:
    since_s: float
    """Monotonic seconds of the first failure."""
    failures: int
    last_error: str
    logged_s: float
    unlogged: int = 0
    """Failures since the last log line."""


class Outages:
    """What is down now, by dependency name (e.g. `store`, `market.signals`)."""

    def __init__(
        self, *, log_interval_s: float = 10.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._log_interval_s = log_interval_s
        self._monotonic = monotonic
        self._down: dict[str, Outage] = {}

    def current(self) -> dict[str, Outage]:
        return dict(self._down)

    def failed(self, dependency: str, error: BaseException) -> None:
        now = self._monotonic()
        described = _describe(error)
        outage = self._down.get(dependency)
        if outage is None:
            self._down[dependency] = Outage(now, 1, described, logged_s=now)
            log.error("%s unavailable, retrying: %s", dependency, described)
            return
        outage.failures += 1
        outage.unlogged += 1
        outage.last_error = described
        if now - outage.logged_s >= self._log_interval_s:
            log.error(
                "%s still unavailable after %.0f s (%d failures since the last line): %s",
                dependency,
                now - outage.since_s,
                outage.unlogged,
                described,
            )
            outage.logged_s, outage.unlogged = now, 0

    def recovered(self, dependency: str) -> None:
        outage = self._down.pop(dependency, None)
        if outage is not None:
            log.warning(
                "%s available again after %.1f s and %d failures",
                dependency,
                self._monotonic() - outage.since_s,
                outage.failures,
            )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


async def retrying(
    call: Callable[[], Awaitable[T]],
    *,
    dependency: str,
    outages: Outages,
    transient: Transient,
    max_wait_s: float = 5.0,
) -> T:
    """Await `call()` until it succeeds, retrying `transient` errors with exponential backoff
    (forever: cancel to give up). Every failure is reported to `outages`, and so is success.

    The first attempt is a plain await: the retry machinery (a few dozen objects in reference
    cycles per use, left to the garbage collector) is built only once it has failed, since the
    live path awaits several calls per batch and at tens of batches a second that garbage made
    the collector's pauses the tail of its latency."""
    try:
        result = await call()
    except Exception as error:
        if not transient(error):
            raise
        result = await _retried(call, error, dependency, outages, transient, max_wait_s)
    outages.recovered(dependency)
    return result


async def _retried(
    call: Callable[[], Awaitable[T]],
    failure: Exception,
    dependency: str,
    outages: Outages,
    transient: Transient,
    max_wait_s: float,
) -> T:
    """`retrying` once its first attempt failed with `failure`: that failure counts as the
    first of the retry loop (reported, then the first backoff), as if the loop had made it."""
    first: Exception | None = failure

    async def again() -> T:
        nonlocal first
        if first is not None:
            failed, first = first, None
            raise failed
        return await call()

    def before_sleep(state: RetryCallState) -> None:
        if state.outcome is not None and (error := state.outcome.exception()) is not None:
            outages.failed(dependency, error)

    async for attempt in AsyncRetrying(
        retry=retry_if_exception(transient),
        wait=wait_exponential_jitter(multiplier=0.05, max=max_wait_s, jitter=0.05),
        before_sleep=before_sleep,
        reraise=True,
    ):
        with attempt:
            result = await again()
    return result
