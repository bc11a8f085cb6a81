"""The access line and the JSON log format after the speed changes in ``cds.logging_setup``.

``access_record`` builds its record without ``Logger.info``'s stack walk, the formatter reuses one JSON
encoder and the library filter tests prefixes in one call: the lines written must be the ones written before.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator

import pytest

from cds.logging_setup import (
    ACCESS_LOGGER,
    QUIET_LOGGERS,
    JsonFormatter,
    QuietLibrariesFilter,
    access_record,
)


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    """The ``cds.access`` logger writing JSON lines into a buffer (root handlers untouched)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(QuietLibrariesFilter())
    logger = logging.getLogger(ACCESS_LOGGER)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    logger.propagate = old_propagate


def test_access_line_has_the_fields_in_order(access_lines):
    access_record(
        method="POST",
        route="/cds-services/<service_id>",
        status=200,
        duration_ms=12.345,
        service_id="nk-cell-trials",
        hook_instance="d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        cards=2,
    )
    line = access_lines.getvalue()
    assert line.endswith("\n") and line.count("\n") == 1
    entry = json.loads(line)
    assert list(entry) == [
        "time",
        "level",
        "logger",
        "message",
        "method",
        "route",
        "status",
        "duration_ms",
        "service",
        "hookInstance",
        "cards",
    ]
    assert entry["level"] == "INFO" and entry["logger"] == ACCESS_LOGGER and entry["message"] == "request"
    assert entry["duration_ms"] == 12.3 and entry["cards"] == 2
    assert dt.datetime.fromisoformat(entry["time"]).tzinfo is not None
    assert ", " not in line and '": ' not in line  # compact separators, as json.dumps(separators=(",", ":"))


def test_optional_fields_are_left_out(access_lines):
    access_record(method="GET", route="(unmatched)", status=404, duration_ms=0.04)
    entry = json.loads(access_lines.getvalue())
    assert list(entry)[4:] == ["method", "route", "status", "duration_ms"]
    assert entry["duration_ms"] == 0.0


def test_record_names_this_function_as_its_origin(caplog):
    caplog.set_level(logging.INFO, logger=ACCESS_LOGGER)
    access_record(method="GET", route="/x", status=200, duration_ms=1.0)
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert record.funcName == "access_record"
    assert record.pathname.endswith("logging_setup.py")
    assert record.getMessage() == "request"
    assert record.fields["route"] == "/x"


@pytest.mark.parametrize(("level", "written"), [(logging.INFO, 1), (logging.WARNING, 0)])
def test_level_both_sides(access_lines, level, written):
    logging.getLogger(ACCESS_LOGGER).setLevel(level)
    access_record(method="GET", route="/x", status=200, duration_ms=1.0)
    assert access_lines.getvalue().count("\n") == written


def test_disabled_logger_writes_nothing(access_lines):
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.disabled = True
    try:
        access_record(method="GET", route="/x", status=200, duration_ms=1.0)
    finally:
        logger.disabled = False
    assert access_lines.getvalue() == ""


def _old_quiet_rule(name: str, levelno: int) -> bool:
    """The filter's rule before it tested the prefixes in one call."""
    if levelno >= logging.WARNING:
        return True
    return not any(name == quiet or name.startswith(quiet + ".") for quiet in QUIET_LOGGERS)


NAMES = [
    *QUIET_LOGGERS,
    *(quiet + ".child" for quiet in QUIET_LOGGERS),
    *(quiet + "x" for quiet in QUIET_LOGGERS),  # a longer name is not a child
    *(quiet[:-1] for quiet in QUIET_LOGGERS),
    "aiohttp.client.sub",
    "gunicorn.error",
    "cds",
    "cds.http",
    "cds.access",
    "root",
    "",
]


@pytest.mark.parametrize("levelno", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
def test_quiet_filter_same_as_before(levelno):
    flt = QuietLibrariesFilter()
    for name in NAMES:
        record = logging.LogRecord(name, levelno, __file__, 1, "m", (), None)
        assert flt.filter(record) == _old_quiet_rule(name, levelno), name


def test_formatter_same_text_as_json_dumps():
    formatter = JsonFormatter()
    record = logging.LogRecord("cds.http", logging.INFO, __file__, 1, "x %s", ("é",), None)
    record.fields = {"when": dt.date(2026, 1, 2), "n": 1.5, "text": 'quote " and \u2603'}
    line = formatter.format(record)
    entry = {
        "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
        "level": "INFO",
        "logger": "cds.http",
        "message": "x é",
        **record.fields,
    }
    assert line == json.dumps(entry, default=str, separators=(",", ":"))
    assert '"when":"2026-01-02"' in line and "\\u2603" in line
