"""Opaque page cursors: the last row's sort key, as base64url JSON. Clients must not parse them."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.api.problems import ProblemError
from services.store.filters import AnnouncementKey, ReactionKey

_INT64 = range(-(2**63), 2**63)
"""What the store's BIGINT keys hold; a larger number never came from this API."""


def invalid_cursor(detail: str) -> ProblemError:
    return ProblemError(400, detail, kind="invalid-cursor", title="Invalid cursor")


def _encode(kind: str, key: tuple[Any, ...]) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(kind: str, cursor: str, types: tuple[type, ...]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid_cursor("the cursor is not one this API issued") from exc
    if (
        not isinstance(value, list)
        or len(value) != len(types) + 1
        or value[0] != kind
        or not all(type(v) is t for v, t in zip(value[1:], types, strict=True))
        or not all(v in _INT64 for v in value[1:] if type(v) is int)
    ):
        raise invalid_cursor(f"the cursor is not one this API issued for {kind}")
    return value[1:]


def encode_reaction_key(key: ReactionKey) -> str:
    return _encode("reactions", tuple(key))


def decode_reaction_key(cursor: str) -> ReactionKey:
    return ReactionKey(*_decode("reactions", cursor, (int, str, str, str)))


def encode_announcement_key(key: AnnouncementKey) -> str:
    return _encode("announcements", tuple(key))


def decode_announcement_key(cursor: str) -> AnnouncementKey:
    return AnnouncementKey(*_decode("announcements", cursor, (int, str)))
