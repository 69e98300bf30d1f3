"""Reactions as they stood at a past time: per reaction, the latest revision emitted at or before
it, from the revision log (so a backtest sees exactly what a desk saw then)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Select, exists, select, tuple_
from sqlalchemy.sql.visitors import replacement_traverse

from services.store.filters import ReactionFilter, ReactionKey
from services.store.reads import reaction_conditions
from services.store.schema import reaction_revisions, reactions_latest


def reactions_page_as_of(
    f: ReactionFilter, as_of_us: int, after: ReactionKey | None, limit: int
) -> Select[Any]:
    log = reaction_revisions.alias("then")
    later = reaction_revisions.alias("later")
    newer = exists(
        select(later.c.revision).where(
            later.c.announcement_id == log.c.announcement_id,
            later.c.instrument == log.c.instrument,
            later.c.horizon == log.c.horizon,
            later.c.revision > log.c.revision,
            later.c.emitted_at_us <= as_of_us,
        )
    )
    # the same filters as the latest table's, moved onto the log's columns
    conds = [_on(log.c, cond) for cond in reaction_conditions(f)]
    order = (log.c.anchor_at_us, log.c.announcement_id, log.c.instrument, log.c.horizon)
    if after is not None:
        conds.append(tuple_(*order) > tuple_(*after))
    columns = [log.c[c.name] for c in reaction_revisions.c]
    return (
        select(*columns)
        .where(log.c.emitted_at_us <= as_of_us, ~newer, *conds)
        .order_by(*order)
        .limit(limit)
    )


def _on(columns: Any, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """`condition` with each column of the latest table replaced by the same-named one."""

    def swap(element: Any, **_: Any) -> Any:
        if isinstance(element, Column) and element.table is reactions_latest:
            return columns[element.name]
        return None

    out: ColumnElement[bool] = replacement_traverse(condition, {}, swap)
    return out
