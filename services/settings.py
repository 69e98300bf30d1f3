"""Process settings, read once at start-up from `MR_*` environment variables."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MR_", frozen=True, extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    announcements_topic: str = "tariff.announcements"
    prices_topic: str = "market.prices"
    signals_topic: str = "market.signals"
    prices_partitions: Annotated[int, Field(ge=1)] = 6
    """The unit of scale-out: engine replicas split `market.prices` by partition."""
    signals_partitions: Annotated[int, Field(ge=1)] = 3
    prices_retention_days: Annotated[float, Field(gt=0)] = 100.0
    """Engines rebuild their windows and 60-session baselines from `market.prices` on every
    assignment, so it must hold the baseline's sessions plus the longest window (close+5)."""
    signals_retention_days: Annotated[float, Field(gt=0)] = 7.0
    """Live clients resume from the store; the topic only feeds the api replicas."""
    dlq_retention_days: Annotated[float, Field(gt=0)] = 30.0
    group_id: str = "market-reaction"
    """Engine replicas share `market.prices` through this consumer group."""
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1)
    """Names this replica's own group for `tariff.announcements`, which every replica reads."""
    kafka_static_membership: bool = False
    """Join the consumer groups as a static member (`group.instance.id` from `replica_id`): a
    replica that restarts within `kafka_session_timeout_ms` gets its partitions back and no
    other replica is rebalanced. Needs a `replica_id` that is unique and stable across restarts
    (compose gives each engine a fixed hostname); two live members with one id fence each other."""
    kafka_session_timeout_ms: Annotated[int, Field(ge=6_000, le=300_000)] = 10_000
    """How long the group waits for a member that stopped heartbeating before its partitions go
    to the others. With static membership, make it longer than a restart takes."""
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    ingest_max_records: Annotated[int, Field(ge=1)] = 50_000
    """The most records a poll hands on as one batch: its columns, store transaction and engine
    pass cost less per record when large (a live stream's polls hold what arrived meanwhile)."""
    ingest_poll_timeout_ms: Annotated[int, Field(ge=1)] = 200
    dedupe_capacity: Annotated[int, Field(ge=1)] = 200_000
    instruments_file: Path | None = None
    """The instrument registry (TOML); None: the packaged default for Korea."""
    replay_on_assign: bool = True
    """Engine replicas re-read `market.prices` and `tariff.announcements` from the start of
    their retention whenever partitions are assigned (start-up, rebalance), after restoring the
    revisions already sent from the store, so a restart continues exactly where it stopped.
    Start-up reads the retained topics: fine for days of ticks; keep retention to what the
    longest window and the baseline need."""
    idle_interval_s: Annotated[float, Field(gt=0)] = 1.0
    """How often the engine checks for windows to finalise after their market closed."""
    database_url: str = "sqlite+aiosqlite:///data/market-reaction.db"
    """The store: `sqlite+aiosqlite:///path` (relative to the working dir) or
    `postgresql+asyncpg://user@host:port/db`."""
    database_auto_upgrade: bool = True
    """Migrate the store's schema at start-up. Off: the service refuses a store that is not
    at its schema, and `market-reaction db upgrade` migrates it (one step of a deployment)."""
    api_page_size_default: Annotated[int, Field(ge=1)] = 100
    api_page_size_max: Annotated[int, Field(ge=1)] = 1000
    """Hard maximum of `limit` on JSON pages."""
    api_export_rows_max: Annotated[int, Field(ge=1)] = 50_000
    """Hard maximum of `limit` for CSV and Parquet answers."""
    api_price_points_max: Annotated[int, Field(ge=1)] = 50_000
    """Widest price query, counted in bars of the requested interval."""
    stream_queue_size: Annotated[int, Field(ge=1)] = 10_000
    """Signals a live client may have pending before it is dropped as too slow."""
    stream_heartbeat_s: Annotated[float, Field(gt=0)] = 15.0
    stream_send_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    api_keys_sha256: list[str] = []
    """SHA-256 digests (hex) of the accepted API keys, as JSON; empty: no key needed.
    `python -c 'import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())' KEY`"""
    cors_origins: list[str] = []
    """Origins allowed to call the API from a browser, as JSON, e.g. ["https://desk.example"]."""
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """json: one JSON object per line, engine lines with announcement_id and instrument."""
    api_write_keys_sha256: list[str] = []
    """SHA-256 digests (hex) of the keys that may write (POST /v1/announcements, alert
    subscriptions), as JSON; a write key also reads. Empty: writes are disabled."""
    sources_file: Path | None = None
    """The sources to poll (TOML); None: the packaged default (Federal Register, White House,
    USTR)."""
    story_window_h: Annotated[float, Field(gt=0)] = 72.0
    """Announcements of one policy published this far apart are still one story (echoes get
    no reactions of their own); live and `replay` use the same value."""
    ingest_max_ahead_of_watermark_s: Annotated[float, Field(gt=0)] | None = 31 * 86_400.0
    """A price more than this after the latest event time of its instrument (on this consumer)
    is dead-lettered as `implausible_time`: one far-future tick would otherwise make every later
    tick late. Longer than any market closure; raise it (or set null) for feeds with longer
    gaps. Judged on event time only, so replays of history behave as live."""
    ingest_max_ahead_of_wall_clock_s: Annotated[float, Field(gt=0)] | None = 86_400.0
    """Live ingest: a price or announcement more than this ahead of the wall clock is
    dead-lettered as `implausible_time`; null turns the bound off."""
    outage_log_interval_s: Annotated[float, Field(gt=0)] = 10.0
    """While a dependency (store, broker) is down: one log line per dependency per interval."""
    ingest_lag_interval_s: Annotated[float, Field(gt=0)] = 5.0
    """How often consumer lag is measured from the broker's end offsets (also while a batch
    waits for the store or the broker)."""
    kafka_request_timeout_ms: Annotated[int, Field(ge=1000)] = 10_000
    """How long the producer waits for the broker's acknowledgement before the send is
    retried and `/readyz` names the topic as down."""
    alert_allowed_hosts: list[str] = []
    """Alert target hosts exempt from the https and public-address rules, as JSON (e.g. a
    receiver inside the platform); every other target must be https on a public address."""
    alert_max_attempts: Annotated[int, Field(ge=1)] = 8
    """Attempts of one alert delivery before it is dead-lettered."""
    alert_disable_after_dead: Annotated[int, Field(ge=1)] = 5
    """Consecutive dead letters after which a subscription is disabled."""
    alert_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    alert_backoff_base_s: Annotated[float, Field(gt=0)] = 1.0
    """First retry delay; doubles per attempt (with jitter) up to `alert_backoff_max_s`."""
    alert_backoff_max_s: Annotated[float, Field(gt=0)] = 300.0
    alert_response_max_bytes: Annotated[int, Field(ge=0)] = 65_536
    """The most of a receiver's answer read (for the error it reports)."""
    alert_poll_interval_s: Annotated[float, Field(gt=0)] = 1.0
    """How often the dispatcher looks for due retries and other replicas' alerts."""
    alert_concurrency: Annotated[int, Field(ge=1)] = 16
    """Deliveries in flight per subscription (each reaction's alerts still go one by one)."""
    alert_delivered_retention_s: Annotated[float, Field(gt=0)] = 7 * 86_400.0
    """How long delivered alerts stay in the outbox (to be looked at) before they are pruned;
    dead letters stay until their subscription is removed."""
    checkpoints: bool = True
    """Engine replicas save their state per partition of `market.prices` in the store and, on
    assignment, read from the checkpoint's offset instead of the start of retention (with
    `replay_on_assign`; services/live/checkpoints.py)."""
    checkpoint_interval_s: Annotated[float, Field(gt=0)] = 30.0
    """A checkpoint is saved after the first batch this long after the last one..."""
    checkpoint_batches: Annotated[int, Field(ge=1)] = 2000
    """...or after this many batches, whichever comes first, and when partitions are revoked.
    (A live stream's polls come every 20 ms or so at 10,000 ticks/s; each checkpoint holds the
    engine for its snapshot, tens of ms.)"""
    gc_young_threshold: Annotated[int, Field(ge=700)] = 50_000
    """`serve` and `replay`: allocations between two collections of the youngest generation
    (Python's default is 700). Ingest allocates several objects per record; at the default,
    collections took half of an engine replica's CPU time (services/gctune.py)."""
    malloc_mmap_threshold_bytes: Annotated[int, Field(ge=4096, le=2**30)] | None = 32 * 2**20
    """`serve` and `replay`: blocks at least this large get a mapping of their own from the C
    allocator (glibc), unmapped when freed; smaller ones come from its heap and are reused. The
    engine's per-batch columns stay below it (services/gctune.py). Empty, with the trim
    threshold empty too: glibc's own adaptive thresholds (which reach at most 32 MiB and
    64 MiB)."""
    malloc_trim_threshold_bytes: Annotated[int, Field(ge=0, le=2**30)] | None = 64 * 2**20
    """`serve` and `replay`: free memory at the top of the C allocator's heap kept for reuse, up
    to this much, rather than given back to the kernel and faulted in again at the next
    batch."""
    calendar_cache_dir: Path | None = Path("data/calendars")
    """Where exchange calendars' sessions are kept between processes (relative to the working
    dir): building XKRX's costs seconds of CPU at every start otherwise. Empty: no cache."""

    @field_validator(
        "instruments_file",
        "sources_file",
        "ingest_max_ahead_of_watermark_s",
        "ingest_max_ahead_of_wall_clock_s",
        "calendar_cache_dir",
        "malloc_mmap_threshold_bytes",
        "malloc_trim_threshold_bytes",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """An optional setting given empty (`MR_X=`) is unset."""
        return None if value == "" else value


def process_environment(settings: Settings | None = None, **overrides: object) -> dict[str, str]:
    """The environment for a service process that runs with `settings` and `overrides`: this
    process's own without its `MR_` variables (so nothing leaks in unnoticed), then each field
    set explicitly on `settings` and each override as its `MR_` variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MR_")}
    given = {} if settings is None else settings.model_dump(include=settings.model_fields_set)
    for name, value in (given | overrides).items():
        if name.upper() not in _FIELD_NAMES:
            raise ValueError(f"{name!r} is not a setting")
        env[f"MR_{name.upper()}"] = _environment_value(value)
    return env


_FIELD_NAMES = frozenset(name.upper() for name in Settings.model_fields)


def _environment_value(value: object) -> str:
    """How pydantic-settings reads the value back: strings and numbers as they print, None as
    empty, the rest (lists, booleans) as JSON."""
    if value is None:
        return ""
    if isinstance(value, str | int | float | Path) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value)
