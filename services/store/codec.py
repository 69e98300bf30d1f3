"""Conversions between the event models and table rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from services.events import Announcement, Signal
from services.frames import from_us, to_us
from services.store.schema import DETAIL_FIELDS

_SIGNAL_TIMES = ("anchor_at", "base_at", "last_at", "peak_at", "emitted_at")


def announcement_row(a: Announcement) -> dict[str, Any]:
    effective = a.effective_at
    return {
        "id": a.id,
        "published_at_us": to_us(a.published_at),
        "published_at_precision": a.published_at_precision,
        "source": a.source,
        "issuer": a.issuer,
        "targets": json.dumps(a.targets),
        "sectors": json.dumps(a.sectors),
        "action": a.action,
        "tariff_rate_pct": a.tariff_rate_pct,
        "previous_rate_pct": a.previous_rate_pct,
        "effective_at": _iso(effective) if effective is not None else None,
        "headline": a.headline,
        "url": a.url,
        "details": _details(a),
        "story_id": a.story_id,
    }


def _details(a: Announcement) -> str | None:
    details = a.model_dump(mode="json", include=set(DETAIL_FIELDS), exclude_none=True)
    return json.dumps(details, sort_keys=True) if details else None


def _iso(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def announcement_from_row(row: Mapping[str, Any]) -> Announcement:
    return Announcement.model_validate(
        {
            "id": row["id"],
            "published_at": from_us(row["published_at_us"]),
            "published_at_precision": row["published_at_precision"],
            "source": row["source"],
            "issuer": row["issuer"],
            "targets": json.loads(row["targets"]),
            "sectors": json.loads(row["sectors"]),
            "action": row["action"],
            "tariff_rate_pct": row["tariff_rate_pct"],
            "previous_rate_pct": row["previous_rate_pct"],
            "effective_at": row["effective_at"],
            "headline": row["headline"],
            "url": row["url"],
            "story_id": row.get("story_id"),
            **json.loads(row.get("details") or "{}"),
        }
    )


def signal_row(s: Signal) -> dict[str, Any]:
    row = s.model_dump(exclude={"cursor", *_SIGNAL_TIMES})
    for name in _SIGNAL_TIMES:
        row[f"{name}_us"] = to_us(getattr(s, name))
    row["confounders"] = json.dumps(s.confounders)
    return row


def signal_from_row(row: Mapping[str, Any]) -> Signal:
    data = dict(row)
    for name in _SIGNAL_TIMES:
        data[name] = from_us(data.pop(f"{name}_us"))
    data["confounders"] = json.loads(data["confounders"])
    return Signal.model_validate(data)
