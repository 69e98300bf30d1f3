"""Pure parts of the alerts: target checks (with an injected resolver: nothing leaves the
machine), retry decisions, backoff, Retry-After, heads of the queue, filters and formats."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.alerts.delivery import Attempt, DeliveryPolicy, retry_after_s
from services.alerts.exceptions import UnsafeTarget
from services.alerts.filters import AlertFilter, AnnouncementLabels
from services.alerts.formats import delivery_body
from services.alerts.queue import OutboxQueue
from services.alerts.signing import signature
from services.alerts.targets import Resolver, check_target
from services.alerts.types import OutboxItem, Outcome
from services.events import signal_value
from tests.alerts.receiver import verify_signature
from tests.factories import signal

POLICY = DeliveryPolicy(max_attempts=3, backoff_base_s=1.0, backoff_max_s=8.0)


def resolver(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("addresses", "refused"),
    [
        (("93.184.215.14",), None),
        (("93.184.215.14", "10.1.2.3"), "private"),  # every address must be public
        (("127.0.0.1",), "loopback"),
        (("169.254.169.254",), "link-local"),
        (("fd00::1",), "private"),
        (("::1",), "loopback"),
    ],
)
async def test_a_host_name_is_checked_by_every_address_it_resolves_to(
    addresses: tuple[str, ...], refused: str | None
) -> None:
    check = check_target("https://desk.example/hook", frozenset(), resolver(*addresses))
    if refused is None:
        assert (await check).host == "desk.example"
    else:
        with pytest.raises(UnsafeTarget, match=f"desk.example .* is a {refused} address"):
            await check


@pytest.mark.parametrize(
    "url",
    [
        "https://desk.example\\@10.0.0.1/hook",  # httpx reads host 10.0.0.1, yarl refuses
        "http://127.0.0.1\\@desk.example/hook",  # httpx reads host desk.example
        "https://10.0.0.1%2f@desk.example/hook",  # credentials to yarl
    ],
)
async def test_a_url_the_sender_would_read_otherwise_is_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        await check_target(url, frozenset({"127.0.0.1"}), resolver("93.184.215.14"))


async def test_the_sender_reads_the_same_host_and_port() -> None:
    url = await check_target(
        "https://Desk.EXAMPLE:8443/hook?token=x", frozenset(), resolver("93.184.215.14")
    )
    assert (url.host, url.port) == ("desk.example", 8443)


async def test_allowed_hosts_skip_the_checks() -> None:
    url = await check_target("http://127.0.0.1:8080/hook", frozenset({"127.0.0.1"}))
    assert url.port == 8080


@pytest.mark.parametrize(
    ("status", "attempts_done", "verdict"),
    [
        (200, 1, "delivered"),
        (204, 3, "delivered"),
        (500, 1, "retry"),
        (503, 2, "retry"),
        (503, 3, "dead"),  # out of attempts
        (None, 1, "retry"),  # timeout or connection error
        (None, 3, "dead"),
        (408, 1, "retry"),
        (429, 1, "retry"),
        (400, 1, "dead"),  # the receiver refuses it: final
        (404, 1, "dead"),
        (301, 1, "dead"),  # redirects are not followed
    ],
)
def test_what_an_answer_means(status: int | None, attempts_done: int, verdict: str) -> None:
    assert POLICY.verdict(Attempt(status), attempts_done) == verdict


def test_backoff_doubles_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    rng = random.Random(3)
    for attempt, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [POLICY.retry_delay_s(attempt, None, rng) for _ in range(200)]
        assert step / 2 <= min(delays)
        assert max(delays) <= step
        assert max(delays) - min(delays) > step / 4, "no jitter"
    assert POLICY.retry_delay_s(1, 120.0, rng) == 120.0
    assert POLICY.retry_delay_s(1, 10**9, rng) == POLICY.retry_after_max_s


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2025, 7, 8, 0, 0, tzinfo=UTC).timestamp()
    assert retry_after_s("30", now_s=now) == 30.0
    assert retry_after_s("Tue, 08 Jul 2025 00:01:00 GMT", now_s=now) == 60.0
    assert retry_after_s("Mon, 07 Jul 2025 00:00:00 GMT", now_s=now) == 0.0
    assert retry_after_s("soon", now_s=now) is None
    assert retry_after_s(None, now_s=now) is None


def item(iid: int, key: str, next_at: int = 0) -> OutboxItem:
    return OutboxItem(iid, "s", f"sig{iid}", key, b"{}", 0, 0, next_at)


def test_only_the_first_pending_alert_of_each_reaction_is_sent() -> None:
    queue = OutboxQueue()
    queue.add([item(1, "a"), item(2, "a"), item(3, "b", next_at=50), item(4, "b"), item(5, "c")])
    # b's first alert waits for its retry: b's second must wait behind it
    assert [h.id for h in queue.take(now_us=10)] == [1, 5]
    assert queue.next_due_us() == 50
    assert queue.take(now_us=20) == [], "heads in flight are not taken twice"
    assert [h.id for h in queue.take(now_us=50)] == [3]


def test_a_reaction_moves_on_once_its_head_is_delivered_or_dead() -> None:
    queue = OutboxQueue()
    queue.add([item(1, "a"), item(2, "a"), item(3, "a"), item(4, "b")])
    first, b = queue.take(now_us=0, limit=2)
    assert (first.id, b.id) == (1, 4)
    assert queue.take(now_us=0) == []
    queue.settle(Outcome(first, "retry", 0, "HTTP 503", next_attempt_at_us=30))
    assert queue.take(now_us=29) == [], "2 waits behind 1's retry"
    (again,) = queue.take(now_us=30)
    assert (again.id, again.attempts, again.next_attempt_at_us) == (1, 1, 30)
    queue.settle(Outcome(again, "delivered", 31))
    queue.settle(Outcome(b, "dead", 31, "HTTP 400"))
    assert [h.id for h in queue.take(now_us=31)] == [2]
    assert (len(queue), queue.in_flight) == (2, 1)


def test_rows_read_again_are_not_queued_twice_until_written() -> None:
    queue = OutboxQueue()
    assert queue.add([item(1, "a"), item(2, "b")]) == 2
    one, _ = queue.take(now_us=0)
    queue.settle(Outcome(one, "delivered", 1))
    # the outcome is not written yet: a read of the store still finds row 1 pending
    assert queue.add([item(1, "a"), item(2, "b"), item(3, "c")]) == 1
    assert queue.high_water == 3
    queue.forget([1])
    assert queue.add([item(1, "a")]) == 1, "written rows are the store's business again"


def test_filters() -> None:
    labels = AnnouncementLabels(frozenset({"KR"}), frozenset({"autos"}), "impose")
    final = signal("a", "KOSPI", "close", 2, final=True, z_score=2.5, significant=True)
    provisional = signal("a", "KOSPI", "close", 1, z_score=0.5, significant=False)
    corrected = signal("a", "KOSPI", "close", 3, final=True, corrected=True, z_score=2.0)
    wanted = AlertFilter(instrument="KOSPI", horizon="close", final_only=True, min_abs_z=1.5)
    assert wanted.matches(final, None)
    assert not wanted.matches(provisional, None)
    assert not AlertFilter(significant_only=True).matches(provisional, None)
    assert not AlertFilter(corrections=False).matches(corrected, None)
    assert AlertFilter(target="KR", sector="autos", action="impose").matches(final, labels)
    assert not AlertFilter(sector="steel").matches(final, labels)
    assert not AlertFilter(target="KR").matches(final, None)


def test_formats_and_signature() -> None:
    s = signal("us-kr-letter", "KOSPI", "close", 4, final=True, return_pct=1.81, z_score=1.92)
    raw = signal_value(s)
    assert delivery_body("json", raw) == raw
    text = orjson.loads(delivery_body("slack", raw))["text"]
    assert text == "KOSPI close reaction to us-kr-letter is final: +1.81%, z 1.9"
    header = signature("whsec_x", raw, t=1_751_932_800)
    assert header.startswith("t=1751932800,v1=")
    assert verify_signature("whsec_x", header, raw, now_s=1_751_932_810, tolerance_s=300)
    # a stale timestamp or a changed body is rejected
    assert not verify_signature("whsec_x", header, raw, now_s=1_751_933_800, tolerance_s=300)
    assert not verify_signature("whsec_x", header, raw + b" ", now_s=1_751_932_810, tolerance_s=300)


def test_the_readme_snippet_verifies_a_delivery() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Verifying a delivery.**") :]
    snippet = section[section.index("```python\n") + 10 : section.index("```\n", 10)]
    assert len([line for line in snippet.splitlines() if line.strip()]) == 5
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the documented code, run as a receiver would
    raw = signal_value(signal("a1"))
    now = int(time.time())
    assert namespace["verify"]("whsec_x", signature("whsec_x", raw, t=now), raw)
    assert not namespace["verify"]("whsec_y", signature("whsec_x", raw, t=now), raw)
    assert not namespace["verify"]("whsec_x", signature("whsec_x", raw, t=now - 600), raw)


def test_rows_written_during_a_read_stay_known_until_the_read_ends() -> None:
    queue = OutboxQueue()
    queue.add([item(1, "a")])
    (one,) = queue.take(now_us=0)
    queue.settle(Outcome(one, "delivered", 1))
    queue.read_started()
    queue.forget([1])  # committed while the read runs: it may still see row 1 pending
    assert queue.read_ended([item(1, "a")], complete=True) == 0
    assert queue.add([item(1, "a")]) == 1, "a read begun after the write does not see it"


def test_offers_are_taken_only_while_the_queue_has_caught_up_with_the_store() -> None:
    queue = OutboxQueue()
    assert not queue.offer([item(1, "a")], room=10), "a new queue reads the store first"
    queue.read_started()
    queue.read_ended([item(1, "a")], complete=True)
    assert not queue.behind
    assert queue.offer([item(1, "a"), item(2, "a"), item(3, "b")], room=10)
    assert (len(queue), queue.high_water) == (3, 3), "row 1 came with the read"
    assert not queue.offer([item(n, "c") for n in range(4, 12)], room=10), "no room"
    # refused while a read runs: that read may have begun before those rows were committed
    queue.read_started()
    assert not queue.offer([item(12, "d")], room=100), "behind: the rows are read instead"
    queue.read_ended([item(n, "c") for n in range(4, 12)], complete=True)
    assert queue.behind
    queue.read_started()
    queue.read_ended([item(12, "d")], complete=True)
    assert not queue.behind
    assert queue.offer([item(13, "e")], room=100)
    assert [h.id for h in queue.take(now_us=0)] == [1, 3, 4, 12, 13]
