"""Structured logging: one line per event, with the conversation's context, no secrets.

Context (team, channel, thread, agent, run) is carried in a ``contextvars`` variable so a
listener sets it once and every line logged below it, in the same task, carries it. Lines
are ``key=value`` pairs (easy to grep, parsed by every log shipper). A filter replaces any
secret value (tokens, the API key, the Redis URL) wherever it appears, including in
exception text and tracebacks.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

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


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.msecs):03d}Z",
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
        if record.exc_info:
            parts.append(f"exc={_quote(self.formatException(record.exc_info))}")
        return " ".join(parts)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        import time

        return time.strftime(datefmt or "%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))


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

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self._clean(value))
        if record.exc_info:
            # Render the traceback now, redacted, so no handler formats the raw one.
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg}\n{record.exc_text}"
            record.exc_text = None
        return True


def configure(level: str, secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(DropKnownNoise())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party loggers are chatty at INFO and can echo request details.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
