"""The instrument registry (a TOML file) and the routing of announcements to instruments."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.engine.exceptions import RegistryError
from services.events import Announcement

DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "instruments.toml"
ALL_SECTORS = "all"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable thing and how announcements reach it."""

    symbol: str
    """The `instrument` of price events, e.g. "KOSPI", "005380.KS"."""
    country: str
    """ISO country whose announcements move it."""
    calendar: str
    """exchange_calendars code or "always-open"."""
    sectors: tuple[str, ...] = (ALL_SECTORS,)
    """("all",) for a broad instrument (index, currency), else the sectors it stands for."""
    benchmark: str | None = None
    """Instrument whose return is subtracted for the abnormal return."""
    name: str = ""

    @property
    def broad(self) -> bool:
        return ALL_SECTORS in self.sectors


class InstrumentRegistry:
    """Instruments by symbol, routed by target country and sector (rule in instruments.toml)."""

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self._by_symbol: dict[str, Instrument] = {}
        for inst in instruments:
            if inst.symbol in self._by_symbol:
                raise RegistryError(f"instrument {inst.symbol!r} is listed twice")
            self._by_symbol[inst.symbol] = inst
        for inst in instruments:
            if inst.benchmark is not None:
                bench = self._by_symbol.get(inst.benchmark)
                if bench is None:
                    raise RegistryError(f"{inst.symbol}: unknown benchmark {inst.benchmark!r}")
                if bench.benchmark is not None:
                    raise RegistryError(f"{inst.symbol}: benchmark {bench.symbol} has a benchmark")

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_symbol.values())

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def get(self, symbol: str) -> Instrument | None:
        return self._by_symbol.get(symbol)

    def route(self, announcement: Announcement) -> list[Instrument]:
        """The instruments the announcement moves, in registry order."""
        targets = set(announcement.targets)
        sectors = {s.lower() for s in announcement.sectors}
        return [
            inst
            for inst in self._by_symbol.values()
            if inst.country in targets and (inst.broad or sectors.intersection(inst.sectors))
        ]


def load_registry(path: Path | None = None) -> InstrumentRegistry:
    """Read a registry TOML file (default: the Korean instruments shipped with the service)."""
    path = path or DEFAULT_REGISTRY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"{path}: {exc}") from exc
    rows = data.get("instrument")
    if not isinstance(rows, list) or not rows:
        raise RegistryError(f"{path}: expected one or more [[instrument]] tables")
    instruments: list[Instrument] = []
    for i, row in enumerate(rows, start=1):
        try:
            sectors = tuple(str(s).lower() for s in row.get("sectors", [ALL_SECTORS]))
            instruments.append(
                Instrument(
                    symbol=str(row["symbol"]),
                    country=str(row["country"]).upper(),
                    calendar=str(row["calendar"]),
                    sectors=sectors or (ALL_SECTORS,),
                    benchmark=row.get("benchmark"),
                    name=str(row.get("name", "")),
                )
            )
        except KeyError as exc:
            raise RegistryError(f"{path}: instrument #{i} lacks {exc.args[0]!r}") from exc
    return InstrumentRegistry(instruments)
