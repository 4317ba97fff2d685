"""Structured logging: one line per event, with the conversation's context, no secrets.

Context (team, channel, thread, agent, run) is carried in a ``contextvars`` variable so a
listener sets it once and every line logged below it, in the same task, carries it. Lines
are ``key=value`` pairs (easy to grep, parsed by every log shipper), or with
``LOG_FORMAT=json`` one JSON object each, with the same fields (python-json-logger's
``JsonFormatter``). A filter replaces any secret value (tokens, the API key, the Redis
URL) wherever it appears, including in exception text and tracebacks, before either
format sees the line.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pythonjsonlogger.core import merge_record_extra
from pythonjsonlogger.json import JsonFormatter

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context")

CONTEXT_FIELDS = ("process", "team", "channel", "thread", "user", "agent", "run", "event")
# Attributes every LogRecord has; anything else passed via ``extra=`` is printed.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}
REDACTED = "[redacted]"


def bind(**fields: str | None) -> contextvars.Token[dict[str, str]]:
    """Add fields to the log context of the current task (and tasks it starts)."""
    current = dict(_context.get({}))
    current.update({k: v for k, v in fields.items() if v})
    return _context.set(current)


@contextmanager
def context(**fields: str | None) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, str]:
    return dict(_context.get({}))


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\n'):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def _timestamp(record: logging.LogRecord) -> str:
    """When the record was made, in UTC to the millisecond: 2026-01-31T12:00:00.123Z."""
    import time

    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"ts={_timestamp(record)}",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={_quote(record.getMessage())}",
        ]
        ctx = getattr(record, "ctx", None) or {}
        for name in CONTEXT_FIELDS:
            if name in ctx:
                parts.append(f"{name}={_quote(ctx[name])}")
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "ctx" and not key.startswith("_"):
                parts.append(f"{key}={_quote(value)}")
        # (``exc_text``: the traceback the redaction filter rendered, redacted.)
        exc = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        if exc:
            parts.append(f"exc={_quote(exc)}")
        return " ".join(parts)


class JsonLinesFormatter(JsonFormatter):
    """One JSON object a line, with the fields of ``KeyValueFormatter``'s lines in the same
    order: ts, level, logger, msg, the context fields, the ``extra=`` fields, and ``exc``
    (the traceback) when there is one. python-json-logger extracts the extras and the
    exception and encodes the values (``JsonEncoder``: dates, enums, exceptions)."""

    def __init__(self) -> None:
        super().__init__(reserved_attrs=sorted(_STANDARD | {"ctx"}), json_ensure_ascii=False)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["ts"] = _timestamp(record)
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["msg"] = record.message
        ctx = getattr(record, "ctx", None) or {}
        log_data.update((name, ctx[name]) for name in CONTEXT_FIELDS if name in ctx)
        merge_record_extra(record, log_data, reserved=self._skip_fields)
        # A dict logged as the message: its keys are fields too.
        log_data.update(
            (k, v) for k, v in message_dict.items() if k not in ("exc_info", "stack_info")
        )
        if message_dict.get("exc_info"):
            log_data["exc"] = message_dict["exc_info"]
        if message_dict.get("stack_info"):
            log_data["stack"] = message_dict["stack_info"]


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.ctx = current_context()
        return True


class DropKnownNoise(logging.Filter):
    """Drop warnings that are expected here and would only alarm an operator."""

    # Bolt reads SLACK_BOT_TOKEN from the environment itself and warns that the client we
    # pass wins over it; it does, on purpose (the client carries SLACK_API_URL and retries).
    _NOISE = ("As you gave `client` as well, `token` will be unused.",)

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self._NOISE


class RedactFilter(logging.Filter):
    """Replace every known secret in the record's message, arguments and extras."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Short values would redact innocent text; real tokens are long.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _clean_value(self, value: Any) -> Any:
        """An ``extra=`` value, its text redacted: containers keep their shape (the JSON
        format writes them as they are), any other object becomes its redacted text."""
        if isinstance(value, str):
            return self._clean(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, dict):
            return {self._clean(str(k)): self._clean_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._clean_value(v) for v in value]
        return self._clean(str(value))

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and key != "ctx" and not key.startswith("_"):
                setattr(record, key, self._clean_value(value))
        if record.exc_info:
            # Render the traceback now, redacted, so no handler formats the raw one: each
            # format writes ``exc_text`` as its ``exc`` field.
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def configure(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr at ``level``, in ``fmt`` (``text``: key=value pairs; ``json``: one
    JSON object a line), every value in ``secrets`` redacted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLinesFormatter() if fmt == "json" else KeyValueFormatter())
    handler.addFilter(DropKnownNoise())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party loggers are chatty at INFO and can echo request details.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
