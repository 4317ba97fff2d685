"""What the Origami client speaks: Idempotency-Keys, prompt lengths as Origami counts
them, Retry-After, and the HTTP client the production app uses (tests pass their own)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import httpx

from bot.origami import errors
from bot.origami.transport import AiohttpTransport

# The spec's ``RunId`` (``^[A-Za-z0-9_\-]{1,128}$``): opaque text like ``v2_run-…``, not a
# uuid; ':' never occurs, so button values use it as a separator.
RUN_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

# Origami's limit on a prompt, counted as its server counts: in UTF-16 code units (see
# utf16_len), not Python characters.
PROMPT_MAX_CHARS = 10_000
# Idempotency-Key: 1-255 printable ASCII (the spec's pattern is ^[\x21-\x7e]{1,255}$).
_KEY_MAX = 255


def idempotency_key(*parts: str) -> str:
    """A stable Idempotency-Key from the parts of a cause (event id, attempt, ...).

    Readable when short enough; hashed when the parts would break the 255-char rule or
    contain characters outside printable ASCII.
    """
    raw = ":".join(parts)
    if 0 < len(raw) <= _KEY_MAX and all(0x21 <= ord(c) <= 0x7E for c in raw):
        return raw
    return "sha256-" + hashlib.sha256(raw.encode()).hexdigest()


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, as Origami (a TypeScript server,
    ``String.length``) counts it: a character outside the Basic Multilingual Plane (most
    emoji, some CJK) counts twice. A lone surrogate counts once, as it would there."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip_utf16(text: str, units: int) -> str:
    """``text`` cut to at most ``units`` UTF-16 code units (Origami's length), never in the
    middle of a character."""
    if utf16_len(text) <= units:
        return text
    out, used = [], 0
    for ch in text:
        used += utf16_len(ch)
        if used > units:
            break
        out.append(ch)
    return "".join(out)


def check_prompt(prompt: str) -> str:
    text = prompt.strip()
    if not text:
        raise errors.PromptError("The prompt is empty.", 0)
    length = utf16_len(text)
    if length > PROMPT_MAX_CHARS:
        raise errors.PromptError(
            f"The prompt is {length:,} characters long as Origami counts them (an emoji "
            f"counts as two); Origami takes at most {PROMPT_MAX_CHARS:,}.",
            length,
        )
    return text


class _NoCookies(httpx.Cookies):
    """Origami's API sets no cookies, yet httpx's jar builds urllib request and response
    objects for every response to look for them. Kept, though it overrides httpx's private
    cookie handling (no public switch exists), because it is measurable where polls are
    many: 48 µs of a 410 µs poll (bench/client_overhead.py), and 6 % of the worker's CPU
    holding 1,000 runs at one poll a second (the capacity bench's profile, 2026-12-01)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _CookielessClient(httpx.AsyncClient):
    _no_cookies: httpx.Cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None  # nothing to keep: see _NoCookies


def build_http_client(
    base_url: str,
    api_key: str | None,
    *,
    timeout: float = 20.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    # Few connections serve many polls (each takes milliseconds); see transport.py for
    # why the transport is aiohttp's.
    limits = httpx.Limits(max_connections=24, max_keepalive_connections=24, keepalive_expiry=30)
    # No key (many workspaces): each request carries its workspace's (OrigamiClient.bound).
    auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return _CookielessClient(
        base_url=base_url.rstrip("/") + "/",
        headers={
            **auth,
            "Accept": "application/json",
            "User-Agent": "origami-slack/0.1",
        },
        timeout=httpx.Timeout(timeout, connect=5.0),
        limits=limits,
        transport=transport or AiohttpTransport(max_connections=24, keepalive_s=30),
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0)
