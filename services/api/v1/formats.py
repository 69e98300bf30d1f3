"""JSON, CSV or Parquet: the same rows, chosen by `?format=` or the Accept header; polars writes
CSV and Parquet."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Literal

import polars as pl
from fastapi import Request
from fastapi.responses import Response

from services.events import Signal

Format = Literal["json", "csv", "parquet"]
CSV_MEDIA_TYPE = "text/csv"
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"

_TIME = pl.Datetime("us", "UTC")
REACTION_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "signal_id": pl.String(),
    "cursor": pl.Int64(),
    "announcement_id": pl.String(),
    "instrument": pl.String(),
    "horizon": pl.String(),
    "revision": pl.Int64(),
    "final": pl.Boolean(),
    "corrected": pl.Boolean(),
    "anchor_at": _TIME,
    "base_price": pl.Float64(),
    "base_at": _TIME,
    "last_price": pl.Float64(),
    "last_at": _TIME,
    "return_pct": pl.Float64(),
    "max_rise_pct": pl.Float64(),
    "max_fall_pct": pl.Float64(),
    "peak_at": _TIME,
    "time_to_peak_s": pl.Float64(),
    "gap_pct": pl.Float64(),
    "baseline_mean_pct": pl.Float64(),
    "baseline_std_pct": pl.Float64(),
    "z_score": pl.Float64(),
    "abnormal_return_pct": pl.Float64(),
    "significant": pl.Boolean(),
    "direction": pl.String(),
    "confounders": pl.List(pl.String()),
    "data_granularity": pl.String(),
    "emitted_at": _TIME,
}
"""Columns of a reactions export; in CSV, `confounders` is joined with ";"."""

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON by default; CSV with `Accept: text/csv` or `?format=csv`; Parquet "
        "with `?format=parquet` or `Accept: application/vnd.apache.parquet`. CSV and Parquet "
        "carry the next page's cursor in the `X-Next-Cursor` header.",
        "content": {
            CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            PARQUET_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def negotiate(request: Request, requested: Format | None) -> Format:
    if requested is not None:
        return requested
    accept = request.headers.get("accept", "")
    if CSV_MEDIA_TYPE in accept:
        return "csv"
    if PARQUET_MEDIA_TYPE in accept or "application/x-parquet" in accept:
        return "parquet"
    return "json"


def reactions_frame(signals: Sequence[Signal]) -> pl.DataFrame:
    return pl.DataFrame(
        [s.model_dump() for s in signals], schema=REACTION_FRAME_SCHEMA, orient="row"
    )


def frame_response(
    frame: pl.DataFrame, fmt: Literal["csv", "parquet"], *, next_cursor: str | None
) -> Response:
    headers = {"X-Next-Cursor": next_cursor} if next_cursor else {}
    if fmt == "csv":
        flat = frame.with_columns(
            pl.col(name).list.join(";")
            for name, dtype in frame.schema.items()
            if isinstance(dtype, pl.List)
        )
        return Response(flat.write_csv(), media_type=CSV_MEDIA_TYPE, headers=headers)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return Response(buffer.getvalue(), media_type=PARQUET_MEDIA_TYPE, headers=headers)
