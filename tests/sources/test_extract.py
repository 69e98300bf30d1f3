"""The rule-based extractor, table-tested on labelled headlines (tests/sources/headlines.jsonl),
plus its aggregate precision and recall on countries and actions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.sources.extract import Extracted, Extractor
from services.sources.scoring import score_labels, score_sets
from tests.sources.corpus import Labelled, load_corpus

CORPUS = load_corpus()
EXTRACTOR = Extractor()


def fields(e: Extracted) -> dict[str, Any]:
    return {
        "targets": sorted(e.targets),
        "action": e.action,
        "rate": e.tariff_rate_pct,
        "previous": e.previous_rate_pct,
        "sectors": sorted(e.sectors),
        "effective": e.effective_at.isoformat() if e.effective_at else None,
    }


def read(row: Labelled) -> Extracted:
    return EXTRACTOR.extract(row.headline, row.paragraph, published=row.published)


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40
    assert len({r.expected["action"] for r in CORPUS}) == 8  # every action but "other"


@pytest.mark.parametrize("row", CORPUS, ids=[r.headline[:50] for r in CORPUS])
def test_each_headline(row: Labelled) -> None:
    got = fields(read(row))
    for name, wanted in row.expected.items():
        if name in row.known_miss:
            assert got[name] != wanted, f"{name} is right now: drop it from known_miss"
        else:
            assert got[name] == wanted, name


def test_precision_and_recall_on_countries_and_actions() -> None:
    results = [(read(r), r.expected) for r in CORPUS]
    countries = score_sets((e.targets, x["targets"]) for e, x in results)
    actions = score_labels(((e.action, x["action"]) for e, x in results), unknown="other")
    assert countries.precision >= 0.9
    assert countries.recall >= 0.9
    assert actions.precision >= 0.9
    assert actions.recall >= 0.9


@pytest.mark.parametrize(
    ("headline", "targets"),
    [
        ("North Korea sanctions tightened", ["KP"]),  # the longest name wins over "korea"
        ("Tariffs on Korean-made washers", ["KR"]),
        ("US and the U.S. allies", []),  # the issuer is never a target
        ("Republic of Korea and Japan", ["KR", "JP"]),  # in order of first mention
    ],
)
def test_country_names(headline: str, targets: list[str]) -> None:
    assert EXTRACTOR.extract(headline, published=date(2025, 7, 7)).targets == targets


@pytest.mark.parametrize(
    ("text", "published", "effective"),
    [
        ("effective August 1", date(2025, 7, 7), date(2025, 8, 1)),
        ("from 1 August", date(2025, 7, 7), date(2025, 8, 1)),
        ("starting January 5", date(2025, 12, 20), date(2026, 1, 5)),  # no year: the next one
        ("on February 30", date(2025, 1, 1), None),  # no such day
        ("effective March 12, 2026", date(2025, 7, 7), date(2026, 3, 12)),
    ],
)
def test_effective_dates(text: str, published: date, effective: date | None) -> None:
    got = EXTRACTOR.extract("25% tariff on Korean goods", text, published=published)
    assert got.effective_at == effective


def test_confidence_and_matched_terms() -> None:
    full = EXTRACTOR.extract("US imposes 25% tariff on Korean cars", published=date(2025, 7, 7))
    vague = EXTRACTOR.extract("Trade officials meet", published=date(2025, 7, 7))
    assert full.extraction.confidence == 1.0
    assert full.extraction.matched == ["korean", "cars", "imposes", "25%"]
    assert vague.extraction.confidence == 0.0
    assert (vague.targets, vague.action, vague.sectors) == ([], "other", ["all"])
