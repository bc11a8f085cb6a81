"""Logging: JSON lines on stderr, one access line per request, nothing sensitive.

- ``configure_logging(level)`` installs one JSON handler on the root logger (idempotent).
- ``access_record(...)`` writes the per-request line on logger ``cds.access`` with only: method, route
  (the URL rule, not the URL), service id, hookInstance, status, duration in ms, card count.
- HTTP client libraries log full URLs (``...?patient=<id>``) at DEBUG/INFO; their loggers are pinned to
  WARNING and a handler filter drops their records below WARNING even if someone lowers the level again.

What may be logged: ids of trials, hookInstance (a random UUID), issuer, status codes, exception class names.
What never is: tokens, Authorization headers, patient ids, request/response bodies, FHIR URLs, clinical values.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

ACCESS_LOGGER = "cds.access"
_access_log = logging.getLogger(ACCESS_LOGGER)  # looked up once: getLogger takes the logging module's lock
QUIET_LOGGERS: tuple[str, ...] = (
    "urllib3",
    "requests",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.access",
    "fhirpy",
    "httpx",
    "httpcore",
    "werkzeug",
    "gunicorn.access",
)
_HANDLER_NAME = "nk-cds-json"
_QUIET_NAMES = frozenset(QUIET_LOGGERS)
_QUIET_PREFIXES = tuple(name + "." for name in QUIET_LOGGERS)
# One encoder for every line: ``json.dumps`` with these options builds a new encoder on each call.
_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any ``fields`` passed as ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # the class and the stack only: exception messages may carry request data
            import traceback

            entry["exception"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))[-4000:]
        return _encode(entry)


class QuietLibrariesFilter(logging.Filter):
    """Drops records of URL-logging libraries below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not (record.name in _QUIET_NAMES or record.name.startswith(_QUIET_PREFIXES))


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO") -> None:
    """Install the JSON handler on the root logger once; set the service's loggers to ``level``."""
    root = logging.getLogger()
    if not any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.name = _HANDLER_NAME
        handler.setFormatter(JsonFormatter())
        handler.addFilter(QuietLibrariesFilter())
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    cds_level = getattr(logging, level.upper(), logging.INFO)
    logging.getLogger("cds").setLevel(cds_level)
    logging.getLogger(ACCESS_LOGGER).setLevel(
        min(cds_level, logging.INFO)
    )  # the access line is always written
    quiet_libraries()


def redirect_to_file(path: str) -> None:
    """Send the service's JSON log lines to ``path`` instead of stderr (the demo keeps its table readable)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if getattr(handler, "name", None) == _HANDLER_NAME and isinstance(handler, logging.StreamHandler):
            handler.setStream(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - lives as long as the process


def access_record(
    *,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    service_id: str | None = None,
    hook_instance: str | None = None,
    cards: int | None = None,
) -> None:
    fields: dict[str, Any] = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 1),
    }
    if service_id is not None:
        fields["service"] = service_id
    if hook_instance is not None:
        fields["hookInstance"] = hook_instance
    if cards is not None:
        fields["cards"] = cards
    _access_log.info("request", extra={"fields": fields})
