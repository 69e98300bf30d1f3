"""Revisions' contract JSON in one buffer, a newline between two (NDJSON), and where each ends:
written without a Python object per revision (encoding.py); a revision's own `bytes` is made
only where it is asked for, and a producer can send each as a view of the buffer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


class EncodedRevisions(Sequence[bytes]):
    """Revision `i` is `data[start:ends[i]]`, where it starts one byte (a newline) after the
    one before ends."""

    __slots__ = ("data", "ends")

    def __init__(self, data: npt.NDArray[np.uint8], ends: I64) -> None:
        self.data = data
        self.ends = ends

    @classmethod
    def of(cls, values: Sequence[bytes]) -> EncodedRevisions:
        """The revisions `values` (each one's JSON) laid end to end."""
        data = np.frombuffer(b"\n".join(values), dtype=np.uint8)
        sizes = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        return cls(data, np.cumsum(sizes + 1) - 1)

    @classmethod
    def joined(cls, parts: Sequence[EncodedRevisions]) -> EncodedRevisions:
        """The revisions of `parts`, one part after the other."""
        parts = [p for p in parts if len(p)]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls.of([])
        newline = np.frombuffer(b"\n", dtype=np.uint8)
        data = np.concatenate([piece for p in parts for piece in (newline, p.data)][1:])
        offsets = np.cumsum([0, *(len(p.data) + 1 for p in parts[:-1])])
        ends = np.concatenate([p.ends + at for p, at in zip(parts, offsets, strict=True)])
        return cls(data, ends)

    def __len__(self) -> int:
        return len(self.ends)

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return self.view(index).tobytes()

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EncodedRevisions({len(self)}, {len(self.data):,} bytes)"

    def view(self, index: int) -> memoryview:
        """Revision `index`'s JSON, not copied."""
        i = range(len(self))[index]
        start = int(self.ends[i - 1]) + 1 if i else 0
        return self.data.data[start : int(self.ends[i])]

    def ndjson(self) -> bytes:
        """Every revision's JSON, one a line (no newline after the last)."""
        return self.data.tobytes()
