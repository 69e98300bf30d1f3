"""Session closes in the store: written with every price batch, read by event studies."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any, Protocol

import polars as pl
from sqlalchemy import Connection, Select, and_, case, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from services.store.schema import session_closes


class CloseFinder(Protocol):
    """Finds the session closes in a `PRICE_SCHEMA` batch (it knows the calendars)."""

    def of_prices(self, prices: pl.DataFrame) -> pl.DataFrame:
        """Columns instrument, session_close_us, close, observed_at_us; one row per session."""
        ...


def write_session_closes(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Merge rows of `CLOSE_COLUMNS`: a later observation replaces the close; at the same time
    the higher close wins, so any arrival order ends with the same row."""
    if not rows:
        return 0
    conn.execute(_closes_merge(conn.dialect.name), list(rows))
    return len(rows)


@cache
def _closes_merge(dialect: str) -> Any:
    """Built once per dialect (its construction and cache key would be paid per batch)."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(session_closes)
    new, old = stmt.excluded, session_closes.c
    newer = or_(
        new.observed_at_us > old.observed_at_us,
        and_(new.observed_at_us == old.observed_at_us, new.close > old.close),
    )
    return stmt.on_conflict_do_update(
        index_elements=["instrument", "session_close_us"],
        set_={
            "close": case((newer, new.close), else_=old.close),
            "observed_at_us": case((newer, new.observed_at_us), else_=old.observed_at_us),
        },
    )


CLOSE_COLUMNS = ("instrument", "session_close_us", "close", "observed_at_us")


def closes_query(instruments: Collection[str], as_of_us: int | None) -> Select[Any]:
    """The closes of `instruments`; with `as_of_us`, only sessions over and closes seen by then."""
    c = session_closes.c
    stmt = select(c.instrument, c.session_close_us, c.close, c.observed_at_us).where(
        c.instrument.in_(list(instruments))
    )
    if as_of_us is not None:
        stmt = stmt.where(c.session_close_us <= as_of_us, c.observed_at_us <= as_of_us)
    return stmt.order_by(c.instrument, c.session_close_us)
