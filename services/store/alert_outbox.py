"""The alert tables, and the outbox rows a write transaction adds for its new revisions: an alert
is queued in the same transaction as the revision it announces, so neither exists without the
other."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Delete,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    literal_column,
    select,
    text,
)

from services.alerts.filters import AlertFilter, AnnouncementLabels
from services.alerts.types import OutboxItem
from services.events import Signal, signal_value
from services.frames import to_us
from services.store.schema import (
    CursorType,
    announcement_sectors,
    announcement_targets,
    announcements,
    metadata,
)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("filter", Text, nullable=False),
    Column("format", String(8), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("created_at_us", BigInteger, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text),
    Column("consecutive_dead", Integer, nullable=False),
    Column("last_errors", Text, nullable=False),  # JSON list, newest last
)

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", CursorType, primary_key=True, autoincrement=True),
    Column("subscription_id", String(40), nullable=False),
    Column("signal_id", String(400), nullable=False),
    Column("reaction_key", String(400), nullable=False),
    Column("signal_cursor", BigInteger, nullable=False),
    Column("body", Text, nullable=False),  # the signal as the live stream encodes it
    Column("emitted_at_us", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at_us", BigInteger, nullable=False),
    Column("last_error", Text),
    Column("delivered_at_us", BigInteger),
    sqlite_autoincrement=True,
)
IS_PENDING = alert_outbox.c.state == literal_column(f"'{PENDING}'")
"""A literal, not a parameter: SQLite uses a partial index only when the query's WHERE
visibly implies the index's."""
# the queue: only the pending rows, so it stays small however many were delivered
Index(
    "ix_alert_outbox_pending",
    alert_outbox.c.subscription_id,
    alert_outbox.c.id,
    sqlite_where=IS_PENDING,
    postgresql_where=IS_PENDING,
)
IS_DELIVERED = alert_outbox.c.state == literal_column(f"'{DELIVERED}'")
# pruning: only the delivered rows, by age, so it never scans the queue or the whole outbox
Index(
    "ix_alert_outbox_delivered",
    alert_outbox.c.delivered_at_us,
    sqlite_where=IS_DELIVERED,
    postgresql_where=IS_DELIVERED,
)


def delivered_before(before_us: int) -> Delete:
    """Delete the rows delivered before `before_us`."""
    return delete(alert_outbox).where(IS_DELIVERED, alert_outbox.c.delivered_at_us < before_us)


def outbox_rows(
    subscriptions: Iterable[tuple[str, AlertFilter]],
    signals: Sequence[Signal],
    labels: dict[str, AnnouncementLabels],
) -> list[dict[str, Any]]:
    """One pending row per (subscription, matching signal), in the signals' cursor order."""
    rows: list[dict[str, Any]] = []
    bodies: dict[str, str] = {}
    for subscription_id, where in subscriptions:
        for signal in signals:
            if not where.matches(signal, labels.get(signal.announcement_id)):
                continue
            body = bodies.get(signal.signal_id)
            if body is None:
                body = bodies[signal.signal_id] = signal_value(signal).decode()
            rows.append(
                {
                    "subscription_id": subscription_id,
                    "signal_id": signal.signal_id,
                    "reaction_key": signal.reaction_id.text(),
                    "signal_cursor": signal.cursor or 0,
                    "body": body,
                    "emitted_at_us": to_us(signal.emitted_at),
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at_us": 0,
                }
            )
    return rows


def announcement_labels(
    conn: Connection, announcement_ids: set[str]
) -> dict[str, AnnouncementLabels]:
    ids = list(announcement_ids)
    actions = conn.execute(
        select(announcements.c.id, announcements.c.action).where(announcements.c.id.in_(ids))
    )
    targets: dict[str, set[str]] = {i: set() for i in ids}
    sectors: dict[str, set[str]] = {i: set() for i in ids}
    t, s = announcement_targets.c, announcement_sectors.c
    for aid, target in conn.execute(
        select(t.announcement_id, t.target).where(t.announcement_id.in_(ids))
    ):
        targets[aid].add(target)
    for aid, sector in conn.execute(
        select(s.announcement_id, s.sector).where(s.announcement_id.in_(ids))
    ):
        sectors[aid].add(sector)
    return {
        aid: AnnouncementLabels(frozenset(targets[aid]), frozenset(sectors[aid]), action)
        for aid, action in actions
    }


def enabled_filters(conn: Connection) -> list[tuple[str, AlertFilter]]:
    c = alert_subscriptions.c
    rows = conn.execute(select(c.id, c.filter).where(c.enabled == True))  # noqa: E712
    return [(sid, AlertFilter.model_validate_json(where)) for sid, where in rows]


def enqueue(conn: Connection, signals: Sequence[Signal]) -> list[OutboxItem]:
    """Queue the alerts of `signals` (new revisions with cursors) in `conn`'s transaction;
    returns them as queued, in id order."""
    if not signals:
        return []
    subscriptions = enabled_filters(conn)
    return enqueue_for(conn, subscriptions, signals)


def enqueue_for(
    conn: Connection,
    subscriptions: Sequence[tuple[str, AlertFilter]],
    signals: Sequence[Signal],
) -> list[OutboxItem]:
    if not subscriptions or not signals:
        return []
    labels: dict[str, AnnouncementLabels] = {}
    if any(where.needs_labels for _, where in subscriptions):
        labels = announcement_labels(conn, {s.announcement_id for s in signals})
    rows = outbox_rows(subscriptions, signals, labels)
    if not rows:
        return []
    # in any order (ordered RETURNING would insert row by row on SQLite): matched by key
    ids = {(sid, signal_id): i for i, sid, signal_id in _insert(conn, rows)}
    bodies: dict[str, bytes] = {}
    items = [
        OutboxItem(
            ids[(row["subscription_id"], row["signal_id"])],
            row["subscription_id"],
            row["signal_id"],
            row["reaction_key"],
            bodies.setdefault(row["signal_id"], row["body"].encode()),
            row["emitted_at_us"],
            0,
            0,
        )
        for row in rows
    ]
    return sorted(items, key=lambda item: item.id)


_COLUMNS = {
    "subscription_id": "text",
    "signal_id": "text",
    "reaction_key": "text",
    "signal_cursor": "bigint",
    "body": "text",
    "emitted_at_us": "bigint",
}
_UNNEST_INSERT = text(
    f"INSERT INTO alert_outbox ({', '.join(_COLUMNS)}, state, attempts, next_attempt_at_us)"
    f" SELECT *, '{PENDING}', 0, 0 FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS.items())
    + ") RETURNING id, subscription_id, signal_id"
)
"""PostgreSQL: the rows as one array per column, one statement whatever their number (a
VALUES list per batch size would be a new statement to parse and plan for each batch)."""


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> Sequence[Any]:
    """Insert pending rows; returns (id, subscription_id, signal_id) of each, in any order."""
    if conn.dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in _COLUMNS}
        return conn.execute(_UNNEST_INSERT, columns).all()
    o = alert_outbox.c
    stmt = insert(alert_outbox).returning(o.id, o.subscription_id, o.signal_id)
    return conn.execute(stmt, rows).all()
