import pytest

from services.api.hub import SLOW_CONSUMER, AnnouncementTags, Dropped, SignalHub, matches
from services.events import Signal
from services.store.filters import ReactionFilter
from tests.factories import anchor, signal

ANCHOR = anchor()
TAGS = {"a1": AnnouncementTags(frozenset({"KR"}), frozenset({"all"}), "impose")}


@pytest.mark.parametrize(
    ("where", "sent", "expected"),
    [
        (ReactionFilter(), signal(), True),
        (ReactionFilter(instrument="KOSDAQ"), signal(), False),
        (ReactionFilter(horizon="5m"), signal(horizon="5m"), True),
        (ReactionFilter(horizon="5m"), signal(horizon="close"), False),
        (ReactionFilter(final=True), signal(final=False), False),
        (ReactionFilter(final=True), signal(final=True), True),
        (ReactionFilter(final=False), signal(final=True), False),  # open reactions only
        (ReactionFilter(min_abs_z=2.0), signal(z_score=-2.5), True),  # |z| counts
        (ReactionFilter(min_abs_z=2.0), signal(z_score=1.99), False),
        (ReactionFilter(min_abs_z=2.0), signal(z_score=None), False),  # unknown z: not significant
        (ReactionFilter(start=ANCHOR), signal(), True),  # the anchor is inside [start, end)
        (ReactionFilter(end=ANCHOR), signal(), False),
        (ReactionFilter(target="KR"), signal(), True),
        (ReactionFilter(target="JP"), signal(), False),
        (ReactionFilter(sector="autos"), signal(), False),
        (ReactionFilter(action="impose"), signal(), True),
        (ReactionFilter(action="deal"), signal(), False),
        (ReactionFilter(target="KR"), signal(announcement_id="unknown"), False),
    ],
)
def test_filters(where: ReactionFilter, sent: Signal, expected: bool) -> None:
    assert matches(where, sent, TAGS.get(sent.announcement_id)) is expected


async def test_each_subscriber_gets_what_matches_serialised_once() -> None:
    hub = SignalHub(TAGS.get)
    everything = hub.subscribe(ReactionFilter(), queue_size=10)
    finals = hub.subscribe(ReactionFilter(final=True), queue_size=10)
    hub.publish([signal(revision=1), signal(revision=2, final=True)])

    first, second = await everything.next(), await everything.next()
    only = await finals.next()
    assert [first.signal.revision, second.signal.revision] == [1, 2]
    assert only.signal.revision == 2
    assert only.data is second.data  # one serialisation shared by every client
    assert b'"revision":2' in only.data
    assert finals.next_nowait() is None


async def test_a_slow_subscriber_is_dropped_and_the_others_keep_receiving() -> None:
    drops: list[str] = []
    hub = SignalHub(TAGS.get, on_drop=drops.append)
    slow = hub.subscribe(ReactionFilter(), queue_size=2)
    fast = hub.subscribe(ReactionFilter(), queue_size=100)
    for revision in range(1, 6):
        hub.publish([signal(revision=revision)])
        assert (await fast.next()).signal.revision == revision

    with pytest.raises(Dropped) as dropped:
        await slow.next()
    assert dropped.value.reason == SLOW_CONSUMER
    assert drops == [SLOW_CONSUMER]
    assert len(hub) == 1
    hub.publish([signal(revision=6)])
    assert (await fast.next()).signal.revision == 6


async def test_closing_a_subscription_is_not_a_drop() -> None:
    drops: list[str] = []
    hub = SignalHub(TAGS.get, on_drop=drops.append)
    subscription = hub.subscribe(ReactionFilter(), queue_size=1)
    subscription.close()
    hub.publish([signal()])
    assert len(hub) == 0
    assert drops == []
    assert subscription.next_nowait() is None
