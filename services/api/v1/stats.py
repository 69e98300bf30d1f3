"""GET /v1/stats/reactions: cross-event statistics computed with polars."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.api.problems import PROBLEM_RESPONSES
from services.api.v1.deps import StoreDep
from services.api.v1.params import StatsFilterDep
from services.api.v1.schemas import ReactionStats, StatsGroup
from services.store.analytics import reaction_stats
from services.store.filters import GroupBy, Metric

router = APIRouter(prefix="/stats", tags=["statistics"], responses=PROBLEM_RESPONSES)


@router.get(
    "/reactions",
    summary="n, mean, median, std, t-stat, hit rate, min and max of reactions, by group",
)
async def reaction_statistics(
    store: StoreDep,
    where: StatsFilterDep,
    group_by: Annotated[GroupBy, Query(description="What to group the reactions by")],
    metric: Annotated[Metric, Query(description="The reaction field to summarise")] = "return_pct",
) -> ReactionStats:
    values = await store.reaction_values(where, group_by=group_by, metric=metric)
    stats = reaction_stats(values)
    return ReactionStats(
        group_by=group_by,
        metric=metric,
        horizon=where.horizon or "",
        groups=[StatsGroup.model_validate(row) for row in stats.to_dicts()],
    )
