"""The default registry and the routing rule documented in services/instruments.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.engine import RegistryError, load_registry
from tests.engine.helpers import announcement, utc

ROUTES = [
    # (targets, sectors, routed instruments)
    pytest.param(["KR"], ["all"], ["KOSPI", "KOSDAQ", "USDKRW"], id="all-sectors-broad-only"),
    pytest.param(["KR"], ["autos"], ["KOSPI", "KOSDAQ", "USDKRW", "005380.KS"], id="autos"),
    pytest.param(
        ["KR"],
        ["steel", "autos"],
        ["KOSPI", "KOSDAQ", "USDKRW", "005380.KS", "005490.KS"],
        id="both",
    ),
    pytest.param(["KR"], ["semiconductors"], ["KOSPI", "KOSDAQ", "USDKRW"], id="unlisted-sector"),
    pytest.param(["JP"], ["autos"], [], id="other-country"),
    pytest.param(
        ["JP", "KR"], ["Steel"], ["KOSPI", "KOSDAQ", "USDKRW", "005490.KS"], id="case-insensitive"
    ),
]


@pytest.mark.parametrize(("targets", "sectors", "expected"), ROUTES)
def test_default_routing(targets: list[str], sectors: list[str], expected: list[str]) -> None:
    registry = load_registry()
    ann = announcement("a", utc(2025, 7, 7), targets=targets, sectors=sectors)
    assert [i.symbol for i in registry.route(ann)] == expected


def test_default_registry_contents() -> None:
    registry = load_registry()
    assert registry.get("USDKRW") is not None
    assert registry.get("USDKRW").calendar == "always-open"  # type: ignore[union-attr]
    assert registry.get("005380.KS").benchmark == "KOSPI"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "expected one or more", id="empty"),
        pytest.param(
            '[[instrument]]\nsymbol = "A"\ncountry = "KR"\n', "lacks 'calendar'", id="missing"
        ),
        pytest.param(
            '[[instrument]]\nsymbol = "A"\ncountry = "KR"\ncalendar = "XKRX"\nbenchmark = "B"\n',
            "unknown benchmark",
            id="bad-benchmark",
        ),
        pytest.param("[[instrument]\n", "instruments.toml", id="bad-toml"),
    ],
)
def test_bad_registry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text(text)
    with pytest.raises(RegistryError, match=message):
        load_registry(path)
