"""SELECT statements behind the read methods."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, Table, exists, func, literal, or_, select, tuple_

from services.frames import to_us
from services.store.filters import (
    AnnouncementFilter,
    AnnouncementKey,
    GroupBy,
    Metric,
    ReactionFilter,
    ReactionKey,
)
from services.store.schema import (
    announcement_sectors,
    announcement_targets,
    announcements,
    reactions_latest,
)

_LATEST = reactions_latest.c
_REACTION_COLUMNS = list(reactions_latest.c)


def _exists(table: Table, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS over `table` alone, even when the outer query joins it too (group by action)."""
    return exists(select(literal(1)).select_from(table).where(*where).correlate_except(table))


def _tagged(
    announcement_id: Any, f: AnnouncementFilter | ReactionFilter
) -> list[ColumnElement[bool]]:
    """Conditions on the announcement (`announcement_id` is its id column or a reference to it)."""
    conds: list[ColumnElement[bool]] = []
    if f.target is not None:
        t = announcement_targets.c
        conds.append(
            _exists(
                announcement_targets, t.announcement_id == announcement_id, t.target == f.target
            )
        )
    if f.sector is not None:
        s = announcement_sectors.c
        conds.append(
            _exists(
                announcement_sectors, s.announcement_id == announcement_id, s.sector == f.sector
            )
        )
    return conds


def reaction_conditions(f: ReactionFilter) -> list[ColumnElement[bool]]:
    conds = _tagged(_LATEST.announcement_id, f)
    if f.action is not None:
        a = announcements.c
        conds.append(_exists(announcements, a.id == _LATEST.announcement_id, a.action == f.action))
    if f.instrument is not None:
        conds.append(_LATEST.instrument == f.instrument)
    if f.horizon is not None:
        conds.append(_LATEST.horizon == f.horizon)
    if f.final is not None:
        conds.append(_LATEST.final == f.final)
    if f.min_abs_z is not None:
        conds.append(or_(_LATEST.z_score >= f.min_abs_z, _LATEST.z_score <= -f.min_abs_z))
    if f.start is not None:
        conds.append(_LATEST.anchor_at_us >= to_us(f.start))
    if f.end is not None:
        conds.append(_LATEST.anchor_at_us < to_us(f.end))
    return conds


def reactions_page(f: ReactionFilter, after: ReactionKey | None, limit: int) -> Select[Any]:
    order = (_LATEST.anchor_at_us, _LATEST.announcement_id, _LATEST.instrument, _LATEST.horizon)
    conds = reaction_conditions(f)
    if after is not None:
        # the bound on the first column is implied, but with it every `by_*` index can seek to
        # the cursor (a row value only helps an index whose columns come in its order)
        conds += [_LATEST.anchor_at_us >= after.anchor_at_us, tuple_(*order) > tuple_(*after)]
    return select(*_REACTION_COLUMNS).where(*conds).order_by(*order).limit(limit)


def reaction_values(f: ReactionFilter, group_by: GroupBy, metric: Metric) -> Select[Any]:
    value = _LATEST[metric]
    conds = [*reaction_conditions(f), value.is_not(None)]
    if group_by == "instrument":
        return select(_LATEST.instrument.label("group"), value.label("value")).where(*conds)
    if group_by == "action":
        a = announcements.c
        return (
            select(a.action.label("group"), value.label("value"))
            .join_from(reactions_latest, announcements, a.id == _LATEST.announcement_id)
            .where(*conds)
        )
    link = announcement_targets if group_by == "target" else announcement_sectors
    return (
        select(link.c[group_by].label("group"), value.label("value"))
        .join_from(reactions_latest, link, link.c.announcement_id == _LATEST.announcement_id)
        .where(*conds)
    )


def value_arrays(values: Select[Any]) -> Select[Any]:
    """`reaction_values` as one row per group holding all its values in an array (PostgreSQL):
    the driver decodes each array in one go instead of making a row object per value."""
    rows = values.subquery()
    return select(rows.c.group, func.array_agg(rows.c.value).label("values")).group_by(rows.c.group)


def announcements_page(
    f: AnnouncementFilter, after: AnnouncementKey | None, limit: int
) -> Select[Any]:
    a = announcements.c
    conds = _tagged(a.id, f)
    if f.action is not None:
        conds.append(a.action == f.action)
    if f.start is not None:
        conds.append(a.published_at_us >= to_us(f.start))
    if f.end is not None:
        conds.append(a.published_at_us < to_us(f.end))
    if after is not None:
        conds.append(tuple_(a.published_at_us, a.id) > tuple_(*after))
    return select(announcements).where(*conds).order_by(a.published_at_us, a.id).limit(limit)
