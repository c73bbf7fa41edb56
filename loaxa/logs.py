"""The one place logging is configured, and the context that tags lines with a device and broadcast.

An operator tracing one loudspeaker or one broadcast greps for ``device=loa-1`` or
``broadcast=bc-…``; a log shipper wants one JSON object per line.  Code that works on
behalf of a device or broadcast wraps that work in :func:`log_context`, and every line
logged inside it (by any module, in that thread) carries the ids; a single line can also
pass them with ``extra={"device_id": ...}``.  The context lives in :mod:`contextvars`, so
threads and concurrent handlers never see each other's ids.

Only the standard library is used: the edge agent imports this module too.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import IO, Any, Iterator

FIELDS = {"device_id": "device", "broadcast_id": "broadcast", "item_id": "item"}
FORMATS = ("text", "json")
FORMAT_ENV = "LOAXA_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_context: ContextVar[dict[str, str]] = ContextVar("loaxa_log_context", default={})


@contextmanager
def log_context(*, device_id: Any = None, broadcast_id: Any = None, item_id: Any = None) -> Iterator[None]:
    """Tag every line logged inside the block (in this thread or task) with the given ids; empty ones are ignored."""
    given = {"device_id": device_id, "broadcast_id": broadcast_id, "item_id": item_id}
    token = _context.set({**_context.get(), **{k: str(v) for k, v in given.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, str]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the current context onto each record; ids passed with ``extra=`` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not getattr(record, key, None):
                setattr(record, key, value)
        return True


def _ids(record: logging.LogRecord) -> dict[str, str]:
    return {label: str(value) for key, label in FIELDS.items() if (value := getattr(record, key, None))}


class TextFormatter(logging.Formatter):
    """The classic line, followed by ``device=<id> broadcast=<id> item=<id>`` when the record has them."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = _ids(record)
        if not ids:
            return text
        tags = " ".join(f"{k}={v}" for k, v in ids.items())
        first, nl, rest = text.partition("\n")  # keep a traceback below the tagged line
        return f"{first} {tags}{nl}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, ids, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_ids(record),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def resolve_format(requested: str | None = None) -> str:
    """The format asked for on the command line, else in ``LOAXA_LOG_FORMAT``, else text."""
    name = (requested or os.environ.get(FORMAT_ENV) or "text").strip().lower()
    if name not in FORMATS:
        raise ValueError(f"unknown log format {name!r} (from --log-format or {FORMAT_ENV}): use one of {', '.join(FORMATS)}")
    return name


def setup_logging(verbose: bool = False, fmt: str | None = None, stream: IO[str] | None = None) -> None:
    """Send every log line to ``stream`` (stderr) in the chosen format; replaces earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if resolve_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
