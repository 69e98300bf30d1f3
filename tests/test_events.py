"""The signal contract's bytes: the fast encoder says exactly what the model's JSON dump says."""

from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.events import Signal, signal_value
from tests.factories import signal

finite = st.floats(allow_nan=False, allow_infinity=False)
times = st.datetimes(
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001 (naive bounds; the zone comes from timezones)
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(
    return_pct=st.floats(min_value=-99.0, max_value=1e6),
    z_score=st.none() | finite,
    last_at=times,
    revision=st.integers(1, 10**6),
    final=st.booleans(),
    confounders=st.lists(st.text(min_size=1, max_size=8), max_size=3),
    gap_pct=st.none() | finite,
)
def test_signal_value_is_the_model_json_dump(
    return_pct: float,
    z_score: float | None,
    last_at: datetime,
    revision: int,
    final: bool,
    confounders: list[str],
    gap_pct: float | None,
) -> None:
    s = signal(
        "ann-1",
        revision=revision,
        final=final,
        return_pct=return_pct,
        z_score=z_score,
        last_at=last_at,
        confounders=confounders,
        gap_pct=gap_pct,
    )
    assert signal_value(s) == orjson.dumps(s.model_dump(mode="json"))


def test_times_given_in_another_zone_are_sent_as_utc() -> None:
    s = signal("ann-1", base_at="2025-07-07T09:00:00.25+09:00")
    value = orjson.loads(signal_value(s))
    assert value["base_at"] == "2025-07-07T00:00:00.250000Z"
    assert Signal.model_validate(value) == s
    assert signal_value(s) == orjson.dumps(s.model_dump(mode="json"))
