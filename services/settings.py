"""Process settings, read once at start-up from `MR_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MR_", frozen=True, extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    announcements_topic: str = "tariff.announcements"
    prices_topic: str = "market.prices"
    signals_topic: str = "market.signals"
    group_id: str = "market-reaction"
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    ingest_max_records: Annotated[int, Field(ge=1)] = 5000
    ingest_poll_timeout_ms: Annotated[int, Field(ge=1)] = 200
    dedupe_capacity: Annotated[int, Field(ge=1)] = 200_000
    instruments_file: Path | None = None
    """The instrument registry (TOML); None: the packaged default for Korea."""
    idle_interval_s: Annotated[float, Field(gt=0)] = 1.0
    """How often the engine checks for windows to finalise after their market closed."""
    log_level: str = "INFO"
