"""Links and mentions: the only ``<…>`` sequences in our output, built here on purpose."""

from __future__ import annotations

import re
from urllib.parse import quote

from bot.slack.mrkdwn.escaping import escape, one_line

_SAFE_URL_RE = re.compile(r"(?i)(?:https?://[^\s/?#<>|]+|mailto:[^\s<>|]+)")
_USER_ID_RE = re.compile(r"[UWB][A-Z0-9]{2,40}")


def is_safe_url(url: str) -> bool:
    """True for an http(s) URL with a host, or a mailto: address."""
    return _SAFE_URL_RE.match(url.strip()) is not None


def _encode_url(url: str) -> str:
    # Slack ends a link at '|' or '>' and breaks it at whitespace: percent-encode those,
    # then escape '&' as Slack wants inside a link.
    encoded = "".join(
        quote(char, safe="") if char in '|<>"' or char.isspace() or ord(char) < 32 else char
        for char in url.strip()
    )
    return encoded.replace("&", "&amp;")


def link(url: str, text: str = "") -> str:
    """A Slack link ``<url|text>``; just the escaped text when the URL is not http(s)/mailto."""
    label = escape(one_line(text))
    if not is_safe_url(url):
        return label or escape(one_line(url))
    target = _encode_url(url)
    if not label or one_line(text) == url.strip():
        return f"<{target}>"
    return f"<{target}|{label}>"


def mention(user_id: str) -> str:
    """``<@U…>`` for a Slack user id; anything else is shown as escaped text, not parsed."""
    if _USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)
