"""A rule-based reader of tariff news: countries, sectors, action, rates and effective date from a
headline and its first paragraph. No network, no model: a vocabulary (`taxonomy.toml`) and a few
patterns. The headline decides the action when it names one; the paragraph fills what it lacks."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast

from services.events import Action, Extraction

ISSUER = "US"
_PCT = r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b|per cent\b)"
_RATE = re.compile(r"(?<![\w.])" + _PCT, re.IGNORECASE)
_FROM_TO = re.compile(r"from\s+" + _PCT + r"\s+to\s+" + _PCT, re.IGNORECASE)
_TO_FROM = re.compile(r"to\s+" + _PCT + r"\s+from\s+" + _PCT, re.IGNORECASE)
_INSTEAD_OF = re.compile(_PCT + r"\s+instead\s+of\s+" + _PCT, re.IGNORECASE)
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES.split(" "))}
_MONTH = "(" + _MONTH_NAMES.replace(" ", "|") + ")"
_WHEN = (
    r"(?:effective|from|starting|beginning|on|to|as of|by|until|after|takes? effect)\s+(?:on\s+)?"
)
_MONTH_DAY = re.compile(_WHEN + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", re.I)
_DAY_MONTH = re.compile(
    _WHEN + r"(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r"(?:,?\s+(\d{4}))?", re.I
)


@dataclass(frozen=True, slots=True)
class Taxonomy:
    countries: dict[str, str]
    """term → ISO code"""
    sectors: dict[str, str]
    """term → sector"""
    actions: tuple[tuple[Action, frozenset[str]], ...]
    """in priority order"""

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        text = (
            path.read_text()
            if path
            else resources.files("services.sources").joinpath("taxonomy.toml").read_text()
        )
        data = tomllib.loads(text)

        def inverted(table: dict[str, list[str]]) -> dict[str, str]:
            return {term.lower(): name for name, terms in table.items() for term in terms}

        actions = tuple(
            (cast(Action, name), frozenset(t.lower() for t in terms))
            for name, terms in data["actions"].items()
        )
        return cls(inverted(data["countries"]), inverted(data["sectors"]), actions)


@dataclass(frozen=True, slots=True)
class Extracted:
    targets: list[str]
    sectors: list[str]
    action: Action
    tariff_rate_pct: float | None
    previous_rate_pct: float | None
    effective_at: date | None
    extraction: Extraction


@cache
def _pattern(terms: frozenset[str]) -> re.Pattern[str]:
    """Whole terms, longest first so the longest match wins at any position."""
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=lambda t: (-len(t), t)))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])", re.IGNORECASE)


def _found(text: str, terms: frozenset[str]) -> list[str]:
    return [m.group(0).lower() for m in _pattern(terms).finditer(text)]


class Extractor:
    def __init__(self, taxonomy: Taxonomy | None = None) -> None:
        self.taxonomy = taxonomy or default_taxonomy()
        self._country_terms = frozenset(self.taxonomy.countries)
        self._sector_terms = frozenset(self.taxonomy.sectors)

    def extract(self, headline: str, paragraph: str = "", *, published: date) -> Extracted:
        text = f"{headline}\n{paragraph}"
        matched: list[str] = []
        targets = self._codes(_found(text, self._country_terms), self.taxonomy.countries, matched)
        targets = [t for t in targets if t != ISSUER]
        sectors = self._codes(_found(text, self._sector_terms), self.taxonomy.sectors, matched)
        rate, previous = _rates(headline) if _RATE.search(headline) else _rates(paragraph)
        action = self._action(headline, matched) or self._action(paragraph, matched)
        if action in (None, "impose") and rate is not None and previous is not None:
            action = "raise" if rate > previous else "lower" if rate < previous else action
        if action is None and rate is not None and (targets or sectors):
            action = "impose"
        matched += [f"{r:g}%" for r in (previous, rate) if r is not None]
        effective = _effective(text, published)
        score = (
            0.4 * bool(targets)
            + 0.3 * (action is not None)
            + 0.2 * (rate is not None)
            + 0.1 * bool(sectors or effective)
        )
        return Extracted(
            targets=targets,
            sectors=sectors or ["all"],
            action=action or "other",
            tariff_rate_pct=rate,
            previous_rate_pct=previous,
            effective_at=effective,
            extraction=Extraction(confidence=round(score, 2), matched=matched),
        )

    @staticmethod
    def _codes(found: list[str], names: dict[str, str], matched: list[str]) -> list[str]:
        codes: list[str] = []
        for term in found:
            code = names[term]
            if code not in codes:
                codes.append(code)
                matched.append(term)
        return codes

    def _action(self, text: str, matched: list[str]) -> Action | None:
        for action, terms in self.taxonomy.actions:
            hits = _found(text, terms)
            if hits:
                matched.append(hits[0])
                return action
        return None


def _rates(text: str) -> tuple[float | None, float | None]:
    """(new rate, previous rate) in percent."""
    if m := _FROM_TO.search(text):
        return float(m.group(2)), float(m.group(1))
    if m := _TO_FROM.search(text) or _INSTEAD_OF.search(text):
        return float(m.group(1)), float(m.group(2))
    if m := _RATE.search(text):
        return float(m.group(1)), None
    return None, None


def _effective(text: str, published: date) -> date | None:
    """The first dated 'effective/from/on <date>'; a date without a year is the next such date
    on or after publication."""
    found: list[tuple[int, str, str, str | None]] = []
    if m := _MONTH_DAY.search(text):
        found.append((m.start(), m.group(1), m.group(2), m.group(3)))
    if m := _DAY_MONTH.search(text):
        found.append((m.start(), m.group(2), m.group(1), m.group(3)))
    if not found:
        return None
    _, month_name, day_text, year_text = min(found)
    month, day = _MONTHS[month_name.lower()], int(day_text)
    try:
        if year_text:
            return date(int(year_text), month, day)
        candidate = date(published.year, month, day)
        return candidate if candidate >= published else date(published.year + 1, month, day)
    except ValueError:
        return None


@cache
def default_taxonomy() -> Taxonomy:
    return Taxonomy.load()
