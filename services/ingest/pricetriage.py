"""One poll's price records sorted into a frame of valid new ticks, duplicates and dead letters,
as columns: the hot path of `market.prices` (no I/O).

The records in the common tick form are read by polars (`tickcolumns`); the others go through
`fastprice` (orjson, then the model for anything unusual), so every verdict and reason is the
model's. Plausibility (`EventTimeBounds.check_columns`) and deduplication then judge the valid
ones in record order, exactly as `triage.triage` judges events one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

import polars as pl

from services.frames import PRICE_SCHEMA
from services.ingest.decode import Rejection
from services.ingest.dlq import DeadLetter
from services.ingest.fastprice import PriceRow, decode_price_rows, rows_frame
from services.ingest.plausibility import EventTimeBounds
from services.ingest.recentrows import IDENTITY_SCHEMA, RecentRows
from services.ingest.tickcolumns import common_ticks
from services.ingest.triage import BatchTriage, RawRecord
from services.ingest.types import IngestBatch

_ROW_COLUMNS = ["at", *PRICE_SCHEMA]
"""A decoded price: its record's index, then its values (`ts` in µs since the epoch)."""
_VALUE, _PARTITION, _TIMESTAMP = (attrgetter(n) for n in ("value", "partition", "timestamp"))


def triage_prices(
    records: Sequence[RawRecord], seen: RecentRows, bounds: EventTimeBounds
) -> BatchTriage:
    """`triage.triage` of price records, their valid new events as one batch."""
    decoded, rejected = decode_price_frame(list(map(_VALUE, records)))
    rejected.update(bounds.check_columns(decoded["instrument"], decoded["ts"], decoded["at"]))
    plausible = decoded.filter(~pl.col("at").is_in(list(rejected))) if rejected else decoded
    about = pl.DataFrame(
        {
            "partition": list(map(_PARTITION, records)),
            "arrived": list(map(_TIMESTAMP, records)),
        },
        schema={"partition": pl.Int64, "arrived": pl.Int64},
    )[plausible["at"]]
    new = seen.add_frame(plausible.select(list(IDENTITY_SCHEMA)), about["partition"])
    accepted = plausible.filter(new)
    newest = (
        accepted.select("instrument", about["arrived"].filter(new))
        .group_by("instrument")
        .agg(pl.max("arrived"))
    )
    return BatchTriage(
        IngestBatch(
            prices=pl.DataFrame([accepted[n].cast(dtype) for n, dtype in PRICE_SCHEMA.items()]),
            arrived_ms=dict(newest.iter_rows()),
        ),
        dead=[_dead_letter(records[i], rejected[i]) for i in sorted(rejected)],
        duplicates=plausible.height - accepted.height,
        consumed=len(records),
    )


def decode_price_frame(
    values: Sequence[bytes | None],
) -> tuple[pl.DataFrame, dict[int, Rejection]]:
    """The model's verdict on each value: the valid ones as rows of a frame (`at`, the value's
    index, then `PRICE_SCHEMA` with `ts` in µs) in order, the others' rejections by index."""
    common = common_ticks(values)
    # the bar fields of ticks: columns of nulls, made whole (a `select` of literals costs
    # several times as much as the poll's columns themselves)
    ticks = pl.DataFrame(
        [
            common[n] if n in common.columns else _nulls(n, dtype, common.height)
            for n, dtype in (("at", pl.UInt32()), *PRICE_SCHEMA.items())
        ]
    )  # `ts` is the common ticks' µs
    if common.height == len(values):
        return ticks, {}
    others = sorted(set(range(len(values))).difference(common["at"]))
    rows: list[tuple[int, PriceRow]] = []
    rejected: dict[int, Rejection] = {}
    for i, verdict in zip(others, decode_price_rows([values[i] for i in others]), strict=True):
        if isinstance(verdict, Rejection):
            rejected[i] = verdict
        else:
            rows.append((i, verdict))
    if not rows:
        return ticks, rejected
    unusual = rows_frame([row for _, row in rows]).select(
        pl.Series("at", [i for i, _ in rows], pl.UInt32),
        pl.all().exclude("ts"),
        pl.col("ts").dt.epoch("us"),
    )
    return pl.concat([ticks, unusual.select(_ROW_COLUMNS)]).sort("at"), rejected


def _nulls(name: str, dtype: pl.DataType, n: int) -> pl.Series:
    return pl.Series(name, [None], dtype).new_from_index(0, n)


def _dead_letter(record: RawRecord, rejection: Rejection) -> DeadLetter:
    return DeadLetter(
        record.topic, record.partition, record.offset, record.key, record.value, rejection
    )
