"""What the builders share: ``Message``, ``Block``, the small block and element helpers
(they clip text, escape labels and keep ids short) and the fallback and preview texts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.mrkdwn import (
    ELLIPSIS,
    clip_label,
    clip_mrkdwn,
    is_safe_url,
    one_line,
    strip_controls,
)

Block = dict[str, Any]
AlertLevel = Literal["default", "info", "warning", "error", "success"]

# Notification previews stay short even though the fallback may hold 3,000 characters.
_PREVIEW_CHARS = 280

# The Origami web app, the one host a link button built from Origami's data may lead to
# (the ORIGAMI_APP_URL setting; this is its default, for builders not given one).
ORIGAMI_APP_URL = "https://origami.chat"
_APP_URL_RE = re.compile(r"https://(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?/*")
# An https URL in plain ASCII, only the characters RFC 3986 allows (no backslash, which
# browsers read as a slash, and no userinfo: a host must end at its port or path).
_APP_LINK_RE = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?"
    r"(?:[/?#][A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"
)


@dataclass(frozen=True)
class Message:
    """One Slack message: ``text`` is the notification fallback, ``blocks`` what is shown."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


# -- small block helpers ---------------------------------------------------------------------


def plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section_block(text: str, block_id: str | None = None) -> Block:
    shown = clip_mrkdwn(text, limits.MAX_SECTION_TEXT)
    # A section needs text, and Slack counts one of spaces only as none.
    block: Block = {"type": "section", "text": _mrkdwn(shown if shown.strip() else ELLIPSIS)}
    if block_id is not None:
        block["block_id"] = block_id[: limits.MAX_BLOCK_ID]
    return block


def mrkdwn_text(text: str) -> dict[str, Any]:
    """A mrkdwn text object for ``text`` that is ready (escaped, clipped); never blank."""
    return _mrkdwn(text if text.strip() else ELLIPSIS)


def alert_block(text: str, block_id: str, *, level: AlertLevel = "warning") -> Block:
    """An ``alert``: ``text`` is ready mrkdwn."""
    return {
        "type": "alert",
        "block_id": block_id[: limits.MAX_BLOCK_ID],
        "level": level,
        "text": mrkdwn_text(clip_mrkdwn(text, limits.MAX_ALERT_TEXT)),
    }


def context_block(text: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "context",
        "elements": [_mrkdwn(clip_mrkdwn(text, limits.MAX_CONTEXT_TEXT))],
    }
    if block_id is not None:
        block["block_id"] = block_id[: limits.MAX_BLOCK_ID]
    return block


def header_block(raw: str, block_id: str) -> Block:
    return {
        "type": "header",
        "block_id": block_id[: limits.MAX_BLOCK_ID],
        "text": plain_text(clip_label(raw, limits.MAX_HEADER_TEXT)),
    }


def button_element(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
    label_limit: int = limits.MAX_BUTTON_TEXT,
    accessibility_label: str | None = None,
) -> dict[str, Any]:
    """A button; ``label`` is raw text (escaped and clipped here); ``accessibility_label``
    what a screen reader says instead (plain, clipped here)."""
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id[: limits.MAX_ACTION_ID],
        "text": plain_text(clip_label(label, min(label_limit, limits.MAX_BUTTON_TEXT))),
    }
    if value is not None:
        if len(value) > limits.MAX_BUTTON_VALUE:
            raise ValueError("button value too long")
        button["value"] = value
    if url is not None:
        button["url"] = url
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    if accessibility_label is not None and accessibility_label.strip():
        spoken = strip_controls(one_line(accessibility_label))
        button["accessibility_label"] = spoken[: limits.MAX_ACCESSIBILITY_LABEL]
    return button


def link_url(url: str | None) -> str | None:
    """``url`` if it can go on a link button, else None."""
    if url is None:
        return None
    url = url.strip()
    if not url or len(url) > limits.MAX_BUTTON_URL or not is_safe_url(url):
        return None
    if any(char.isspace() for char in url):
        return None
    return url


def app_link_url(url: str | None, app_url: str = ORIGAMI_APP_URL) -> str | None:
    """``url`` if a link button built from Origami's data may lead there: an https URL on
    the Origami app's host and port (those of ``app_url``), else None. What the agent
    writes reaches table URLs; a button to another site must not look like ours."""
    url = link_url(url)
    app = _APP_URL_RE.fullmatch(app_url.strip())
    if url is None or app is None:
        return None
    target = _APP_LINK_RE.fullmatch(url)
    if target is None or target["host"].lower() != app["host"].lower():
        return None
    if int(target["port"] or 443) != int(app["port"] or 443):
        return None
    return url


def actions_blocks(elements: Sequence[dict[str, Any]], block_id: str) -> list[Block]:
    """Actions blocks of at most 25 elements; ids ``block_id``, ``block_id:2``, …"""
    blocks: list[Block] = []
    step = limits.MAX_ACTIONS_ELEMENTS
    for n, start in enumerate(range(0, len(elements), step)):
        suffix = "" if n == 0 else f":{n + 1}"
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{block_id[: limits.MAX_BLOCK_ID - 8]}{suffix}",
                "elements": list(elements[start : start + step]),
            }
        )
    return blocks


# Notification previews show a message's ``text`` as typed: mrkdwn's marks (``*bold*``,
# ``_italic_``, ``~strike~``, `` `code` ``) at the edges of a word would show raw there.
_MARKS_RE = re.compile(r"(?<![\w*_~`])[*_~`]+(?=[^\s*_~`])|(?<=[^\s*_~`])[*_~`]+(?![\w*_~`])")
# ``<url|text>`` links read as their text.
_LINK_RE = re.compile(r"<(?:https?://|mailto:)[^<>|]*\|([^<>]+)>")


def plain_preview(text: str) -> str:
    """``text`` (mrkdwn) as a notification shows it best: marks and link targets removed."""
    return _MARKS_RE.sub("", _LINK_RE.sub(r"\1", text))


def fallback_text(text: str, limit: int = limits.MAX_FALLBACK_TEXT) -> str:
    return clip_mrkdwn(plain_preview(text.strip()), limit) or "Origami"


def preview_text(text: str) -> str:
    """A one-line notification preview."""
    return fallback_text(one_line(text), _PREVIEW_CHARS)


def confirm_dialog(title: str, text: str, yes: str, no: str) -> dict[str, Any]:
    """A button's "are you sure?" before something that cannot be undone (red yes)."""
    return {
        "title": plain_text(title),
        "text": plain_text(text),
        "confirm": plain_text(yes),
        "deny": plain_text(no),
        "style": "danger",
    }


def build_notice_modal(title: str, close: str, text: str, block_id: str) -> dict[str, Any]:
    """A modal that only says something (why nothing changed, what failed): a title, a
    close button and one section."""
    return {
        "type": "modal",
        "title": plain_text(title[: limits.MAX_MODAL_TITLE]),
        "close": plain_text(close),
        "blocks": [section_block(text, block_id)],
    }


def stop_button(run_id: str, label: str = texts.STOP) -> dict[str, Any]:
    confirm = confirm_dialog(
        texts.STOP_CONFIRM_TITLE,
        texts.STOP_CONFIRM_TEXT,
        texts.STOP_CONFIRM_YES,
        texts.STOP_CONFIRM_NO,
    )
    return button_element(label, ids.STOP_RUN, value=run_id, style="danger", confirm=confirm)


def note_message(text: str, block_id: str = "note") -> Message:
    return Message(text=fallback_text(text), blocks=[section_block(text, block_id)])
