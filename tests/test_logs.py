"""JSON log lines: the engine path's lines carry the announcement and the instrument."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from services.live import _log_revision
from services.logs import ENGINE_LOGGERS, configure_logging
from tests.api.test_hub import signal


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    filters = {name: logging.getLogger(name).filters[:] for name in ENGINE_LOGGERS}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, kept in filters.items():
        logging.getLogger(name).filters[:] = kept


@pytest.mark.usefixtures("restore_logging")
def test_json_lines_name_the_reaction(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    _log_revision(signal(instrument="KOSPI", horizon="close", final=True, revision=4))
    _log_revision(signal(final=False))  # provisional: DEBUG, below the level
    logging.getLogger("services.live").warning("store slow")

    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    final, other = lines
    assert final["level"] == "INFO"
    assert final["logger"] == "services.live"
    assert final["announcement_id"] == "us-kr-letter"
    assert final["instrument"] == "KOSPI"
    assert final["horizon"] == "close"
    assert final["message"].startswith("final reaction rev 4: +1.81%")
    assert (other["message"], other["announcement_id"], other["instrument"]) == (
        "store slow",
        None,
        None,
    )


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    _log_revision(signal(final=True))
    assert "INFO services.live: final reaction rev 1: +1.81%" in capsys.readouterr().err
