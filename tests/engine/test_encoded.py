"""Revisions' JSON in one buffer reads back as the values it was made of: one by one, as views,
sliced, as NDJSON, and joined with others (empty ones included)."""

from __future__ import annotations

import pytest

from services.engine.encoded import EncodedRevisions

VALUES = [b'{"a":1}', b'{"b":[2,3]}', b"{}"]


def test_reads_back_each_revision() -> None:
    encoded = EncodedRevisions.of(VALUES)
    assert len(encoded) == 3
    assert list(encoded) == VALUES
    assert encoded[-1] == b"{}"
    assert encoded[1:] == VALUES[1:]
    assert bytes(encoded.view(1)) == b'{"b":[2,3]}'
    assert encoded.ndjson() == b'{"a":1}\n{"b":[2,3]}\n{}'
    assert encoded == VALUES
    with pytest.raises(IndexError):
        encoded[3]


def test_joined_parts_are_their_revisions_in_order() -> None:
    first, second = EncodedRevisions.of(VALUES[:1]), EncodedRevisions.of(VALUES[1:])
    empty = EncodedRevisions.of([])
    joined = EncodedRevisions.joined([empty, first, empty, second])
    assert list(joined) == VALUES
    assert joined.ndjson() == b"\n".join(VALUES)
    assert EncodedRevisions.joined([second]) is second
    assert list(EncodedRevisions.joined([empty, empty])) == []
    assert EncodedRevisions.of([]).ndjson() == b""
