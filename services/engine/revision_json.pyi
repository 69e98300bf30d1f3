"""Rows of columns written as JSON objects (Rust: services/engine/native/src/lib.rs, which
documents the fields' kinds)."""

from typing import Any

def write_objects(fields: list[tuple[Any, ...]], rows: int) -> list[bytes]:
    """One JSON object per row, of `fields` (`(kind, key, column, ...)`) in order."""
