"""Many narrow rows into a polars frame without a Python object per row, where the driver allows.

A statistics query reads tens of thousands of (group, value) rows. Made into SQLAlchemy `Row`s,
enough of them outlive the young generations to set off full garbage collections of the whole heap,
about one a query: pauses of 50-140 ms in whichever request was running. PostgreSQL therefore
returns one array of values per group, which asyncpg decodes in C. SQLite has no exact array
aggregate (its JSON prints 15 digits), so its rows go from the driver to the frame as plain tuples,
which the collector untracks on its first pass over them.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.store.reads import value_arrays

VALUES_SCHEMA: dict[str, pl.DataType] = {"group": pl.String(), "value": pl.Float64()}


async def value_frame(conn: AsyncConnection, values: Select[Any]) -> pl.DataFrame:
    """The rows of `values` (columns group, value) as a frame in `VALUES_SCHEMA`, in no order."""
    if conn.dialect.name == "postgresql":
        groups = (await conn.execute(value_arrays(values))).all()
        frame = pl.DataFrame(
            {"group": [g[0] for g in groups], "value": [g[1] for g in groups]},
            schema={"group": pl.String(), "value": pl.List(pl.Float64())},
        )
        return frame.explode("value")
    rows = await _driver_rows(conn, values)
    return pl.DataFrame(
        {"group": [r[0] for r in rows], "value": [r[1] for r in rows]}, schema=VALUES_SCHEMA
    )


async def _driver_rows(conn: AsyncConnection, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    """`stmt` run on the driver's own connection (aiosqlite): its tuples, with no `Row` around
    them. The bound values of the store's filters are str, int or float, which the driver takes
    as they are (no bind processing needed)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[name] for name in compiled.positiontup or ()]
    driver: Any = (await conn.get_raw_connection()).driver_connection
    async with driver.execute(str(compiled), params) as cursor:
        return list(await cursor.fetchall())
