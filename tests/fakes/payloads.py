"""Builders for what Slack sends an app: Events API envelopes, interactivity payloads, and
their wire forms (HTTP body or Socket Mode envelope).

Shapes follow Slack's documented payloads (fields an app may read are all present; a few
cosmetic ones are left out). Defaults match ``FakeSlack``'s workspace, so a payload built
here and a message stored by the fake agree on team, app and bot ids.

Typical use::

    body = to_event_body(events_api(app_mention("find 20 founders")))
    headers = signed_headers(SECRET, body)

    stored = fake.messages(channel)[-1]
    payload = click(stored, "answer_0", channel=channel, trigger_id=fake.issue_trigger_id())
    body = to_interactive_body(payload)
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

JSON = dict[str, Any]

TEAM_ID = "T0001"
TEAM_DOMAIN = "fake"
APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
USER_ID = "U0USER"
USER_NAME = "alice"
CHANNEL_ID = "C0CHAN"
DM_CHANNEL_ID = "D0DM"
# The deprecated verification token Slack still puts in every payload.
VERIFICATION_TOKEN = "fake-verification-token"

_ALNUM = string.ascii_uppercase + string.digits
_last_ts_us = 0


def new_ts() -> str:
    """A message timestamp (``"1700000000.000100"``): wall-clock microseconds, strictly
    increasing within the process, so user messages built here and messages the fake
    stores sort in the order they happened (Slack's ts are unique per channel and
    chronological)."""
    global _last_ts_us
    now_us = time.time_ns() // 1000
    _last_ts_us = max(now_us, _last_ts_us + 1)
    return f"{_last_ts_us // 1_000_000}.{_last_ts_us % 1_000_000:06d}"


def _rand(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def new_event_id() -> str:
    return "Ev" + _rand(10)


def new_trigger_id() -> str:
    """A trigger id in Slack's shape; ``FakeSlack`` only honours ids it issued itself."""
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"


def new_envelope_id() -> str:
    return str(uuid.uuid4())


def new_file_id() -> str:
    return "F" + _rand(10)


def new_response_url(team: str = TEAM_ID) -> str:
    """A placeholder ``response_url`` (not served by the fake)."""
    return f"https://hooks.slack.com/actions/{team}/{secrets.randbelow(10**13)}/{_rand(24)}"


# -- message events ------------------------------------------------------------------------

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def rich_text_blocks(text: str) -> list[JSON]:
    """The ``rich_text`` block Slack attaches to a typed message (mentions become ``user``
    elements, the rest stays text)."""
    elements: list[JSON] = []
    pos = 0
    for m in _MENTION_RE.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos : m.start()]})
        elements.append({"type": "user", "user_id": m.group(1)})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    return [
        {
            "type": "rich_text",
            "block_id": _rand(5),
            "elements": [{"type": "rich_text_section", "elements": elements}],
        }
    ]


def _thread_fields(thread_ts: str | None, parent_user_id: str | None) -> JSON:
    if thread_ts is None:
        return {}
    return {"thread_ts": thread_ts, "parent_user_id": parent_user_id or USER_ID}


def message_event(
    text: str,
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    channel_type: str = "channel",
    team: str = TEAM_ID,
    files: Sequence[JSON] | None = None,
    **extra: Any,
) -> JSON:
    """A person's ``message`` event (channel message; a thread reply when ``thread_ts``).

    With ``files`` it is a ``file_share`` message, as Slack sends an upload with a comment.
    """
    ts = ts or new_ts()
    event: JSON = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": team,
        "blocks": rich_text_blocks(text) if text else [],
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        **_thread_fields(thread_ts, parent_user_id),
    }
    if files:
        event.update(subtype="file_share", files=list(files), upload=False, display_as_bot=False)
    event.update(extra)
    return event


def thread_reply(text: str, *, thread_ts: str, **kwargs: Any) -> JSON:
    """A reply in a thread (no mention needed in this app)."""
    return message_event(text, thread_ts=thread_ts, **kwargs)


def im_message(text: str, *, channel: str = DM_CHANNEL_ID, **kwargs: Any) -> JSON:
    """A direct message to the app (``channel_type: im``, channel id starting with D)."""
    return message_event(text, channel=channel, channel_type="im", **kwargs)


def app_home_opened(
    *, tab: str = "messages", user: str = USER_ID, channel: str = DM_CHANNEL_ID
) -> JSON:
    """A person opened one of the app's tabs (``messages``: its DM, under agent_view)."""
    event: JSON = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": new_ts(),
    }
    if tab == "home":
        event["view"] = {"id": "V" + _rand(10), "type": "home"}
    return event


def agent_session_stopped(
    *,
    thread_ts: str,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    streaming_message_ts: Sequence[str] = (),
) -> JSON:
    """Someone pressed Slack's own Stop on the agent session of ``thread_ts``."""
    return {
        "type": "agent_session_stopped",
        "channel": channel,
        "thread_ts": thread_ts,
        "user": user,
        "streaming_message_ts": list(streaming_message_ts),
        "event_ts": new_ts(),
    }


def app_mention(
    text: str,
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    team: str = TEAM_ID,
    bot_user_id: str = BOT_USER_ID,
) -> JSON:
    """An ``app_mention`` event. ``text`` gets ``<@bot_user_id> `` in front unless it
    already mentions the bot somewhere."""
    if f"<@{bot_user_id}" not in text:
        text = f"<@{bot_user_id}> {text}"
    ts = ts or new_ts()
    return {
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "client_msg_id": str(uuid.uuid4()),
        "team": team,
        "blocks": rich_text_blocks(text),
        "channel": channel,
        "event_ts": ts,
        **_thread_fields(thread_ts, parent_user_id),
    }


def bot_message(
    text: str,
    *,
    channel: str = CHANNEL_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_id: str = BOT_ID,
    user: str = BOT_USER_ID,
    app_id: str = APP_ID,
    team: str = TEAM_ID,
    blocks: Sequence[JSON] | None = None,
    channel_type: str = "channel",
    legacy: bool = False,
) -> JSON:
    """A message posted by an app (this one by default) as the ``message`` event shows it.

    Apps posting with a bot token produce no subtype but ``bot_id``/``bot_profile``;
    ``legacy=True`` gives the old ``subtype: bot_message`` shape (webhooks, integrations),
    which has ``username`` and no ``user``.
    """
    ts = ts or new_ts()
    event: JSON = {
        "type": "message",
        "text": text,
        "ts": ts,
        "bot_id": bot_id,
        "app_id": app_id,
        "team": team,
        "blocks": list(blocks or []),
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = USER_ID
    if legacy:
        event.update(subtype="bot_message", username="integration")
    else:
        event["user"] = user
        event["bot_profile"] = {
            "id": bot_id,
            "app_id": app_id,
            "name": "Origami",
            "team_id": team,
            "deleted": False,
        }
    return event


def message_changed(
    message: JSON,
    *,
    new_text: str | None = None,
    channel: str = CHANNEL_ID,
    previous_message: JSON | None = None,
    channel_type: str = "channel",
) -> JSON:
    """A ``message_changed`` event: ``message`` edited (to ``new_text`` if given).

    The event's own ``ts`` is the time of the edit; the edited message keeps its ``ts``.
    """
    previous = copy.deepcopy(previous_message if previous_message is not None else message)
    previous.pop("channel", None)
    previous.pop("event_ts", None)
    edited = copy.deepcopy(message)
    edited.pop("channel", None)
    edited.pop("event_ts", None)
    edit_ts = new_ts()
    if new_text is not None:
        edited["text"] = new_text
        edited["blocks"] = rich_text_blocks(new_text)
    edited["edited"] = {"user": edited.get("user", USER_ID), "ts": edit_ts}
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": edited,
        "previous_message": previous,
        "channel": channel,
        "hidden": True,
        "ts": edit_ts,
        "event_ts": edit_ts,
        "channel_type": channel_type,
    }


def message_deleted(
    previous_message: JSON, *, channel: str = CHANNEL_ID, channel_type: str = "channel"
) -> JSON:
    """A ``message_deleted`` event for ``previous_message``."""
    previous = copy.deepcopy(previous_message)
    previous.pop("channel", None)
    previous.pop("event_ts", None)
    ts = new_ts()
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": previous["ts"],
        "channel": channel,
        "previous_message": previous,
        "ts": ts,
        "event_ts": ts,
        "channel_type": channel_type,
    }


def channel_join(
    user: str = USER_ID, *, channel: str = CHANNEL_ID, inviter: str | None = None
) -> JSON:
    """The ``channel_join`` message Slack posts when someone (or the app) joins."""
    ts = new_ts()
    event: JSON = {
        "type": "message",
        "subtype": "channel_join",
        "ts": ts,
        "user": user,
        "text": f"<@{user}> has joined the channel",
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event


def file_object(
    name: str = "leads.csv",
    *,
    file_id: str | None = None,
    user: str = USER_ID,
    title: str | None = None,
    mimetype: str = "text/csv",
    filetype: str = "csv",
    size: int = 128,
    team: str = TEAM_ID,
) -> JSON:
    """A file as it appears in a ``file_share`` message's ``files``."""
    file_id = file_id or new_file_id()
    return {
        "id": file_id,
        "created": int(time.time()),
        "timestamp": int(time.time()),
        "name": name,
        "title": title or name,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": filetype.upper(),
        "user": user,
        "user_team": team,
        "size": size,
        "mode": "hosted",
        "is_external": False,
        "is_public": True,
        "url_private": f"https://files.slack.com/files-pri/{team}-{file_id}/{name}",
        "url_private_download": f"https://files.slack.com/files-pri/{team}-{file_id}/download/{name}",
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{user}/{file_id}/{name}",
    }


def events_api(
    event: JSON,
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = BOT_USER_ID,
    authorizations: Sequence[JSON] | None = None,
) -> JSON:
    """The ``event_callback`` envelope around ``event`` (HTTP body or Socket Mode payload).

    Slack redelivers with the same ``event_id``: pass it explicitly to build a retry.
    """
    if event_time is None:
        ts = event.get("event_ts") or event.get("ts")
        event_time = int(float(ts)) if ts else int(time.time())
    if authorizations is None:
        authorizations = [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ]
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time,
        "authorizations": list(authorizations),
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def url_verification(challenge: str | None = None) -> JSON:
    """The one-time handshake Slack sends when the Request URL is configured."""
    return {
        "token": VERIFICATION_TOKEN,
        "challenge": challenge or secrets.token_urlsafe(24),
        "type": "url_verification",
    }


# -- interactivity -------------------------------------------------------------------------


def _user(user: str, user_name: str, team: str) -> JSON:
    return {"id": user, "username": user_name, "name": user_name, "team_id": team}


def button_action(
    action_id: str,
    *,
    value: str | None = None,
    block_id: str | None = None,
    text: str = "Button",
    style: str | None = None,
    action_ts: str | None = None,
) -> JSON:
    """One entry of a ``block_actions`` payload's ``actions`` for a clicked button."""
    action: JSON = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id or _rand(5),
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_ts": action_ts or new_ts(),
    }
    if value is not None:
        action["value"] = value
    if style is not None:
        action["style"] = style
    return action


def block_actions(
    actions: JSON | Sequence[JSON],
    *,
    channel: str = CHANNEL_ID,
    channel_name: str = "general",
    message: Mapping[str, Any] | None = None,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    blocks: Sequence[JSON] | None = None,
    text: str = "",
    user: str = USER_ID,
    user_name: str = USER_NAME,
    team: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    bot_id: str = BOT_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> JSON:
    """A ``block_actions`` payload for a click on a message the app posted.

    Pass ``message`` (e.g. one from ``FakeSlack.messages``) to click a real stored message;
    otherwise one is built from ``message_ts``/``thread_ts``/``blocks``/``text``. A message
    in a thread carries ``thread_ts`` both in ``message`` and in ``container``.
    """
    if isinstance(actions, Mapping):
        actions = [actions]
    if message is not None:
        msg: JSON = copy.deepcopy(dict(message))
        msg.pop("channel", None)
    else:
        msg = {
            "type": "message",
            "user": bot_user_id,
            "bot_id": bot_id,
            "app_id": api_app_id,
            "team": team,
            "ts": message_ts or new_ts(),
            "text": text,
            "blocks": copy.deepcopy(list(blocks or [])),
        }
        if thread_ts is not None:
            msg["thread_ts"] = thread_ts
    container: JSON = {
        "type": "message",
        "message_ts": msg["ts"],
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if msg.get("thread_ts"):
        container["thread_ts"] = msg["thread_ts"]
    return {
        "type": "block_actions",
        "user": _user(user, user_name, team),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel_name},
        "message": msg,
        "state": {"values": {}},
        "response_url": response_url or new_response_url(team),
        "actions": [dict(a) for a in actions],
    }


def _interactive_elements(blocks: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, JSON]]:
    """(block_id, element) of every clickable element: in actions, context_actions and
    section blocks, and on cards (alone or in a carousel, whose card carries the block_id
    Slack sends)."""
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "carousel":
            yield from _interactive_elements(block.get("elements") or [])
            continue
        for element in [*(block.get("elements") or []), *(block.get("actions") or [])]:
            if isinstance(element, Mapping) and "action_id" in element:
                yield block_id, dict(element)
        accessory = block.get("accessory")
        if isinstance(accessory, Mapping) and "action_id" in accessory:
            yield block_id, dict(accessory)


def action_ids(message: Mapping[str, Any]) -> list[str]:
    """The action ids of a stored message's clickable elements."""
    return [str(e["action_id"]) for _, e in _interactive_elements(message.get("blocks") or [])]


def click(
    message: Mapping[str, Any],
    action_id: str,
    *,
    channel: str = CHANNEL_ID,
    value: str | None = None,
    **kwargs: Any,
) -> JSON:
    """``block_actions`` for clicking the button ``action_id`` on a stored ``message``.

    The action carries the button's real ``block_id``, ``value``, text and style, as Slack
    would send them; ``value`` overrides (a tampered or stale payload). Other keyword
    arguments go to ``block_actions`` (``user``, ``trigger_id``, ...).
    """
    found = [
        (block_id, element)
        for block_id, element in _interactive_elements(message.get("blocks", []) or [])
        if element.get("action_id") == action_id
    ]
    if not found:
        known = [e.get("action_id") for _, e in _interactive_elements(message.get("blocks") or [])]
        raise ValueError(f"no element with action_id {action_id!r} in the message; has {known}")
    block_id, element = found[0]
    text = element.get("text") if isinstance(element.get("text"), Mapping) else {}
    action = button_action(
        action_id,
        value=value if value is not None else element.get("value"),
        block_id=block_id or None,
        text=str((text or {}).get("text", "Button")),
        style=element.get("style"),
    )
    action["type"] = element.get("type", "button")
    return block_actions(action, channel=channel, message=message, **kwargs)


def click_feedback(
    message: Mapping[str, Any], *, positive: bool = True, channel: str = CHANNEL_ID, **kwargs: Any
) -> JSON:
    """``block_actions`` for a click on one of a message's feedback buttons: Slack sends
    the ``feedback_buttons`` element with the clicked button's ``value``."""
    found = [
        (block_id, element)
        for block_id, element in _interactive_elements(message.get("blocks", []) or [])
        if element.get("type") == "feedback_buttons"
    ]
    if not found:
        raise ValueError("no feedback buttons in the message")
    block_id, element = found[0]
    side = element["positive_button" if positive else "negative_button"]
    action = {
        "type": "feedback_buttons",
        "action_id": element["action_id"],
        "block_id": block_id,
        "value": side["value"],
        "action_ts": new_ts(),
    }
    return block_actions(action, channel=channel, message=message, **kwargs)


def input_value(value: str, *, element_type: str = "plain_text_input") -> JSON:
    """One ``state.values[block_id][action_id]`` entry for a text input."""
    return {"type": element_type, "value": value}


def view_submission(
    values: Mapping[str, Mapping[str, JSON]] | None = None,
    *,
    view: Mapping[str, Any] | None = None,
    callback_id: str = "",
    private_metadata: str = "",
    title: str = "Answer",
    blocks: Sequence[JSON] | None = None,
    view_id: str | None = None,
    user: str = USER_ID,
    user_name: str = USER_NAME,
    team: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    bot_id: str = BOT_ID,
    trigger_id: str | None = None,
) -> JSON:
    """A ``view_submission`` payload with ``state.values`` = ``values``.

    Pass ``view`` (e.g. one from ``FakeSlack.views``: the modal the app opened) to submit
    that modal (values of blocks it has no input for are dropped, as Slack does);
    otherwise a minimal modal is built from ``callback_id`` and friends.
    ``values`` is ``{block_id: {action_id: input_value("text")}}``.
    """
    if view is not None:
        v: JSON = copy.deepcopy(dict(view))
    else:
        view_id = view_id or "V" + _rand(10)
        v = {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "blocks": copy.deepcopy(list(blocks or [])),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "hash": f"{int(time.time())}.{_rand(8)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team,
            "bot_id": bot_id,
        }
    values = dict(values or {})
    if view is not None:
        # As Slack: values only for the input blocks the view holds (a block the app left
        # out sends nothing, not even its default).
        inputs = {b.get("block_id") for b in v.get("blocks") or [] if b.get("type") == "input"}
        values = {k: a for k, a in values.items() if k in inputs}
    v["state"] = {"values": copy.deepcopy({k: dict(a) for k, a in values.items()})}
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": team_domain},
        "user": _user(user, user_name, team),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": v,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


# -- link unfurls --------------------------------------------------------------------------


def link_shared(
    urls: Sequence[str],
    *,
    channel: str = CHANNEL_ID,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    user: str = USER_ID,
    source: str = "conversations_history",
) -> JSON:
    """A ``link_shared`` event: links on a domain of the app's, pasted in a message
    (``source`` ``composer`` is a link still being typed, with no message yet)."""
    message_ts = message_ts or new_ts()
    event: JSON = {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": True,
        "user": user,
        "message_ts": message_ts,
        "unfurl_id": f"{message_ts}.{_rand(6)}",
        "source": source,
        "event_ts": new_ts(),
        "links": [{"domain": url.split("/")[2] if "//" in url else "", "url": url} for url in urls],
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


# -- slash commands ------------------------------------------------------------------------


def slash_command(
    command: str,
    text: str = "",
    *,
    response_url: str,
    channel: str = CHANNEL_ID,
    channel_name: str = "general",
    user: str = USER_ID,
    user_name: str = USER_NAME,
    team: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
) -> JSON:
    """A slash command's payload, every field Slack sends as a string (the wire form is
    form-encoded). ``response_url``: one the fake serves (``FakeSlack.response_url``)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team,
        "team_domain": team_domain,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def to_command_body(payload: Mapping[str, Any]) -> bytes:
    """The HTTP body of a slash command: its fields form-encoded (no ``payload=``)."""
    return urlencode({k: str(v) for k, v in payload.items()}).encode("utf-8")


# -- wire forms ----------------------------------------------------------------------------


def to_event_body(envelope: Mapping[str, Any]) -> bytes:
    """The HTTP body of an Events API request (JSON)."""
    return json.dumps(envelope).encode("utf-8")


def to_interactive_body(payload: Mapping[str, Any]) -> bytes:
    """The HTTP body of an interactivity request: form-encoded ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def socket_type(payload: Mapping[str, Any]) -> str:
    """Which Socket Mode envelope type carries ``payload``."""
    if payload.get("type") == "event_callback":
        return "events_api"
    if "command" in payload:
        return "slash_commands"
    return "interactive"


# Payload types whose ack may carry a response (``response_action``, options, a reply).
_RESPONDS = frozenset({"view_submission", "block_suggestion", "slash_commands"})


def to_socket_envelope(
    payload: Mapping[str, Any],
    *,
    envelope_id: str | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
    accepts_response_payload: bool | None = None,
) -> JSON:
    """The Socket Mode frame Slack sends for ``payload``.

    Only ``events_api`` envelopes carry ``retry_attempt``/``retry_reason`` (Slack's
    redelivery counter; ``retry_reason`` is ``"timeout"`` on a redelivery).
    """
    kind = socket_type(payload)
    if accepts_response_payload is None:
        accepts_response_payload = kind == "slash_commands" or payload.get("type") in _RESPONDS
    envelope: JSON = {
        "envelope_id": envelope_id or new_envelope_id(),
        "payload": copy.deepcopy(dict(payload)),
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
    }
    if kind == "events_api":
        envelope["retry_attempt"] = retry_attempt
        envelope["retry_reason"] = retry_reason
    return envelope
