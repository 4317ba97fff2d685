"""Properties of ``POST /slack/events`` over generated requests (hypothesis), in-process:

- anything unsigned (random bodies, random, missing or garbled headers, random content
  types, timestamps and signatures) gets a 4xx;
- a body Slack's signature covers but that is garbage (random bytes, text, JSON that is
  no object, form fields) never gets a 5xx;
- no request body text reaches the logs, at any level.

Bounded: a few hundred examples, no example database, a few seconds in all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from unittest.mock import MagicMock
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import create_app
from bot.slack.web import create_web_app
from tests.fakes.signing import compute_signature, signed_headers
from tests.fakes.slack import FakeSlack

SECRET = "properties-signing-secret-0123456789abcdef"
# In every generated body, and nowhere else: seen in a log line, a body was logged.
MARKER = "QX7-BODY-MARKER-Z9"

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class _Probes:
    async def ping(self) -> bool:
        return True

    async def live_workers(self) -> int:
        return 1


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.lines.append(" ".join(f"{k}={v}" for k, v in vars(record).items()))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Target:
    runner: asyncio.Runner
    http: httpx.AsyncClient
    records: _Records

    def post(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> httpx.Response:
        self.records.lines.clear()
        return self.runner.run(self.http.post("/slack/events", content=body, headers=headers))


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """The app (``create_app``, ``create_web_app``) against a fake Slack, in one event
    loop for the module; every log record, down to DEBUG, in ``records``."""
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)  # before the app is built: Bolt's loggers copy it
    root.addHandler(records)
    with asyncio.Runner() as runner:
        slack = FakeSlack()
        runner.run(slack.start())
        app = create_app(
            client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url),
            signing_secret=SECRET,
            conversations=MagicMock(),
        )
        web = create_web_app(app, _Probes(), _Probes(), role="web")
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t")
        try:
            yield Target(runner, http, records)
        finally:
            runner.run(http.aclose())
            runner.run(slack.stop())
            root.removeHandler(records)
            root.setLevel(old_level)


# -- what is generated ---------------------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _with_marker(core: bytes, where: int) -> bytes:
    at = where % (len(core) + 1)
    return core[:at] + MARKER.encode() + core[at:]


_raw_bodies = st.builds(_with_marker, st.binary(max_size=512), st.integers(0, 512))
_text_bodies = st.builds(
    lambda text, where: _with_marker(text.encode("utf-8", "surrogatepass"), where),
    st.text(max_size=256),
    st.integers(0, 256),
)
_json_bodies = st.builds(
    lambda value: json.dumps({"type": "event_callback", "x": value, "m": MARKER}).encode(),
    _json_values,
)
_form_bodies = st.builds(
    lambda fields: urlencode({**fields, "m": MARKER}).encode(),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5),
)
_payload_bodies = st.builds(
    lambda text: ("payload=" + quote(text) + quote(MARKER)).encode(),
    st.text(max_size=200),
)
_bodies = _raw_bodies | _text_bodies | _json_bodies | _form_bodies | _payload_bodies

# Garbage Slack's signature would cover: no JSON object, or none Bolt can read.
_garbage_bodies = (
    _raw_bodies
    | _text_bodies
    | _payload_bodies
    | st.builds(lambda v: json.dumps([v, MARKER]).encode(), _json_values)
)

_content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
) | st.text(max_size=30)


def _now() -> int:
    return int(time.time())


_timestamps = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.integers(-(10**12), 10**13).map(str),
    st.integers(-3600, 3600).map(lambda delta: str(_now() + delta)),
    st.sampled_from(["", " ", "1e9", "0x10", "١٢٣", "9" * 5000, "-1", "+1700000000"]),
)
_signatures = st.one_of(
    st.none(),
    st.text(max_size=80),
    st.binary(min_size=32, max_size=32).map(lambda b: "v0=" + b.hex()),
    st.sampled_from(["", "v0=", "v1=" + "0" * 64, "v0=" + "g" * 64]),
)
# Header values as bytes: anything but the CR, LF and NUL that no server passes on.
_header_values = st.binary(max_size=40).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)
_header_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=20
).filter(lambda name: name not in ("content-length", "transfer-encoding", "host"))
_extra_headers = st.lists(st.tuples(_header_names, _header_values), max_size=4)
_content_lengths = (
    st.none()
    | st.text(max_size=12)
    | st.integers(-5, 3 * 1024 * 1024).map(str)
    | st.integers(0, 10**80).map(str)
    | st.just("9" * 5000)
)


def _header(name: str, value: str | bytes) -> tuple[bytes, bytes]:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return name.encode(), raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")


def _headers(
    content_type: str | None,
    timestamp: str | None,
    signature: str | None,
    extra: list[tuple[str, bytes]],
    content_length: str | None = None,
) -> list[tuple[bytes, bytes]]:
    headers = [_header(name, value) for name, value in extra]
    if content_type is not None:
        headers.append(_header("content-type", content_type))
    if timestamp is not None:
        headers.append(_header("x-slack-request-timestamp", timestamp))
    if signature is not None:
        headers.append(_header("x-slack-signature", signature))
    if content_length is not None:
        headers.append(_header("content-length", content_length))
    return headers


def _assert_no_body_in_logs(target: Target) -> None:
    text = target.records.text()
    assert MARKER not in text
    assert "Traceback" not in text


# -- the properties ------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    body=_bodies,
    content_type=_content_types,
    timestamp=_timestamps,
    signature=_signatures,
    extra=_extra_headers,
    content_length=_content_lengths,
)
def test_an_unsigned_request_gets_a_4xx_and_its_body_is_not_logged(
    target: Target,
    body: bytes,
    content_type: str | None,
    timestamp: str | None,
    signature: str | None,
    extra: list[tuple[str, bytes]],
    content_length: str | None,
) -> None:
    response = target.post(
        body, _headers(content_type, timestamp, signature, extra, content_length)
    )
    assert 400 <= response.status_code < 500, response.status_code
    _assert_no_body_in_logs(target)


@PROPERTY_SETTINGS
@given(
    body=_bodies,
    content_type=_content_types,
    age=st.integers(-3600, 3600),
    how=st.sampled_from(["another body", "another secret", "another timestamp", "truncated"]),
    extra=_extra_headers,
)
def test_a_signature_that_does_not_match_gets_a_401(
    target: Target,
    body: bytes,
    content_type: str | None,
    age: int,
    how: str,
    extra: list[tuple[str, bytes]],
) -> None:
    timestamp = str(_now() - age)
    if how == "another body":
        signature = compute_signature(SECRET, timestamp, body + b"x")
    elif how == "another secret":
        signature = compute_signature(SECRET + "x", timestamp, body)
    elif how == "another timestamp":
        signature = compute_signature(SECRET, str(int(timestamp) + 1), body)
    else:
        signature = compute_signature(SECRET, timestamp, body)[:-1]
    response = target.post(body, _headers(content_type, timestamp, signature, extra))
    assert response.status_code == 401
    _assert_no_body_in_logs(target)


@PROPERTY_SETTINGS
@given(body=_garbage_bodies, content_type=_content_types, extra=_extra_headers)
def test_a_signed_garbage_body_never_gets_a_5xx(
    target: Target, body: bytes, content_type: str | None, extra: list[tuple[str, bytes]]
) -> None:
    signed = signed_headers(SECRET, body)
    headers = _headers(
        content_type,
        signed["X-Slack-Request-Timestamp"],
        signed["X-Slack-Signature"],
        extra,
    )
    response = target.post(body, headers)
    assert response.status_code < 500, response.status_code
    _assert_no_body_in_logs(target)
