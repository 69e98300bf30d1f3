"""Logging set-up: plain text for people, or JSON lines for a log pipeline (`MR_LOG_FORMAT`).

Every record of the live engine path carries `announcement_id` and `instrument` (null when a
line is not about one reaction), so its JSON lines can be filtered by either."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
REACTION_FIELDS = ("announcement_id", "instrument", "horizon")
ENGINE_LOGGERS = ("services.live.pipeline", "services.engine")


class ReactionFields(logging.Filter):
    """Gives every record the reaction fields, None where the line did not set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in REACTION_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
        return True


SECRET_QUERY_PARAMS = ("token", "access_token", "api_key", "key")
_SECRET_IN_QUERY = re.compile(
    r"(?P<name>[?&](?:" + "|".join(SECRET_QUERY_PARAMS) + r")=)[^&#\s]*", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """`url` with the value of every key-bearing query parameter replaced."""
    return _SECRET_IN_QUERY.sub(r"\g<name>REDACTED", url)


class RedactSecrets(logging.Filter):
    """Access-log lines never carry an API key passed as `?token=` (browsers cannot set a
    header on EventSource or WebSocket)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_url(record.msg)
        return True


REDACT_SECRETS = RedactSecrets()
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")


def install_redaction() -> None:
    """Idempotent: the same filter instance is added once."""
    for name in ACCESS_LOGGERS:
        logging.getLogger(name).addFilter(REDACT_SECRETS)


class RateLimit(logging.Filter):
    """Passes one record per (logger, message template) per interval; the next one that passes
    says how many were held back. For client libraries that log every failed reconnection."""

    def __init__(
        self, interval_s: float = 10.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._last: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.msg)
        now = self._monotonic()
        last = self._last.get(key)
        if last is not None and now - last[0] < self._interval_s:
            self._last[key] = (last[0], last[1] + 1)
            return False
        held_back = 0 if last is None else last[1]
        self._last[key] = (now, 0)
        if held_back:
            record.msg = f"{record.msg} [{held_back} like it held back]"
        return True


def configure_logging(level: str, log_format: LogFormat) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ENGINE_LOGGERS:
        logging.getLogger(name).addFilter(ReactionFields())
    install_redaction()
    # a logger's filter sees only its own records, not its children's: the handler sees all
    handler.addFilter(_LibraryRateLimit(RateLimit()))


class _LibraryRateLimit(logging.Filter):
    """Applies a rate limit to the Kafka client's records only."""

    def __init__(self, limit: RateLimit) -> None:
        super().__init__()
        self._limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] != "aiokafka":
            return True
        return self._limit.filter(record)
