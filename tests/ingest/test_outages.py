"""Outages: retried until the dependency answers, reported while down, logged once per interval."""

from __future__ import annotations

import gc
import logging

import pytest
from aiokafka.errors import CommitFailedError, KafkaConnectionError, MessageSizeTooLargeError
from sqlalchemy.exc import OperationalError

from services.ingest.outages import Outages, kafka_transient, retrying, store_transient


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def test_one_line_per_interval_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    outages = Outages(log_interval_s=10, monotonic=clock)
    for _ in range(1000):  # a tight reconnect loop within one interval
        outages.failed("store", OSError("connection refused"))
    clock.now_s += 10
    outages.failed("store", OSError("connection refused"))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "1000 failures since the last line" in errors[1]
    assert outages.current()["store"].failures == 1001
    outages.recovered("store")
    assert outages.current() == {}
    assert "available again after 10.0 s and 1001 failures" in caplog.records[-1].getMessage()


async def test_retrying_until_success_reports_the_outage_meanwhile() -> None:
    outages = Outages()
    seen_down: list[bool] = []
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        seen_down.append("store" in outages.current())
        if attempts < 4:
            raise OSError("down")
        return "done"

    result = await retrying(
        flaky, dependency="store", outages=outages, transient=store_transient, max_wait_s=0.01
    )
    assert result == "done"
    assert seen_down == [False, True, True, True]
    assert outages.current() == {}


async def test_a_call_that_succeeds_leaves_no_garbage_for_the_collector() -> None:
    """The live path awaits several calls per batch through `retrying`: garbage in reference
    cycles at each (the retry machinery's) made the collector's pauses its latency's tail."""
    outages = Outages()

    async def answer() -> int:
        return 42

    calls = 200
    gc.collect()
    gc.disable()
    try:
        for _ in range(calls):
            assert (
                await retrying(
                    answer, dependency="store", outages=outages, transient=store_transient
                )
                == 42
            )
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable < calls  # fewer than one object per call (the retry loop left dozens)


async def test_a_permanent_error_is_not_retried() -> None:
    outages = Outages()

    async def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await retrying(broken, dependency="store", outages=outages, transient=store_transient)
    assert outages.current() == {}


def test_what_counts_as_transient() -> None:
    assert store_transient(OperationalError("select 1", {}, OSError("gone")))
    assert store_transient(ConnectionRefusedError())
    assert not store_transient(ValueError())
    assert kafka_transient(KafkaConnectionError())
    assert kafka_transient(TimeoutError())
    assert not kafka_transient(CommitFailedError())
    assert not kafka_transient(MessageSizeTooLargeError())
