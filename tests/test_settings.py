"""A service process started with `process_environment` reads back exactly the settings given."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import Settings, process_environment


def test_settings_read_back_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    given = Settings(
        group_id="desk-a",
        ingest_poll_timeout_ms=50,
        alert_allowed_hosts=["127.0.0.1", "receiver.internal"],
        checkpoints=False,
        instruments_file=Path("registry.toml"),
        checkpoint_interval_s=2.5,
        calendar_cache_dir=None,
        ingest_max_ahead_of_wall_clock_s=None,
    )
    monkeypatch.setenv("MR_PRICES_TOPIC", "leaks.in")
    env = process_environment(given, replica_id="engine-1", http_port=8123)

    assert "MR_PRICES_TOPIC" not in env
    for name in [k for k in env if k.startswith("MR_")] + ["MR_PRICES_TOPIC"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if name.startswith("MR_"):
            monkeypatch.setenv(name, value)
    read = Settings()
    assert read == given.model_copy(update={"replica_id": "engine-1", "http_port": 8123})


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="'prices_topik' is not a setting"):
        process_environment(prices_topik="x")
