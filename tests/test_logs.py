"""JSON log lines: the engine path's lines carry the announcement and the instrument."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from services.live.pipeline import _log_revisions
from services.logs import ENGINE_LOGGERS, RateLimit, RedactSecrets, configure_logging, redact_url
from tests.factories import signal


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
    # provisional: DEBUG, below the level
    _log_revisions([signal(final=False), signal(horizon="close", final=True, revision=4)])
    logging.getLogger("services.live.pipeline").warning("store slow")

    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    final, other = lines
    assert final["level"] == "INFO"
    assert final["logger"] == "services.live.pipeline"
    assert final["announcement_id"] == "a1"
    assert final["instrument"] == "KOSPI"
    assert final["horizon"] == "close"
    assert final["message"].startswith("final reaction rev 4: +1.00%")
    assert (other["message"], other["announcement_id"], other["instrument"]) == (
        "store slow",
        None,
        None,
    )


@pytest.mark.usefixtures("restore_logging")
def test_text_lines_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    _log_revisions([signal(final=True)])
    assert "INFO services.live.pipeline: final reaction rev 1: +1.00%" in capsys.readouterr().err


@pytest.mark.usefixtures("restore_logging")
def test_provisional_revisions_at_debug(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG", "text")
    _log_revisions([signal(final=False, revision=2), signal(final=True, revision=3)])
    err = capsys.readouterr().err
    assert "DEBUG services.live.pipeline: provisional reaction rev 2: +1.00%" in err
    assert "INFO services.live.pipeline: final reaction rev 3: +1.00%" in err


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("/v1/reactions?token=abc", "/v1/reactions?token=REDACTED"),
        (
            "/v1/signals/ws?instrument=KOSPI&token=abc&final=true",
            "/v1/signals/ws?instrument=KOSPI&token=REDACTED&final=true",
        ),
        ("/v1/x?TOKEN=abc#frag", "/v1/x?TOKEN=REDACTED#frag"),
        ("/v1/x?api_key=abc", "/v1/x?api_key=REDACTED"),
        ("/v1/x?mytoken=kept", "/v1/x?mytoken=kept"),  # another parameter that ends alike
        ("/v1/x", "/v1/x"),
    ],
)
def test_keys_are_redacted_from_urls(url: str, logged: str) -> None:
    assert redact_url(url) == logged


def test_the_access_log_filter_redacts_its_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("127.0.0.1", "GET", "/v1/x?token=abc"),
        None,
    )
    assert RedactSecrets().filter(record)
    assert record.getMessage() == '127.0.0.1 - "GET /v1/x?token=REDACTED"'


def test_a_library_error_storm_is_one_line_per_interval() -> None:
    now = [0.0]
    limit = RateLimit(interval_s=10, monotonic=lambda: now[0])

    def record() -> logging.LogRecord:
        return logging.LogRecord(
            "aiokafka.conn", logging.ERROR, __file__, 1, "connect to %s failed", ("b",), None
        )

    passed = [limit.filter(record()) for _ in range(500)]
    assert passed.count(True) == 1
    now[0] = 10.0
    last = record()
    assert limit.filter(last)
    assert last.getMessage() == "connect to b failed [499 like it held back]"
    info = logging.LogRecord("aiokafka.conn", logging.INFO, __file__, 1, "fine", None, None)
    assert all(limit.filter(info) for _ in range(3))
