"""What counts as the same announcement for idempotent writes."""

from __future__ import annotations

from datetime import UTC, datetime

from services.sources.announcer import same_content
from tests.factories import announcement


def test_fields_the_service_sets_are_not_content() -> None:
    sent = announcement("a1")
    stored = sent.model_copy(
        update={"story_id": "a0", "first_seen_at": datetime(2025, 7, 6, tzinfo=UTC)}
    )
    assert same_content(sent, stored)
    assert not same_content(sent, sent.model_copy(update={"tariff_rate_pct": 30.0}))
    assert not same_content(sent, sent.model_copy(update={"supersedes": "a0"}))
