"""``POST /slack/events`` before Bolt sees anything: the body is capped before it is read,
the signature checked before it is parsed, nothing unsigned or malformed gets a 5xx, no
request body reaches the logs; and a signed request no listener wants is acked with 200
(Slack retries anything else)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from unittest.mock import MagicMock
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot.slack.app import create_app
from bot.slack.web import MAX_BODY_BYTES, create_web_app
from tests.fakes import payloads
from tests.fakes.signing import compute_signature, signed_headers, stale_timestamp
from tests.fakes.slack import FakeSlack

SECRET = "events-signing-secret-0123456789abcdef"
# Text that must never show up in a log line: it is only ever in request bodies.
MARKER = "BODY-MARKER-7f3a9c"


class _Probes:
    async def ping(self) -> bool:
        return True

    async def live_workers(self) -> int:
        return 1


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def web(slack: FakeSlack, logged: pytest.LogCaptureFixture) -> Starlette:
    # Built under ``logged``: Bolt's loggers copy the root's level when they are made.
    app = create_app(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SECRET,
        conversations=MagicMock(),
    )
    return create_web_app(app, _Probes(), _Probes(), role="web")


@pytest.fixture
async def http(web: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, down to DEBUG."""
    loggers = [
        logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
        and name.startswith(("slack_bolt", "slack_sdk", "bot"))
    ]
    levels = [logger.level for logger in loggers]
    with caplog.at_level(logging.DEBUG):
        for logger in loggers:
            logger.setLevel(logging.NOTSET)
        try:
            yield caplog
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _text_of(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(" ".join(f"{k}={v}" for k, v in vars(record).items()))
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def _event(event: Mapping[str, Any]) -> bytes:
    return payloads.to_event_body(payloads.events_api(dict(event)))


def _interactive(payload: Mapping[str, Any]) -> bytes:
    return payloads.to_interactive_body(payload)


async def _post(
    http: httpx.AsyncClient, body: bytes | Any, headers: Mapping[str, Any] | None = None
) -> httpx.Response:
    return await http.post("/slack/events", content=body, headers=dict(headers or {}))


class _Stream:
    """A request body sent in chunks, counting how many the server pulled."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk, self.count, self.pulled = chunk, count, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


# -- the size cap ------------------------------------------------------------------------


async def test_a_content_length_over_the_cap_is_refused_before_the_body_is_read(
    http: httpx.AsyncClient,
) -> None:
    stream = _Stream(b"x" * 1024 * 1024, 10)
    headers = {
        "Content-Length": str(10 * 1024 * 1024),
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    response = await _post(http, stream, headers)
    assert response.status_code == 413
    assert stream.pulled == 0


@pytest.mark.parametrize(
    ("length", "status"),
    [("9" * 5000, 413), (str(MAX_BODY_BYTES + 1), 413), ("ten", 400), ("-1", 400), ("", 400)],
)
async def test_a_content_length_that_is_too_large_or_no_number_is_refused(
    http: httpx.AsyncClient, length: str, status: int
) -> None:
    stream = _Stream(b"{}", 1)
    headers = {"Content-Length": length, "Content-Type": "application/json"}
    response = await _post(http, stream, headers)
    assert response.status_code == status
    assert stream.pulled == 0


async def test_a_streamed_body_is_cut_off_once_it_passes_the_cap(
    http: httpx.AsyncClient,
) -> None:
    chunk = b"y" * 64 * 1024
    stream = _Stream(chunk, 10 * 1024 * 1024 // len(chunk))  # 10 MiB, no Content-Length
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    response = await _post(http, stream, headers)
    assert response.status_code == 413
    # It stopped at the first chunk past the cap, not at the end of the body.
    assert stream.pulled * len(chunk) <= MAX_BODY_BYTES + len(chunk)


async def test_a_signed_body_right_at_the_cap_is_served(http: httpx.AsyncClient) -> None:
    envelope = payloads.url_verification("challenge-at-the-cap")
    base = json.dumps({**envelope, "padding": ""}).encode()
    body = json.dumps({**envelope, "padding": "p" * (MAX_BODY_BYTES - len(base))}).encode()
    assert len(body) == MAX_BODY_BYTES
    response = await _post(http, body, signed_headers(SECRET, body))
    assert response.status_code == 200
    assert response.json() == {"challenge": "challenge-at-the-cap"}
    over = body[:-1] + b" }"
    response = await _post(http, over, signed_headers(SECRET, over))
    assert response.status_code == 413


# -- the signature -------------------------------------------------------------------------


def _unsigned_cases() -> dict[str, tuple[bytes, dict[str, Any]]]:
    body = _event(payloads.app_mention(f"hello {MARKER}"))
    now = str(int(time.time()))
    good = signed_headers(SECRET, body)
    json_type = {"Content-Type": "application/json"}
    return {
        "no headers": (body, json_type),
        "no timestamp": (body, {**json_type, "X-Slack-Signature": good["X-Slack-Signature"]}),
        "no signature": (body, {**json_type, "X-Slack-Request-Timestamp": now}),
        "non-numeric timestamp": (
            body,
            {**json_type, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
        ),
        "empty timestamp": (
            body,
            {**json_type, "X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=00"},
        ),
        "huge timestamp": (
            body,
            {**json_type, "X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=0"},
        ),
        "stale timestamp": (body, signed_headers(SECRET, body, timestamp=stale_timestamp())),
        "future timestamp": (
            body,
            signed_headers(SECRET, body, timestamp=int(time.time()) + 600),
        ),
        "wrong secret": (body, signed_headers("another-secret-0123456789", body)),
        "signature of another body": (body, signed_headers(SECRET, body + b" ")),
        "garbage signature": (
            body,
            {**json_type, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "hello"},
        ),
        "non-ASCII signature": (
            body,
            {
                **json_type,
                "X-Slack-Request-Timestamp": now,
                "X-Slack-Signature": "v0=é".encode("latin-1"),
            },
        ),
        "not UTF-8": (
            b"\xff\xfe" + MARKER.encode(),
            {
                **json_type,
                "X-Slack-Request-Timestamp": now,
                "X-Slack-Signature": compute_signature(SECRET, now, b"\xff\xfe"),
            },
        ),
        "non-JSON body": (f"{{{MARKER}".encode(), json_type),
        "bad form escapes": (f"payload=%7B%ZZ{MARKER}".encode(), {}),
    }


@pytest.mark.parametrize("case", list(_unsigned_cases()))
async def test_an_unsigned_request_is_401_and_its_body_is_not_logged(
    http: httpx.AsyncClient, logged: pytest.LogCaptureFixture, case: str
) -> None:
    body, headers = _unsigned_cases()[case]
    response = await _post(http, body, headers)
    assert response.status_code == 401
    assert MARKER not in _text_of(logged)
    assert "Traceback" not in _text_of(logged)


async def test_an_unsigned_10_mb_body_is_not_logged(
    http: httpx.AsyncClient, logged: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"type": "event_callback", "text": MARKER * 700_000}).encode()
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": "1"}
    response = await _post(http, body, headers)
    assert response.status_code in (401, 413)
    assert MARKER not in _text_of(logged)


# -- signed but malformed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"type": "event_callback", "event": ', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"a string"', "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
        (b"payload=%7B%ZZ", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (
            _interactive({"type": "block_actions", "actions": [], "team": {"id": "T1"}}),
            "application/x-www-form-urlencoded",
        ),
    ],
)
async def test_a_signed_malformed_body_is_400(
    http: httpx.AsyncClient, logged: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    response = await _post(http, body, signed_headers(SECRET, body, content_type=content_type))
    assert response.status_code == 400
    assert "Traceback" not in _text_of(logged)


# -- signed, but nothing listens -----------------------------------------------------------


def _unhandled_cases() -> dict[str, bytes]:
    user = {"id": payloads.USER_ID, "team_id": payloads.TEAM_ID}
    team = {"id": payloads.TEAM_ID}
    return {
        "an event type with no listener": _event(
            {"type": "reaction_added", "user": payloads.USER_ID, "reaction": MARKER}
        ),
        "app_rate_limited": json.dumps(
            {"type": "app_rate_limited", "team_id": payloads.TEAM_ID, "minute_rate_limited": 1}
        ).encode(),
        "a button no listener knows": _interactive(
            payloads.block_actions(payloads.button_action("no_such_button", value=MARKER))
        ),
        "a modal no listener knows": _interactive(
            payloads.view_submission(callback_id="no_such_modal", private_metadata=MARKER)
        ),
        "a closed modal": _interactive(
            {
                "type": "view_closed",
                "team": team,
                "user": user,
                "view": {"callback_id": "no_such_modal", "private_metadata": MARKER},
            }
        ),
        "a global shortcut": _interactive(
            {"type": "shortcut", "team": team, "user": user, "callback_id": MARKER}
        ),
        "a message shortcut": _interactive(
            {"type": "message_action", "team": team, "user": user, "callback_id": MARKER}
        ),
        "a select menu's options": _interactive(
            {
                "type": "block_suggestion",
                "team": team,
                "user": user,
                "action_id": "no_such_menu",
                "block_id": "b",
                "value": MARKER,
            }
        ),
        "a slash command": urlencode(
            {
                "command": "/nothing",
                "text": MARKER,
                "team_id": payloads.TEAM_ID,
                "user_id": payloads.USER_ID,
            }
        ).encode(),
        "an unknown payload type": json.dumps({"type": "not_a_slack_type", "x": MARKER}).encode(),
    }


@pytest.mark.parametrize("case", list(_unhandled_cases()))
async def test_a_signed_request_no_listener_wants_is_acked_with_200(
    http: httpx.AsyncClient, logged: pytest.LogCaptureFixture, case: str
) -> None:
    body = _unhandled_cases()[case]
    response = await _post(http, body, signed_headers(SECRET, body))
    assert response.status_code == 200
    text = _text_of(logged)
    assert MARKER not in text
    assert "Traceback" not in text


async def test_a_signed_url_verification_is_answered(http: httpx.AsyncClient) -> None:
    body = json.dumps(payloads.url_verification("the-challenge")).encode()
    response = await _post(http, body, signed_headers(SECRET, body))
    assert response.status_code == 200
    assert response.json() == {"challenge": "the-challenge"}


def test_serving_slack_without_a_signing_secret_is_refused(slack: FakeSlack) -> None:
    app = create_app(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=None,
        conversations=MagicMock(),
    )
    with pytest.raises(ValueError, match="signing secret"):
        create_web_app(app, _Probes(), _Probes(), role="web")
    # Socket Mode: the port serves the probes only, no secret needed.
    create_web_app(app, _Probes(), _Probes(), role="web", slack_events=False)
