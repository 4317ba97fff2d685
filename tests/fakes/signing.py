"""Sign inbound test requests exactly as Slack signs them.

Slack's v0 scheme: ``X-Slack-Signature: v0=<hex HMAC-SHA256(signing_secret, "v0:{ts}:{body}")>``
with ``X-Slack-Request-Timestamp: {ts}`` (Unix seconds). Verifiers (``slack_sdk.signature
.SignatureVerifier``, Bolt's ``RequestVerification`` middleware) reject a timestamp more than
five minutes away from their clock, so ``stale_timestamp()`` makes a request they must refuse.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_VERSION = "v0"
# SignatureVerifier refuses ``abs(now - ts) > 60 * 5``: exactly 300 s old still passes.
MAX_AGE_S = 5 * 60

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
RETRY_NUM_HEADER = "X-Slack-Retry-Num"
RETRY_REASON_HEADER = "X-Slack-Retry-Reason"

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else body


def compute_signature(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    """``v0=<hex>`` for ``body`` sent at ``timestamp`` (signs the raw bytes, not parsed data)."""
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + _as_bytes(body)
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def stale_timestamp(age_s: int = MAX_AGE_S + 1) -> int:
    """A timestamp ``age_s`` seconds in the past (default: just past the verifier's window)."""
    return int(time.time()) - age_s


def signed_headers(
    signing_secret: str,
    body: bytes | str,
    *,
    timestamp: int | None = None,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with ``body``: content type, timestamp, signature, retries.

    ``timestamp`` defaults to now; pass ``stale_timestamp()`` for a replayed request.
    ``content_type`` defaults to JSON for a body starting with ``{`` (Events API) and
    form-encoded otherwise (interactivity's ``payload=...``, slash commands).
    ``retry_num``/``retry_reason`` are what Slack adds when it redelivers an event that was
    not acknowledged within 3 s (``http_timeout``, ``http_error``, ...).
    """
    raw = _as_bytes(body)
    ts = int(time.time()) if timestamp is None else timestamp
    if content_type is None:
        content_type = JSON_CONTENT_TYPE if raw.lstrip().startswith(b"{") else FORM_CONTENT_TYPE
    headers = {
        "Content-Type": content_type,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: compute_signature(signing_secret, ts, raw),
    }
    if retry_num is not None:
        headers[RETRY_NUM_HEADER] = str(retry_num)
        headers[RETRY_REASON_HEADER] = retry_reason or "http_timeout"
    return headers
