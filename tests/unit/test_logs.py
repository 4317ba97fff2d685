"""Structured log lines with context; secrets never logged."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import logs

SECRETS = ["xoxb-1234567890-secret-token", "og_live_" + "k" * 40]


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    logs.configure("INFO", SECRETS)
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = old_handlers
        root.setLevel(old_level)


def test_one_line_with_context(captured: io.StringIO) -> None:
    with logs.context(team="T1", channel="C1", thread="1.0", agent="a-1", run="r-1"):
        logging.getLogger("bot.test").info("run delivered", extra={"status": "completed"})
    line = captured.getvalue().strip()
    assert "\n" not in line
    for part in (
        "level=info",
        'msg="run delivered"',
        "team=T1",
        "channel=C1",
        "thread=1.0",
        "agent=a-1",
        "run=r-1",
        "status=completed",
    ):
        assert part in line


def test_secrets_are_redacted_everywhere(captured: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("token is %s", SECRETS[0])
    log.warning("call failed", extra={"header": f"Bearer {SECRETS[1]}"})
    try:
        raise RuntimeError(f"bad key {SECRETS[1]}")
    except RuntimeError:
        log.exception("boom")
    out = captured.getvalue()
    for secret in SECRETS:
        assert secret not in out
    assert out.count(logs.REDACTED) >= 3
