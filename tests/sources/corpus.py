"""The labelled headlines and first paragraphs of US tariff actions (written for the tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HEADLINES = Path(__file__).with_name("headlines.jsonl")
HELD_OUT = Path(__file__).with_name("headlines_heldout.jsonl")
"""Written after the extractor, never tuned on: what `make bench` reports beside the other."""


@dataclass(frozen=True)
class Labelled:
    headline: str
    paragraph: str
    published: date
    expected: dict[str, Any]
    known_miss: frozenset[str]
    """Fields the extractor is known to get wrong on this row (with a note in the file)."""


def load_corpus(path: Path = HEADLINES) -> list[Labelled]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [
        Labelled(
            headline=r["headline"],
            paragraph=r["paragraph"],
            published=date.fromisoformat(r["published"]),
            expected={
                "targets": sorted(r["targets"]),
                "action": r["action"],
                "rate": r["rate"],
                "previous": r["previous"],
                "sectors": sorted(r["sectors"]),
                "effective": r["effective"],
            },
            known_miss=frozenset(r.get("known_miss", [])),
        )
        for r in rows
    ]
