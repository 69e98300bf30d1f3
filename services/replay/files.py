"""Replay's files: announcements and prices read from JSON lines (the schemas/ contracts) or CSV
(by extension), "-" for stdin/stdout, every bad line named by file and line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import orjson
import polars as pl
from pydantic import BaseModel, ValidationError

from services.replay.exceptions import ReplayError

M = TypeVar("M", bound=BaseModel)
_LIST_FIELDS = ("targets", "sectors")


def read_models(path: str, model: type[M]) -> list[M]:
    name = "<stdin>" if path == "-" else path
    if path != "-" and path.lower().endswith(".csv"):
        return _read_csv(path, model)
    out: list[M] = []
    with open_in(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                # parsed as ingest parses a record (orjson, then the model), so a file is
                # accepted exactly where the live path accepts the same event
                out.append(model.model_validate(orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                raise ReplayError(f"{name}:{lineno}: invalid JSON: {exc}") from exc
            except ValidationError as exc:
                raise ReplayError(
                    f"{name}:{lineno}: invalid {model.__name__}: {_brief(exc)}"
                ) from exc
    return out


def _read_csv(path: str, model: type[M]) -> list[M]:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ReplayError(f"{path}: cannot read CSV: {exc}") from exc
    out: list[M] = []
    for i, row in enumerate(frame.iter_rows(named=True)):
        record: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        for key in _LIST_FIELDS:
            if isinstance(record.get(key), str):
                record[key] = _split_list(record[key])
        try:
            out.append(model.model_validate(record, strict=False))
        except ValidationError as exc:
            # line 1 is the header
            raise ReplayError(f"{path}:{i + 2}: invalid {model.__name__}: {_brief(exc)}") from exc
    return out


def _split_list(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return [value]
        return [str(v) for v in parsed] if isinstance(parsed, list) else [value]
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def _brief(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
    )


def open_in(path: str) -> AbstractContextManager[IO[bytes]]:
    """`path` to read, or standard input for "-"."""
    return _open(path, "rb", sys.stdin.buffer)


def open_out(path: str) -> AbstractContextManager[IO[bytes]]:
    """`path` to write, or standard output for "-"."""
    return _open(path, "wb", sys.stdout.buffer)


@contextmanager
def _open(path: str, mode: Literal["rb", "wb"], standard: IO[bytes]) -> Iterator[IO[bytes]]:
    if path == "-":
        yield standard
        standard.flush()
        return
    try:
        fh = Path(path).open(mode)  # noqa: SIM115
    except OSError as exc:
        raise ReplayError(f"{path}: {exc.strerror or exc}") from exc
    with fh:
        yield fh
