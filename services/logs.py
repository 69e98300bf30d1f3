"""Logging set-up: plain text for people, or JSON lines for a log pipeline (`MR_LOG_FORMAT`).

Every record of the live engine path carries `announcement_id` and `instrument` (null when a
line is not about one reaction), so its JSON lines can be filtered by either."""

from __future__ import annotations

import logging
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]
REACTION_FIELDS = ("announcement_id", "instrument", "horizon")
ENGINE_LOGGERS = ("services.live", "services.engine")


class ReactionFields(logging.Filter):
    """Gives every record the reaction fields, None where the line did not set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in REACTION_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, None)
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
