"""Rows of columns written as JSON objects (Rust: services/engine/native/src/lib.rs, which
documents the fields' kinds)."""

from typing import Any, final

import numpy as np
import numpy.typing as npt

@final
class Written:
    """Written bytes, read through the buffer protocol (read-only, not copied); the buffer goes
    back to the writer's pool once nothing reads it."""

    def __len__(self) -> int: ...
    def __buffer__(self, flags: int, /) -> memoryview: ...

def write_objects(
    fields: list[tuple[Any, ...]], rows: int
) -> tuple[Written, npt.NDArray[np.int64]]:
    """One JSON object per row, of `fields` (`(kind, key, column, ...)`) in order, one after the
    other with a newline between two, and where each row ends."""
