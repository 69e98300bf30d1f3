"""Fixtures of the deploy tests: the compose file and its services, and promtool."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helpers import COMPOSE, load_yaml, tool


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool(
        "promtool",
        why="it comes with Debian's `prometheus` package, which `make install` installs",
    )


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    named: dict[str, dict[str, Any]] = compose["services"]
    return named
