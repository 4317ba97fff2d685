"""Small pure helpers over Slack payload dicts: ``is_…`` predicates and ``to_…`` extractors.

Listeners use these to turn a Slack payload into the plain values the use cases take.
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain import SlackFile, ThreadRef
from bot.files.limits import MAX_FILES
from bot.tenancy.workspace import Workspace

# Event subtypes that are not a person writing something new.
_IGNORED_SUBTYPES = frozenset(
    {
        "bot_message",
        "message_changed",
        "message_deleted",
        "message_replied",
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "pinned_item",
        "unpinned_item",
        "ekm_access_denied",
        "thread_broadcast_removed",
        "assistant_app_thread",
    }
)
# Subtypes that are still a person's message (file uploads, "also send to channel").
_HUMAN_SUBTYPES = frozenset({"file_share", "thread_broadcast", "me_message"})


def is_human_message(event: dict[str, Any]) -> bool:
    subtype = event.get("subtype")
    if subtype is not None and (subtype in _IGNORED_SUBTYPES or subtype not in _HUMAN_SUBTYPES):
        return False
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    return bool(event.get("user"))


def is_direct_message(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im"


_FILE_ID_RE = re.compile(r"F[A-Z0-9]{2,30}")
_NAME_MAX = 255
_TYPE_MAX = 100
_URL_MAX = 3_000
_SIZE_MAX = 10**12


def _short(value: Any, limit: int) -> str:
    return value if isinstance(value, str) and len(value) <= limit else ""


def to_file(raw: Any) -> SlackFile | None:
    """A file object of an event or of ``files.info``, field by field; None without a file
    id (nothing can be done with it). A Slack Connect file says ``check_file_info``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    if not _FILE_ID_RE.fullmatch(raw["id"]):
        return None
    name = raw.get("name")
    name = "".join(c for c in name if c.isprintable())[:_NAME_MAX] if isinstance(name, str) else ""
    size = raw.get("size")
    return SlackFile(
        id=raw["id"],
        name=name.strip() or "file",
        filetype=_short(raw.get("filetype"), _TYPE_MAX),
        mimetype=_short(raw.get("mimetype"), _TYPE_MAX),
        size=size if type(size) is int and 0 <= size <= _SIZE_MAX else 0,
        url=_short(raw.get("url_private_download"), _URL_MAX)
        or _short(raw.get("url_private"), _URL_MAX),
        needs_info=raw.get("file_access") == "check_file_info",
    )


def to_files(event: dict[str, Any]) -> tuple[SlackFile, ...]:
    """The files of a message, at most one past what a run takes (so that the excess can
    be named), in the order shared; unreadable entries left out, each file once."""
    raw = event.get("files")
    if not isinstance(raw, list):
        return ()
    found: dict[str, SlackFile] = {}
    for item in raw[: 4 * MAX_FILES]:
        parsed = to_file(item)
        if parsed is not None:
            found.setdefault(parsed.id, parsed)
    return tuple(found.values())[: MAX_FILES + 1]


# Slack sends at most a few links a message; past this many in one event they are left.
MAX_LINKS = 5
_LINK_URL_MAX = 2_000


def to_link_urls(event: dict[str, Any]) -> list[str]:
    """The URLs of a ``link_shared`` event, each once, in order, at most ``MAX_LINKS``."""
    links = event.get("links")
    if not isinstance(links, list):
        return []
    urls: dict[str, None] = {}
    for link in links[: 4 * MAX_LINKS]:
        url = link.get("url") if isinstance(link, dict) else None
        if isinstance(url, str) and 0 < len(url) <= _LINK_URL_MAX:
            urls.setdefault(url)
    return list(urls)[:MAX_LINKS]


def mentions(text: str, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in text


def to_prompt_text(text: str, bot_user_id: str | None) -> str:
    """The message text minus mentions of the app (``<@U123>`` or ``<@U123|name>``)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def to_team(body: dict[str, Any]) -> str:
    """The key of the installation the payload is for (``bot.tenancy.workspace``): what
    every Redis key, schedule entry and stored Origami key of a workspace is scoped by."""
    return Workspace.of_body(body).key


def message_identity(event: dict[str, Any]) -> str:
    """What a message event is about, the same for its ``app_mention`` and ``message``
    events and for Slack's retries of either (their event ids differ)."""
    return f"msg:{event['channel']}:{event['ts']}"


def to_event_thread(body: dict[str, Any]) -> ThreadRef:
    event = body["event"]
    return ThreadRef(
        team=to_team(body),
        channel=str(event["channel"]),
        thread_ts=str(event.get("thread_ts") or event["ts"]),
    )


def to_action_thread(body: dict[str, Any]) -> ThreadRef:
    """The thread a clicked message lives in (a top-level card is its own thread)."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    thread_ts = (
        message.get("thread_ts")
        or container.get("thread_ts")
        or message.get("ts")
        or container.get("message_ts")
    )
    return ThreadRef(team=to_team(body), channel=str(channel), thread_ts=str(thread_ts))


def to_action_message_ts(body: dict[str, Any]) -> str:
    container = body.get("container") or {}
    message = body.get("message") or {}
    return str(message.get("ts") or container.get("message_ts") or "")


def to_user(body: dict[str, Any]) -> str:
    user = body.get("user") or {}
    if isinstance(user, dict):
        return str(user.get("id", ""))
    return str(user)


_USER_ID_RE = re.compile(r"[UW][A-Z0-9]{1,32}")


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and _USER_ID_RE.fullmatch(value) is not None


_TEAM_ID_RE = re.compile(r"T[A-Z0-9]{1,32}")


def is_team_id(value: object) -> bool:
    return isinstance(value, str) and _TEAM_ID_RE.fullmatch(value) is not None
