"""What a source publishes, read into `SourceItem`s: the Federal Register documents API (JSON)
and RSS 2.0 / Atom feeds (feedparser). A body that cannot be read is `MalformedDocument`."""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import feedparser
import orjson

from services.sources.exceptions import MalformedDocument

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class SourceItem:
    item_id: str
    """The source's own id (a document number, a feed entry's id or link)."""
    title: str
    summary: str
    published_at: datetime
    precision: Literal["minute", "day"]
    url: str | None


def plain_text(markup: str) -> str:
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def parse_federal_register(body: bytes) -> list[SourceItem]:
    """`GET /api/v1/documents.json`: `results` with document_number, title, abstract,
    publication_date (a date: precision "day") and html_url."""
    try:
        doc = orjson.loads(body)
        results: list[dict[str, Any]] = doc["results"] if doc.get("count") else []
        return [
            SourceItem(
                item_id=str(r["document_number"]),
                title=plain_text(str(r["title"])),
                summary=plain_text(str(r.get("abstract") or "")),
                published_at=datetime.combine(
                    date.fromisoformat(r["publication_date"]), datetime.min.time(), UTC
                ),
                precision="day",
                url=r.get("html_url"),
            )
            for r in results
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedDocument(f"not a Federal Register documents answer: {exc!r}") from exc


def parse_feed(body: bytes) -> list[SourceItem]:
    """RSS 2.0 or Atom. Entries without a date or an id/link are left out (counted by the
    caller as the difference)."""
    feed = feedparser.parse(body)
    if feed.get("bozo") and not isinstance(
        feed.get("bozo_exception"), feedparser.CharacterEncodingOverride
    ):
        raise MalformedDocument(f"not a well-formed feed: {feed.get('bozo_exception')!r}")
    if not feed.get("version"):
        raise MalformedDocument("not an RSS or Atom feed")
    items = []
    for entry in feed.entries:
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        item_id = entry.get("id") or entry.get("link")
        if when is None or not item_id or not entry.get("title"):
            continue
        items.append(
            SourceItem(
                item_id=str(item_id),
                title=plain_text(str(entry.get("title"))),
                summary=plain_text(str(entry.get("summary") or "")),
                published_at=datetime.fromtimestamp(calendar.timegm(when), UTC),
                precision="minute",
                url=entry.get("link"),
            )
        )
    return items
