"""The default registry and the routing rule documented in services/instruments.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.engine import RegistryError, load_registry
from tests.engine.helpers import utc
from tests.factories import announcement

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
    usdkrw, hyundai = registry.get("USDKRW"), registry.get("005380.KS")
    assert usdkrw is not None
    assert usdkrw.calendar == "always-open"
    assert hyundai is not None
    assert hyundai.benchmark == "KOSPI"


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
