"""One poll's price records sorted into a frame of valid new ticks, duplicates and dead letters,
as columns: the hot path of `market.prices` (no I/O).

The records in the common tick form are read by polars (`tickcolumns`); the others go through
`fastprice` (orjson, then the model for anything unusual), so every verdict and reason is the
model's. Plausibility (`EventTimeBounds.check_columns`) and deduplication then judge the valid
ones in record order, exactly as `triage.triage` judges events one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import polars as pl

from services.frames import PRICE_SCHEMA
from services.ingest.decode import Rejection
from services.ingest.dedupe import RecentSet
from services.ingest.dlq import DeadLetter
from services.ingest.fastprice import PriceRow, decode_price_rows, rows_frame
from services.ingest.plausibility import EventTimeBounds
from services.ingest.tickcolumns import common_ticks
from services.ingest.triage import BatchTriage, RawRecord
from services.ingest.types import IngestBatch

_ROW_COLUMNS = ["at", *PRICE_SCHEMA]
"""A decoded price: its record's index, then its values (`ts` in µs since the epoch)."""


def triage_prices(
    records: Sequence[RawRecord], seen: RecentSet, bounds: EventTimeBounds
) -> BatchTriage:
    """`triage.triage` of price records, their valid new events as one batch."""
    values = [record.value for record in records]
    decoded, rejected = decode_price_frame(values)
    rejected.update(bounds.check_columns(decoded["instrument"], decoded["ts"], decoded["at"]))
    plausible = decoded.filter(~pl.col("at").is_in(list(rejected))) if rejected else decoded
    at = plausible["at"].to_list()
    new = seen.add_all(identities(plausible), [records[i].partition for i in at])
    accepted = plausible.filter(pl.Series(new, dtype=pl.Boolean))
    arrived = pl.Series("arrived", [records[i].timestamp for i in accepted["at"].to_list()])
    newest = accepted.select("instrument", arrived).group_by("instrument").agg(pl.max("arrived"))
    return BatchTriage(
        IngestBatch(
            prices=accepted.select(pl.col(n).cast(dtype) for n, dtype in PRICE_SCHEMA.items()),
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
    ticks = common.select(
        "at",
        "instrument",
        "ts",
        "price",
        *[pl.lit(None, PRICE_SCHEMA[n]).alias(n) for n in ("open", "high", "low", "close")],
        pl.lit(None, pl.String).alias("interval"),
        "volume",
    )
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


def identities(rows: pl.DataFrame) -> list[PriceRow]:
    """Each row's `PriceRow`: its event's identity (the dedupe window and checkpoints hold)."""
    if rows["interval"].null_count() == rows.height:  # ticks only: no bar fields to read
        nones = repeat(None)
        return list(
            zip(
                rows["instrument"].to_list(),
                rows["ts"].to_list(),
                rows["price"].to_list(),
                nones,
                nones,
                nones,
                nones,
                nones,
                rows["volume"].to_list(),
                strict=False,  # `repeat` is endless
            )
        )
    return rows.select(list(PRICE_SCHEMA)).rows()


def _dead_letter(record: RawRecord, rejection: Rejection) -> DeadLetter:
    return DeadLetter(
        record.topic, record.partition, record.offset, record.key, record.value, rejection
    )
