"""Links and mentions: the only ``<…>`` sequences in our output, built here on purpose.

A link's text is the agent's to choose, so it could claim one site and lead to another
(``[bank.com](https://evil.example)``). When the text names a host that is not the link's,
the real target is shown next to it.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlsplit

from bot.slack.mrkdwn.escaping import escape, one_line, strip_controls

_SAFE_URL_RE = re.compile(r"(?i)(?:https?://[^\s/?#<>|]+|mailto:[^\s<>|]+)")
_USER_ID_RE = re.compile(r"[UWB][A-Z0-9]{2,40}")

# What a link's text is read as when looking for a host it claims: words split at spaces
# and punctuation that cannot be part of a URL's host, a scheme dropped.
_WORD_SPLIT_RE = re.compile(r"[\s<>()\[\]{}\"'`,;!?*~|^\\]+")
_SCHEME_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^mailto:")
# A host name: labels of letters, digits and hyphens, and a top-level label of letters.
_HOST_RE = re.compile(r"(?:[^\W_][\w-]*\.)+[^\W\d_]{2,}")
# Dots that IDNA reads as dots (ideographic, fullwidth, halfwidth ideographic).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


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


def _ascii_host(host: str) -> str:
    host = host.lower().strip(".").removeprefix("www.")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _claimed_hosts(text: str) -> set[str]:
    """The host names ``text`` mentions (``bank.com``, ``https://bank.com/x``,
    ``me@bank.com``), as they would be read: format characters (zero-width and the like)
    dropped and lookalike dots made dots."""
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    hosts: set[str] = set()
    for word in _WORD_SPLIT_RE.split(text.lower()):
        word = _SCHEME_RE.sub("", word)
        word = re.split(r"[/?#]", word, maxsplit=1)[0].rsplit("@", 1)[-1].split(":")[0]
        word = word.strip(".")
        if _HOST_RE.fullmatch(word):
            hosts.add(_ascii_host(word))
    return hosts


def _target_host(url: str) -> str | None:
    url = url.strip()
    if url[:7].lower() == "mailto:":
        host = re.split(r"[?#]", url[7:], maxsplit=1)[0].rsplit("@", 1)[-1]
    else:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None
    return _ascii_host(host) if host else None


def misleads(text: str, url: str) -> bool:
    """Whether ``text``, shown as a link to ``url``, names a host that ``url`` is not on
    (``url`` on a subdomain of a named host is fine: ``example.com`` for
    ``docs.example.com``)."""
    claimed = _claimed_hosts(text)
    if not claimed:
        return False
    target = _target_host(url)
    if target is None:
        return True
    return any(host != target and not target.endswith("." + host) for host in claimed)


def link(url: str, text: str = "") -> str:
    """A Slack link ``<url|text>``; just the escaped text when the URL is not http(s)/mailto.

    When ``text`` names another host than the URL's, the URL is shown after it:
    ``bank.com (<https://evil.example>)``.
    """
    url = strip_controls(url)
    label = escape(one_line(text))
    if not is_safe_url(url):
        return label or escape(one_line(url))
    target = _encode_url(url)
    if not label or one_line(strip_controls(text)) == url.strip():
        return f"<{target}>"
    if misleads(text, url):
        return f"{label} (<{target}>)"
    return f"<{target}|{label}>"


def mention(user_id: str) -> str:
    """``<@U…>`` for a Slack user id; anything else is shown as escaped text, not parsed."""
    if _USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)
