"""LOG_FORMAT: text (key=value pairs) or json (one JSON object a line), with the same
fields, and secrets redacted in both."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import logs
from bot.config import LogFormat, SettingsProblem, load_settings

SECRETS = [
    "xoxb-1234567890-secret-token",
    "og_live_" + "k" * 40,
    "redis://:hunter2hunter2@r:6379/0",
]
BASE = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_SIGNING_SECRET": "s" * 20,
    "ORIGAMI_API_KEY": "og_live_k",
}

Configure = Callable[[str], io.StringIO]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """Logging configured as the app does, in a format, into a stream of the test's."""
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level

    def to_stream(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        logs.configure("INFO", SECRETS, fmt)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        return stream

    try:
        yield to_stream
    finally:
        root.handlers[:] = old_handlers
        root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_context_and_the_extras(configure: Configure) -> None:
    stream = configure("json")
    with logs.context(process="worker-7", team="T1", channel="C1", thread="1.0"):
        with logs.context(agent="a-1", run="r-1", user="U1", event="Ev1"):
            logging.getLogger("bot.test").info(
                "run delivered", extra={"status": "completed", "parts": 3, "took_s": 0.25}
            )
        logging.getLogger("bot.other").warning("second %s", "line")
    first, second = lines(stream)
    assert first["msg"] == "run delivered"
    assert first["level"] == "info"
    assert first["logger"] == "bot.test"
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    for name, value in {
        "process": "worker-7",
        "team": "T1",
        "channel": "C1",
        "thread": "1.0",
        "agent": "a-1",
        "run": "r-1",
        "user": "U1",
        "event": "Ev1",
    }.items():
        assert first[name] == value, name
    assert (first["status"], first["parts"], first["took_s"]) == ("completed", 3, 0.25)
    # Nothing of the record's own attributes, and the context's carrier, leak in.
    assert not {"ctx", "args", "pathname", "lineno", "msecs", "exc_info"} & set(first)
    assert second["msg"] == "second line" and second["level"] == "warning"
    assert "agent" not in second and second["team"] == "T1"


def test_the_two_formats_carry_the_same_fields(configure: Configure) -> None:
    def emit() -> None:
        with logs.context(team="T1", channel="C1", thread="1.0", run="r-1"):
            logging.getLogger("bot.test").info("poll failed", extra={"error": "ServerError"})

    text = configure("text")
    emit()
    js = configure("json")
    emit()
    (line,) = lines(js)
    pairs = dict(part.split("=", 1) for part in text.getvalue().split() if "=" in part)
    assert set(pairs) - {"msg"} <= set(line) and "msg" in line
    assert list(line) == [
        "ts",
        "level",
        "logger",
        "msg",
        "team",
        "channel",
        "thread",
        "run",
        "error",
    ]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_secret_never_appears_in_either_format(configure: Configure, fmt: str) -> None:
    stream = configure(fmt)
    log = logging.getLogger("bot.test")
    log.info("token is %s", SECRETS[0])
    log.warning(
        "call failed", extra={"header": f"Bearer {SECRETS[1]}", "nested": {"url": SECRETS[2]}}
    )
    log.warning("as an object", extra={"error": RuntimeError(f"failed with {SECRETS[0]}")})
    try:
        raise RuntimeError(f"bad key {SECRETS[1]} at {SECRETS[2]}")
    except RuntimeError:
        log.exception("boom")
    log.info("where", stack_info=True, extra={"url": SECRETS[2]})
    out = stream.getvalue()
    for secret in SECRETS:
        assert secret not in out
        assert json.dumps(secret)[1:-1] not in out  # nor JSON-escaped
    assert out.count(logs.REDACTED) >= 7
    assert len(out.splitlines()) == 5  # one line each, tracebacks included


def test_an_exception_is_a_field_of_its_line_in_json(configure: Configure) -> None:
    stream = configure("json")
    try:
        raise ValueError(f"bad key {SECRETS[1]}")
    except ValueError:
        logging.getLogger("bot.test").exception("boom")
    (line,) = lines(stream)
    assert line["msg"] == "boom"
    assert line["exc"].startswith("Traceback") and "ValueError: bad key [redacted]" in line["exc"]


def test_text_lines_keep_their_shape(configure: Configure) -> None:
    stream = configure("text")
    try:
        raise ValueError("nope")
    except ValueError:
        logging.getLogger("bot.test").exception("boom")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("ts=") and " level=error logger=bot.test msg=boom exc=" in line


def test_log_format_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert load_settings(_env_file=None, **BASE).log_format is LogFormat.TEXT
    assert load_settings(_env_file=None, **BASE, LOG_FORMAT="JSON").log_format is LogFormat.JSON
    assert load_settings(_env_file=None, **BASE, LOG_FORMAT=" ").log_format is LogFormat.TEXT
    with pytest.raises(SettingsProblem, match="LOG_FORMAT"):
        load_settings(_env_file=None, **BASE, LOG_FORMAT="xml")
