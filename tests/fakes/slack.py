"""A fake of the Slack Web API and Socket Mode, served over real HTTP on loopback by aiohttp.

The app under test points ``SLACK_API_URL`` at ``fake.api_url`` and talks to it with the
real ``slack_sdk`` clients, so request encoding (JSON or form, Bearer token, query params),
retries and the Socket Mode handshake are exercised for real.

What it does like Slack:

- answers HTTP 200 with ``{"ok": false, "error": ...}`` for API errors (``invalid_auth``,
  ``not_authed``, ``unknown_method``, ``message_not_found``, ...);
- rejects a whole message or view that breaks a Block Kit limit (``invalid_blocks``,
  ``msg_too_long``, ``msg_blocks_too_long``, ``invalid_arguments`` for views), with
  Slack's ``[ERROR] ... [json-pointer:/blocks/0/text/text]`` messages so a failing test
  says which field. The same checks are the tests' only Block Kit validator
  (``message_errors``, ``view_errors``). They state Slack's limits here (the documented
  ones, and a few undocumented ones, marked), never the app's own numbers, so the app's
  builders are checked against Slack and not against the constants they were built from;
- stores messages per channel with time-ordered ``ts`` and serves them back through
  ``conversations.replies`` (parent first, ``metadata`` only with ``include_all_metadata``);
- honours trigger ids only when issued by ``issue_trigger_id()``, for 3 s, once;
- the three-step ``files_upload_v2`` flow, with an upload URL served by the fake itself;
- ``apps.connections.open`` and a ``/socket`` WebSocket that says ``hello``, delivers
  envelopes round-robin across connected clients and collects their acks.
- says which scopes the bot token has in an ``x-oauth-scopes`` header on every call made
  with it (``bot_scopes``, by default the bot scopes of ``slack-app-manifest.yml``);
- Slack's agent platform (agent sessions, the thread status, suggested prompts), in
  ``agents`` (``tests.fakes.slack_agents``).

What a test scripts: ``rate_limit`` (HTTP 429 + Retry-After), ``fail`` (HTTP 5xx or an
``ok: false`` error), ``delay``. Everything is recorded (``calls``), and rule-breaking calls
are also listed in ``rejections`` so a test can assert there were none.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml  # type: ignore[import-untyped]  # no stubs installed; only tests use it
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict

from tests.fakes.payloads import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    USER_ID,
    link_shared,
    new_file_id,
    new_trigger_id,
    new_ts,
)
from tests.fakes.slack_agents import AgentPlatform

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_BOT_TOKEN = "xoxb-test-token"
DEFAULT_APP_TOKEN = "xapp-1-A0001-1-test-token"
PERMALINK_HOST = "https://fake.slack"
# The pseudo method under which POSTs to an upload URL are recorded and can be scripted.
UPLOAD_METHOD = "upload"
# What a GET of a shared file's url_private is recorded as, and what Slack serves there
# without the bot token.
DOWNLOAD_METHOD = "file_download"
SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
# What a POST to a slash command's ``response_url`` is recorded as.
RESPOND_METHOD = "response_url"
# Slack honours a response_url 5 times within 30 minutes.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60

# -- Slack's limits (docs.slack.dev Block Kit reference and method pages) ------------------
MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_MODAL = 100
MAX_POST_TEXT = 40_000
MAX_UPDATE_TEXT = 4_000  # chat.update is stricter than chat.postMessage
# A text object's text, where no block or element sets a smaller limit (context elements).
MAX_TEXT_OBJECT = 3_000
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_URL = 3_000
MAX_ID = 255  # action_id, block_id, callback_id, external_id
MAX_INPUT_LABEL = 2_000
MAX_HINT = 2_000
MAX_PLACEHOLDER = 150
MAX_TEXT_INPUT_LENGTH = 3_000
MAX_IMAGE_ALT = 2_000
# The markdown block: "The cumulative limit for all markdown blocks in a single payload is
# 12,000 characters."
MAX_MARKDOWN_TOTAL = 12_000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_PRIVATE_METADATA = 3_000
# Undocumented: Slack answers msg_blocks_too_long once the text in all blocks passes roughly
# 12,000-13,000 characters (slackapi/bolt-js#2509, #2867). Counted here over text objects
# only, so the fake is about as strict as Slack; ``FakeSlack(blocks_text_limit=None)`` turns
# it off.
DEFAULT_BLOCKS_TEXT_LIMIT = 12_000
TRIGGER_TTL_S = 3.0
MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yml"
REPLIES_DEFAULT_LIMIT = 1000

# Errors that mean "the app broke a Slack rule", collected in ``FakeSlack.rejections``.
RULE_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "only_one_table_allowed",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_arguments",
        "invalid_metadata_format",
        "cannot_unfurl_url",
        "invalid_unfurls_format",
        "expired_trigger_id",
        "exchanged_trigger_id",
    }
)
# Form-encoded requests carry these as JSON strings; recorded args hold the decoded value.
_JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")

# -- Block Kit validation ------------------------------------------------------------------

_TEXT_TYPES = ("plain_text", "mrkdwn")
_STYLES = ("primary", "danger")
_SELECTS = frozenset(
    {
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
    }
)
_ACTIONS_ELEMENTS = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
_ACCESSORY_ELEMENTS = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "image",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
_INPUT_ELEMENTS = _SELECTS | {
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "file_input",
    "number_input",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "timepicker",
    "url_text_input",
}
_TEXT_INPUTS = frozenset(
    {"plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input"}
)
# Option count limits per element; option text must be plain_text except where mrkdwn works.
_OPTION_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "overflow": 5,
    "radio_buttons": 10,
    "checkboxes": 10,
}
_MRKDWN_OPTIONS = frozenset({"radio_buttons", "checkboxes"})
# Block types accepted without checks beyond block_id (newer or rarely used ones).
_UNCHECKED_BLOCKS = frozenset({"divider", "file", "video"})
# Slack's agent platform blocks, checked by ``tests.fakes.agent_blocks``.
_AGENT_BLOCKS = frozenset(
    {"table", "card", "carousel", "alert", "context_actions", "task_card", "plan"}
)


class _Errors:
    """Slack-style validation messages: ``"<what> [json-pointer:<where>]"``."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, pointer: str, message: str) -> None:
        self.items.append(f"{message} [json-pointer:{pointer}]")


def _check_str(
    errs: _Errors,
    value: Any,
    ptr: str,
    max_len: int,
    *,
    required: bool = False,
    min_len: int = 0,
) -> None:
    if value is None:
        if required:
            errs.add(ptr, "missing required field")
        return
    if not isinstance(value, str):
        errs.add(ptr, "must be a string")
    elif len(value) > max_len:
        errs.add(ptr, f"must be less than {max_len + 1} characters")
    elif len(value) < min_len:
        errs.add(ptr, f"must be more than {min_len - 1} characters")


def _check_text(
    errs: _Errors,
    obj: Any,
    ptr: str,
    max_len: int | None,
    *,
    plain_only: bool = False,
    required: bool = True,
) -> None:
    if obj is None:
        if required:
            errs.add(ptr, "missing required field")
        return
    if not isinstance(obj, Mapping):
        errs.add(ptr, "must be an object")
        return
    kind = obj.get("type")
    if kind not in _TEXT_TYPES:
        errs.add(ptr + "/type", "must be a valid enum value")
        return
    if plain_only and kind != "plain_text":
        errs.add(ptr, "failed to match all allowed schemas")
        errs.add(ptr + "/type", "must be one of: plain_text")
        return
    # Slack's schemas forbid the other type's flag (a common invalid_blocks in the wild).
    if kind == "mrkdwn" and "emoji" in obj:
        errs.add(ptr, "invalid additional property: emoji")
    if kind == "plain_text" and "verbatim" in obj:
        errs.add(ptr, "invalid additional property: verbatim")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.add(ptr + "/text", "must be a string")
    elif not text.strip():
        # Slack documents a minimum length of 1. A text of spaces alone is refused here
        # too: it shows nothing, and a fake stricter than Slack can only fail a test that
        # Slack might have let through, never pass one it would refuse.
        errs.add(ptr + "/text", "must be more than 0 characters")
    elif max_len is not None and len(text) > max_len:
        errs.add(ptr + "/text", f"must be less than {max_len + 1} characters")


def _check_list(
    errs: _Errors, value: Any, ptr: str, max_items: int, *, min_items: int = 1
) -> list[Any]:
    if not isinstance(value, list):
        errs.add(ptr, "must be an array" if value is not None else "missing required field")
        return []
    if len(value) > max_items:
        errs.add(ptr, f"no more than {max_items} items allowed")
    if len(value) < min_items:
        errs.add(ptr, f"must provide at least {min_items} item{'s' if min_items > 1 else ''}")
    return value


def _check_confirm(errs: _Errors, confirm: Any, ptr: str) -> None:
    if confirm is None:
        return
    if not isinstance(confirm, Mapping):
        errs.add(ptr, "must be an object")
        return
    _check_text(errs, confirm.get("title"), ptr + "/title", MAX_CONFIRM_TITLE, plain_only=True)
    _check_text(errs, confirm.get("text"), ptr + "/text", MAX_CONFIRM_TEXT)
    _check_text(errs, confirm.get("confirm"), ptr + "/confirm", MAX_CONFIRM_BUTTON, plain_only=True)
    _check_text(errs, confirm.get("deny"), ptr + "/deny", MAX_CONFIRM_BUTTON, plain_only=True)


def _check_image_element(errs: _Errors, el: Mapping[str, Any], ptr: str) -> None:
    if el.get("image_url") is None and el.get("slack_file") is None:
        errs.add(ptr, "must provide image_url or slack_file")
    _check_str(errs, el.get("image_url"), ptr + "/image_url", MAX_URL)
    _check_str(errs, el.get("alt_text"), ptr + "/alt_text", MAX_IMAGE_ALT, required=True)


def _check_options(errs: _Errors, el: Mapping[str, Any], ptr: str, kind: str) -> None:
    options = el.get("options")
    if options is None:
        if kind in ("overflow", "radio_buttons", "checkboxes") or (
            kind in ("static_select", "multi_static_select") and el.get("option_groups") is None
        ):
            errs.add(ptr + "/options", "missing required field")
        return
    for i, option in enumerate(_check_list(errs, options, ptr + "/options", _OPTION_LIMITS[kind])):
        optr = f"{ptr}/options/{i}"
        if not isinstance(option, Mapping):
            errs.add(optr, "must be an object")
            continue
        _check_text(
            errs,
            option.get("text"),
            optr + "/text",
            MAX_OPTION_TEXT,
            plain_only=kind not in _MRKDWN_OPTIONS,
        )
        _check_str(errs, option.get("value"), optr + "/value", MAX_OPTION_VALUE, required=True)
        _check_text(
            errs, option.get("description"), optr + "/description", MAX_OPTION_TEXT, required=False
        )
        _check_str(errs, option.get("url"), optr + "/url", MAX_URL)


# multi_*_select: at most this many initial items (Slack: max_selected_items >= 1).
MAX_INITIAL_CONVERSATIONS = 100
_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{1,32}")


def _check_initial_choices(errs: _Errors, el: Mapping[str, Any], ptr: str, kind: str) -> None:
    """What a select or a radio starts with must be among what it offers (Slack answers
    ``invalid_arguments`` otherwise), and a multi select at most ``max_selected_items``."""
    most = el.get("max_selected_items")
    if most is not None and (not isinstance(most, int) or most < 1):
        errs.add(ptr + "/max_selected_items", "must be at least 1")
    offered = [o.get("value") for o in el.get("options") or [] if isinstance(o, Mapping)]

    def same_option(option: Any, where: str) -> None:
        if not isinstance(option, Mapping) or option.get("value") not in offered:
            errs.add(where, "must match one of the options")

    if "initial_option" in el:
        same_option(el["initial_option"], ptr + "/initial_option")
    if "initial_options" in el:
        initial = el["initial_options"]
        if not isinstance(initial, list) or not initial:
            errs.add(ptr + "/initial_options", "must provide at least 1 item")
        else:
            for i, option in enumerate(initial):
                same_option(option, f"{ptr}/initial_options/{i}")
            if isinstance(most, int) and len(initial) > most:
                errs.add(ptr + "/initial_options", f"no more than {most} items allowed")
    if "initial_conversations" in el:
        chosen = el["initial_conversations"]
        limit = most if isinstance(most, int) else MAX_INITIAL_CONVERSATIONS
        if not isinstance(chosen, list) or not all(
            isinstance(c, str) and _CONVERSATION_ID.fullmatch(c) for c in chosen
        ):
            errs.add(ptr + "/initial_conversations", "must be a list of conversation ids")
        elif len(chosen) > min(limit, MAX_INITIAL_CONVERSATIONS):
            errs.add(ptr + "/initial_conversations", f"no more than {limit} items allowed")


def _check_element(
    errs: _Errors, el: Any, ptr: str, allowed: frozenset[str], action_ids: set[str]
) -> None:
    if not isinstance(el, Mapping):
        errs.add(ptr, "must be an object")
        return
    kind = el.get("type")
    if kind not in allowed:
        errs.add(ptr + "/type", "must be a valid enum value")
        return
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str):
            errs.add(ptr + "/action_id", "must be a string")
        elif len(action_id) > MAX_ID:
            errs.add(ptr + "/action_id", f"must be less than {MAX_ID + 1} characters")
        elif not action_id:
            errs.add(ptr + "/action_id", "must be more than 0 characters")
        elif action_id in action_ids:
            # Slack: action_id "should be unique among all other action_ids in the
            # containing block".
            errs.add(ptr + "/action_id", f"duplicate action_id: {action_id}")
        else:
            action_ids.add(action_id)
    if kind == "button":
        _check_text(errs, el.get("text"), ptr + "/text", MAX_BUTTON_TEXT, plain_only=True)
        _check_str(errs, el.get("value"), ptr + "/value", MAX_BUTTON_VALUE)
        _check_str(errs, el.get("url"), ptr + "/url", MAX_URL, min_len=1)
        _check_str(errs, el.get("accessibility_label"), ptr + "/accessibility_label", 75)
        if el.get("style") is not None and el.get("style") not in _STYLES:
            errs.add(ptr + "/style", "must be a valid enum value")
    elif kind == "image":
        _check_image_element(errs, el, ptr)
    elif kind in _TEXT_INPUTS:
        max_length, min_length = el.get("max_length"), el.get("min_length")
        if max_length is not None and (
            not isinstance(max_length, int) or not 1 <= max_length <= MAX_TEXT_INPUT_LENGTH
        ):
            errs.add(ptr + "/max_length", f"must be between 1 and {MAX_TEXT_INPUT_LENGTH}")
        if min_length is not None and (
            not isinstance(min_length, int) or not 0 <= min_length <= MAX_TEXT_INPUT_LENGTH
        ):
            errs.add(ptr + "/min_length", f"must be between 0 and {MAX_TEXT_INPUT_LENGTH}")
        longest = max_length if isinstance(max_length, int) else MAX_TEXT_INPUT_LENGTH
        if isinstance(min_length, int) and min_length > longest:
            errs.add(ptr + "/min_length", "must not be more than max_length")
        if kind == "plain_text_input":
            # Not documented as an error, but a longer initial value could not be sent back
            # as it is: refused like the other rules a fake had better be strict on.
            _check_str(errs, el.get("initial_value"), ptr + "/initial_value", longest)
    if kind in _OPTION_LIMITS:
        _check_options(errs, el, ptr, kind)
    if kind in _SELECTS or kind in ("radio_buttons", "checkboxes"):
        _check_initial_choices(errs, el, ptr, kind)
    if kind in ("conversations_select", "multi_conversations_select"):
        from tests.fakes.slack_views import check_conversations_select  # uses _Errors

        check_conversations_select(errs, el, ptr, in_input=allowed is _INPUT_ELEMENTS)
    if "placeholder" in el:
        _check_text(
            errs, el.get("placeholder"), ptr + "/placeholder", MAX_PLACEHOLDER, plain_only=True
        )
    _check_confirm(errs, el.get("confirm"), ptr + "/confirm")


def _check_block(errs: _Errors, block: Any, ptr: str, block_ids: set[str]) -> None:
    if not isinstance(block, Mapping):
        errs.add(ptr, "must be an object")
        return
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str):
            errs.add(ptr + "/block_id", "must be a string")
        elif len(block_id) > MAX_ID:
            errs.add(ptr + "/block_id", f"must be less than {MAX_ID + 1} characters")
        elif not block_id:
            errs.add(ptr + "/block_id", "must be more than 0 characters")
        elif block_id in block_ids:
            # Slack: "Each block_id within a message or view must be unique."
            errs.add(ptr + "/block_id", f"duplicate block_id: {block_id}")
        else:
            block_ids.add(block_id)
    kind = block.get("type")
    action_ids: set[str] = set()
    if kind == "section":
        text, fields = block.get("text"), block.get("fields")
        if text is None and not fields:
            errs.add(ptr, "must provide text or fields")
        _check_text(errs, text, ptr + "/text", MAX_SECTION_TEXT, required=False)
        if fields is not None:
            for i, f in enumerate(_check_list(errs, fields, ptr + "/fields", MAX_SECTION_FIELDS)):
                _check_text(errs, f, f"{ptr}/fields/{i}", MAX_FIELD_TEXT)
        if block.get("accessory") is not None:
            _check_element(
                errs, block["accessory"], ptr + "/accessory", _ACCESSORY_ELEMENTS, action_ids
            )
    elif kind == "header":
        _check_text(errs, block.get("text"), ptr + "/text", MAX_HEADER_TEXT, plain_only=True)
    elif kind == "actions":
        elements = _check_list(errs, block.get("elements"), ptr + "/elements", MAX_ACTIONS_ELEMENTS)
        for i, el in enumerate(elements):
            _check_element(errs, el, f"{ptr}/elements/{i}", _ACTIONS_ELEMENTS, action_ids)
    elif kind == "context":
        elements = _check_list(errs, block.get("elements"), ptr + "/elements", MAX_CONTEXT_ELEMENTS)
        for i, el in enumerate(elements):
            eptr = f"{ptr}/elements/{i}"
            if isinstance(el, Mapping) and el.get("type") == "image":
                _check_image_element(errs, el, eptr)
            else:
                _check_text(errs, el, eptr, MAX_TEXT_OBJECT)
    elif kind == "image":
        _check_image_element(errs, block, ptr)
        _check_text(
            errs, block.get("title"), ptr + "/title", MAX_IMAGE_ALT, plain_only=True, required=False
        )
    elif kind == "input":
        _check_text(errs, block.get("label"), ptr + "/label", MAX_INPUT_LABEL, plain_only=True)
        _check_text(
            errs, block.get("hint"), ptr + "/hint", MAX_HINT, plain_only=True, required=False
        )
        if block.get("element") is None:
            errs.add(ptr + "/element", "missing required field")
        else:
            _check_element(errs, block["element"], ptr + "/element", _INPUT_ELEMENTS, action_ids)
    elif kind == "markdown":
        text = block.get("text")
        if not isinstance(text, str) or not text:
            errs.add(ptr + "/text", "must be a non-empty string")
        # Its length counts towards the payload's total: see block_errors.
    elif kind == "rich_text":
        if not isinstance(block.get("elements"), list):
            errs.add(ptr + "/elements", "missing required field")
    elif kind in _AGENT_BLOCKS:
        from tests.fakes.agent_blocks import check_agent_block  # uses this module's helpers

        check_agent_block(errs, block, ptr)
    elif kind not in _UNCHECKED_BLOCKS:
        errs.add(ptr + "/type", "must be a valid enum value")


def block_errors(
    blocks: Any, *, max_blocks: int = MAX_BLOCKS_MESSAGE, ptr: str = "/blocks"
) -> list[str]:
    """Every rule ``blocks`` breaks, as Slack words them; empty when Slack would accept."""
    errs = _Errors()
    block_ids: set[str] = set()
    markdown = 0
    for i, block in enumerate(_check_list(errs, blocks, ptr, max_blocks, min_items=0)):
        _check_block(errs, block, f"{ptr}/{i}", block_ids)
        if isinstance(block, Mapping) and block.get("type") == "markdown":
            text = block.get("text")
            before, markdown = markdown, markdown + (len(text) if isinstance(text, str) else 0)
            if before <= MAX_MARKDOWN_TOTAL < markdown:
                errs.add(
                    f"{ptr}/{i}/text",
                    f"markdown blocks must hold less than {MAX_MARKDOWN_TOTAL + 1} characters",
                )
    return errs.items


def message_errors(
    blocks: Any,
    text: Any = None,
    *,
    max_text: int = MAX_POST_TEXT,
    blocks_text_limit: int | None = DEFAULT_BLOCKS_TEXT_LIMIT,
) -> list[str]:
    """Every rule a message breaks, as the fake answers chat.postMessage (``max_text``
    40,000), chat.update (pass ``MAX_UPDATE_TEXT``, 4,000) and chat.postEphemeral: each
    ``"<Slack error>: <message>"``; empty when Slack would take the message."""
    return [
        f"{error}: {message}"
        for error, message in _message_problems(
            blocks, text, max_text=max_text, blocks_text_limit=blocks_text_limit
        )
    ]


def _message_problems(
    blocks: Any, text: Any, *, max_text: int, blocks_text_limit: int | None
) -> list[tuple[str, str]]:
    """(Slack error, message) for every rule the blocks and text of a message break, in the
    order Slack reports them."""
    problems: list[tuple[str, str]] = []
    if blocks:
        problems += [("invalid_blocks", m) for m in block_errors(blocks)]
        tables = [b for b in blocks if isinstance(b, Mapping) and b.get("type") == "table"]
        if isinstance(blocks, list) and len(tables) > 1:
            # Slack: "only one table block is allowed per message".
            problems.append(("only_one_table_allowed", f"{len(tables)} table blocks"))
        chars = count_block_text(blocks)
        if blocks_text_limit is not None and chars > blocks_text_limit:
            problems.append(
                ("msg_blocks_too_long", f"{chars} characters of text > {blocks_text_limit}")
            )
    if isinstance(text, str) and len(text) > max_text:
        problems.append(("msg_too_long", f"text of {len(text)} characters > {max_text}"))
    return problems


def view_errors(view: Any, kind: str = "modal") -> list[str]:
    """Every rule a ``view`` breaks: a modal (``views.open``/``update``/``push``), or
    ``kind="home"``, an App Home tab (``views.publish``: no title or buttons of its own)."""
    errs = _Errors()
    ptr = "/view"
    if not isinstance(view, Mapping):
        errs.add(ptr, "must be an object" if view is not None else "missing required field")
        return errs.items
    if view.get("type") != kind:
        errs.add(ptr + "/type", "must be a valid enum value")
    if kind == "home":
        for field_name in ("title", "close", "submit"):
            if field_name in view:
                errs.add(f"{ptr}/{field_name}", "is not allowed in a home view")
    else:
        _check_text(errs, view.get("title"), ptr + "/title", MAX_MODAL_TITLE, plain_only=True)
    _check_text(
        errs, view.get("close"), ptr + "/close", MAX_MODAL_BUTTON, plain_only=True, required=False
    )
    _check_text(
        errs, view.get("submit"), ptr + "/submit", MAX_MODAL_BUTTON, plain_only=True, required=False
    )
    _check_str(errs, view.get("private_metadata"), ptr + "/private_metadata", MAX_PRIVATE_METADATA)
    _check_str(errs, view.get("callback_id"), ptr + "/callback_id", MAX_ID)
    _check_str(errs, view.get("external_id"), ptr + "/external_id", MAX_ID)
    blocks = view.get("blocks")
    if blocks is None:
        errs.add(ptr + "/blocks", "missing required field")
    else:
        errs.items.extend(block_errors(blocks, max_blocks=MAX_BLOCKS_MODAL, ptr=ptr + "/blocks"))
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errs.add(ptr + "/submit", "a submit button is required when the view has input blocks")
    return errs.items


def count_block_text(blocks: Any) -> int:
    """Characters in every text object and markdown block of ``blocks``."""
    total = 0
    stack: list[Any] = [blocks]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("type") in (*_TEXT_TYPES, "markdown") and isinstance(item.get("text"), str):
                total += len(item["text"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


# -- pings ---------------------------------------------------------------------------------

_PING_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("channel", re.compile(r"<!channel(?:\|[^>]*)?>")),
    ("here", re.compile(r"<!here(?:\|[^>]*)?>")),
    ("everyone", re.compile(r"<!everyone(?:\|[^>]*)?>")),
    ("user", re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")),
    ("subteam", re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>")),
)
# rich_text elements that notify people, whatever the surrounding text says.
_RICH_PINGS = {"user": "user", "usergroup": "subteam"}


@dataclass(frozen=True)
class Ping:
    """A notification a posted message would trigger (``kind``: channel, here, everyone,
    user, subteam)."""

    kind: str
    token: str
    method: str
    channel: str | None
    ts: str | None
    where: str


def _scan_text(text: str) -> Iterable[tuple[str, str]]:
    for kind, pattern in _PING_PATTERNS:
        for m in pattern.finditer(text):
            yield kind, m.group(0)


def _scan_blocks(node: Any, ptr: str) -> Iterable[tuple[str, str, str]]:
    if isinstance(node, Mapping):
        kind = node.get("type")
        if isinstance(node.get("text"), str) and kind in (*_TEXT_TYPES, "markdown", "text"):
            for ping_kind, token in _scan_text(node["text"]):
                yield ping_kind, token, ptr + "/text"
        if kind in _RICH_PINGS:
            yield _RICH_PINGS[kind], json.dumps(dict(node)), ptr
        if kind == "broadcast":
            yield str(node.get("range", "channel")), json.dumps(dict(node)), ptr
        for key, value in node.items():
            if isinstance(value, Mapping | list):
                yield from _scan_blocks(value, f"{ptr}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _scan_blocks(value, f"{ptr}/{i}")


# -- records -------------------------------------------------------------------------------


@dataclass
class SlackCall:
    """One request the fake received.

    ``args`` merges query string and body, minus ``token``, with ``blocks``/``metadata``/
    ``view``/``attachments``/``files`` decoded when they came as JSON strings. ``status``
    and ``response`` are None while the call is in flight (e.g. held by ``delay``).
    """

    method: str
    args: JSON
    headers: CIMultiDict[str]
    timestamp: float
    http_method: str = "POST"
    status: int | None = None
    response: JSON | None = None
    fault: str | None = None  # "ratelimited", "status" or "error" when scripted
    team: str | None = None  # the workspace whose bot token made the call

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        if self.response is None:
            return None
        error = self.response.get("error")
        return str(error) if error is not None else None

    def summary(self) -> str:
        args = json.dumps(self.args, default=str)
        if len(args) > 300:
            args = args[:300] + "…"
        outcome = "in flight" if self.status is None else f"{self.status} error={self.error}"
        return f"{self.method} [{outcome}] {args}"


@dataclass
class FakeFile:
    """A file uploaded through files.getUploadURLExternal → upload URL → complete."""

    id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    @property
    def uploaded(self) -> bool:
        return self.content is not None


@dataclass
class _Fault:
    method: str
    kind: str  # "delay" or "answer"
    remaining: int
    seconds: float = 0.0
    status: int | None = None
    error: str | None = None
    retry_after: int | None = None

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and self.method in (method, "*")


def _basic(request: web.Request) -> str:
    """``id:secret`` of an HTTP Basic Authorization header, or ""."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded).decode()
    except ValueError:
        return ""


def _err(error: str, **extra: Any) -> JSON:
    return {"ok": False, "error": error, **extra}


def _invalid_arguments(messages: Sequence[str]) -> JSON:
    return _err(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {m}" for m in messages]},
    )


def _invalid_blocks(errors: Sequence[str]) -> JSON:
    return _err(
        "invalid_blocks",
        errors=list(errors),
        response_metadata={"messages": [f"[ERROR] {m}" for m in errors]},
    )


def _flag(value: Any) -> bool:
    return (
        value is True or value == 1 or (isinstance(value, str) and value.lower() in ("1", "true"))
    )


def _ts_key(ts: Any) -> Decimal:
    try:
        return Decimal(str(ts))
    except InvalidOperation:
        return Decimal(0)


def _mimetype(filename: str) -> tuple[str, str]:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    known = {
        "csv": "text/csv",
        "txt": "text/plain",
        "json": "application/json",
        "png": "image/png",
        "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip": "application/zip",
    }
    return known.get(ext, "application/octet-stream"), ext or "binary"


# Work Objects (slack_sdk's models list the same): entity types, and custom field types
# with the JSON type their value must be.
ENTITY_TYPES = frozenset(
    {
        "slack#/entities/task",
        "slack#/entities/file",
        "slack#/entities/item",
        "slack#/entities/incident",
        "slack#/entities/content_item",
    }
)
_FIELD_VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    "integer": int,
    "string": str,
    "boolean": bool,
    "slack#/types/link": str,
    "slack#/types/timestamp": int,
}
MAX_ENTITY_TITLE = 150


def _entity_problems(entities: Any, pasted: Sequence[str]) -> list[str]:
    """What Slack would warn about the Work Objects of a chat.unfurl (it drops them)."""
    if not isinstance(entities, list) or not entities:
        return ["missing required field: entities (pointer: /metadata/entities)"]
    problems: list[str] = []
    for i, entity in enumerate(entities):
        at = f"/metadata/entities/{i}"
        if not isinstance(entity, dict):
            problems.append(f"expected object (pointer: {at})")
            continue
        if entity.get("entity_type") not in ENTITY_TYPES:
            problems.append(f"invalid entity_type (pointer: {at}/entity_type)")
        if not isinstance(entity.get("url"), str) or not entity["url"]:
            problems.append(f"missing required field: url (pointer: {at}/url)")
        if entity.get("app_unfurl_url") not in pasted:
            problems.append(f"app_unfurl_url was not shared (pointer: {at}/app_unfurl_url)")
        ref = entity.get("external_ref")
        if not isinstance(ref, dict) or not isinstance(ref.get("id"), str) or not ref["id"]:
            problems.append(f"missing required field: id (pointer: {at}/external_ref)")
        payload = entity.get("entity_payload")
        attributes = payload.get("attributes") if isinstance(payload, dict) else None
        title = attributes.get("title") if isinstance(attributes, dict) else None
        text = title.get("text") if isinstance(title, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_ENTITY_TITLE:
            problems.append(f"invalid title (pointer: {at}/entity_payload/attributes/title)")
        fields = payload.get("custom_fields", []) if isinstance(payload, dict) else []
        for j, field in enumerate(fields if isinstance(fields, list) else [None]):
            where = f"{at}/entity_payload/custom_fields/{j}"
            if not isinstance(field, dict) or not all(
                isinstance(field.get(k), str) and field[k] for k in ("key", "label", "type")
            ):
                problems.append(f"missing required field: key, label or type (pointer: {where})")
                continue
            wanted = _FIELD_VALUE_TYPES.get(field["type"])
            value = field.get("value")
            if wanted is None or (isinstance(value, bool) and wanted is not bool):
                problems.append(f"invalid type (pointer: {where}/type)")
            elif not isinstance(value, wanted):
                problems.append(f"value is not {field['type']} (pointer: {where}/value)")
    return problems


def manifest_bot_scopes() -> list[str]:
    """The bot scopes the app's manifest asks for, in its order."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return [str(scope) for scope in manifest["oauth_config"]["scopes"]["bot"]]


@dataclass
class FakeTeam:
    """A workspace the app is (or will be) installed in, with its own bot token."""

    team_id: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    name: str
    enterprise_id: str | None = None
    revoked: bool = False


@dataclass
class _OAuthCode:
    team: FakeTeam
    user_id: str
    used: bool = False


# -- the server ----------------------------------------------------------------------------


class FakeSlack:
    """``async with FakeSlack() as fake: ...`` or ``await fake.start()`` / ``fake.stop()``."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        team_id: str = TEAM_ID,
        team_domain: str = TEAM_DOMAIN,
        app_id: str = APP_ID,
        host: str = "127.0.0.1",
        trigger_ttl: float = TRIGGER_TTL_S,
        blocks_text_limit: int | None = DEFAULT_BLOCKS_TEXT_LIMIT,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.team_id = team_id
        self.team_domain = team_domain
        self.app_id = app_id
        self.host = host
        self.trigger_ttl = trigger_ttl
        self.blocks_text_limit = blocks_text_limit
        # What the bot token was granted; sent back in x-oauth-scopes, as Slack does.
        self.bot_scopes: list[str] = manifest_bot_scopes()
        self.rejections: list[SlackCall] = []
        self.socket_acks: list[JSON] = []
        self.socket_received: list[JSON] = []
        self.socket_sent: list[JSON] = []
        self.socket_connections_total = 0
        self._calls: list[SlackCall] = []
        # Messages per workspace, then per channel: two workspaces may have the same ids.
        self._team_channels: dict[str, dict[str, dict[str, JSON]]] = {}
        self.teams: dict[str, FakeTeam] = {}
        self._current_team = self.add_team(
            team_id, bot_token=bot_token, bot_user_id=bot_user_id, bot_id=bot_id
        )
        # The app's OAuth credentials, as oauth.v2.access checks them.
        self.client_id = "1111.2222"
        self.client_secret = "fake-client-secret"
        self._oauth_codes: dict[str, _OAuthCode] = {}
        self._home_views: dict[tuple[str, str], JSON] = {}
        self._current_basic = ""  # the Basic auth of the call being handled
        self._ephemerals: list[JSON] = []
        self._files: dict[str, FakeFile] = {}
        self._views: dict[str, JSON] = {}
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._users: dict[str, JSON] = {}
        # User groups (``add_usergroup``): team id -> group id -> the group, with its users.
        self._usergroups: dict[str, dict[str, JSON]] = {}
        self._reactions: dict[tuple[str, str], list[str]] = {}
        # response_url id -> (issued at, uses left); the JSON each accepted use posted.
        self._response_urls: dict[str, tuple[float, int]] = {}
        self._responses: list[JSON] = []
        # Conversations the bot is not a member of: posting there is ``not_in_channel``.
        self._outside: set[str] = set()
        # Links people pasted (``paste_links``): (channel, ts) and unfurl id -> their URLs;
        # what the app unfurled them as: (channel, ts) -> url -> {unfurl, entity}.
        self._pasted: dict[tuple[str, str], list[str]] = {}
        self._pasted_by_unfurl_id: dict[str, tuple[str, str]] = {}
        self._unfurls: dict[tuple[str, str], dict[str, JSON]] = {}
        # Files people shared (``share_file``): id -> (the full file object, its bytes).
        self._shared: dict[str, tuple[JSON, bytes]] = {}
        self._faults: list[_Fault] = []
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_rr = 0
        self._ack_waiters: dict[str, asyncio.Future[JSON]] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = asyncio.Event()
        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "users.info": self._users_info,
            "oauth.v2.access": self._oauth_v2_access,
            "views.publish": self._views_publish,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
            "chat.unfurl": self._chat_unfurl,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
        }
        # Sessions, the thread status and suggested prompts (``tests.fakes.slack_agents``).
        self.agents = AgentPlatform(lambda: self.bot_scopes, self.messages, bot_id)
        self._methods.update(self.agents.methods())

    # -- workspaces ------------------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        *,
        bot_token: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        enterprise_id: str | None = None,
        name: str | None = None,
    ) -> FakeTeam:
        """A workspace with its own bot token (what ``oauth.v2.access`` hands out for it)."""
        team = FakeTeam(
            team_id=team_id,
            bot_token=bot_token or f"xoxb-{team_id}-{secrets.token_hex(8)}",
            bot_user_id=bot_user_id or "U" + secrets.token_hex(4).upper(),
            bot_id=bot_id or "B" + secrets.token_hex(4).upper(),
            name=name or f"Workspace {team_id}",
            enterprise_id=enterprise_id,
        )
        self.teams[team.bot_token] = team
        return team

    def team(self, team_id: str) -> FakeTeam:
        return next(t for t in self.teams.values() if t.team_id == team_id)

    def issue_oauth_code(self, team_id: str, user_id: str) -> str:
        """The ``code`` Slack puts on the redirect once ``user_id`` allowed the install in
        ``team_id``; ``oauth.v2.access`` takes it once."""
        code = "code-" + secrets.token_hex(8)
        self._oauth_codes[code] = _OAuthCode(self.team(team_id), user_id)
        return code

    def revoke(self, team_id: str) -> None:
        """The app was uninstalled there: its token no longer works."""
        self.team(team_id).revoked = True

    def home_view(self, user_id: str, team_id: str | None = None) -> JSON | None:
        view = self._home_views.get((team_id or self.team_id, user_id))
        return copy.deepcopy(view) if view is not None else None

    @property
    def _channels(self) -> dict[str, dict[str, JSON]]:
        # The workspace of the call being handled (handlers run without awaiting), or the
        # first one for the test's own reads.
        return self._team_channels.setdefault(self._current_team.team_id, {})

    @contextlib.contextmanager
    def _as_team(self, team_id: str | None) -> Iterator[None]:
        previous = self._current_team
        if team_id is not None:
            self._current_team = self.team(team_id)
        try:
            yield
        finally:
            self._current_team = previous

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeSlack already started")
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/respond/{hook}", self._handle_respond)
        app.router.add_get("/files-pri/{team_file}/{name}", self._handle_download)
        app.router.add_get("/socket", self._handle_socket)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        self._closing.set()  # cuts scripted delays short
        for waiter in self._ack_waiters.values():
            waiter.cancel()
        self._ack_waiters.clear()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake stopping")
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` take (ends in ``/``:
        slack_sdk ``urljoin``s method names onto it)."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://{self.host}:{self.port}/socket"

    # -- scripting -------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` ("*": any) get HTTP 429 + Retry-After."""
        self._faults.append(_Fault(method, "answer", times, retry_after=retry_after))

    def fail(
        self,
        method: str,
        times: int = 1,
        *,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` fail: with ``error``, HTTP ``status``
        (default 200) and ``{"ok": false, "error": error}``; without, HTTP ``status``
        (default 500) and ``{"ok": false, "error": "internal_error"}``."""
        self._faults.append(_Fault(method, "answer", times, status=status, error=error))

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` calls of ``method`` for ``seconds`` before answering."""
        self._faults.append(_Fault(method, "delay", times, seconds=seconds))

    def issue_trigger_id(self, age: float = 0.0) -> str:
        """A trigger id the fake honours for ``trigger_ttl`` seconds (3 s, like Slack) from
        now minus ``age`` (``age=4`` gives one that has already expired), once."""
        trigger_id = new_trigger_id()
        self._triggers[trigger_id] = time.monotonic() - age
        return trigger_id

    def response_url(self) -> str:
        """A slash command's ``response_url``, served by the fake as Slack serves one: JSON
        bodies, 5 uses within 30 minutes, blocks checked like a message's."""
        hook = secrets.token_urlsafe(12)
        self._response_urls[hook] = (time.monotonic(), RESPONSE_URL_USES)
        return f"{self.base_url}/respond/{hook}"

    def responses(self) -> list[JSON]:
        """What the app posted to response URLs and Slack took, in order (copies)."""
        return copy.deepcopy(self._responses)

    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        filetype: str | None = None,
        mimetype: str | None = None,
        user: str = USER_ID,
        size: int | None = None,
        connect: bool = False,
    ) -> JSON:
        """A file someone shared, as a ``file_share`` message carries it; its bytes are
        served at its ``url_private`` to the bot token only (anything else gets Slack's
        sign-in page, HTML with a 200, as Slack answers).

        ``connect``: shared from another organisation over Slack Connect: the event
        carries only the id and ``file_access: check_file_info``; ``files.info`` tells
        the rest. ``size``: what Slack says (default: the real length)."""
        guessed_mimetype, guessed_filetype = _mimetype(name)
        file_id = new_file_id()
        url = f"{self.base_url}/files-pri/{self.team_id}-{file_id}/{name}"
        full: JSON = {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": name,
            "mimetype": mimetype or guessed_mimetype,
            "filetype": filetype or guessed_filetype,
            "user": user,
            "user_team": self.team_id,
            "size": len(content) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "url_private": url,
            "url_private_download": url,
        }
        self._shared[file_id] = (full, content)
        if connect:
            return {"id": file_id, "mode": "file_access", "file_access": "check_file_info"}
        return copy.deepcopy(full)

    def unshare_file(self, file_id: str) -> None:
        """The file was deleted: files.info answers file_not_found, its URL 404."""
        self._shared.pop(file_id, None)

    def downloads(self) -> list[SlackCall]:
        return self.calls(DOWNLOAD_METHOD)

    def paste_links(self, channel: str, urls: Sequence[str], **kwargs: Any) -> JSON:
        """Someone pasted ``urls`` in ``channel``: the ``link_shared`` event Slack sends the
        app, whose message chat.unfurl may then unfurl (those URLs only)."""
        event = link_shared(urls, channel=channel, **kwargs)
        where = (channel, str(event["message_ts"]))
        self._pasted[where] = list(urls)
        self._pasted_by_unfurl_id[str(event["unfurl_id"])] = where
        return event

    def unfurls(self, channel: str, ts: str) -> dict[str, JSON]:
        """url -> {"unfurl": classic unfurl, "entity": Work Object} the app gave (copies)."""
        return copy.deepcopy(self._unfurls.get((channel, ts), {}))

    def leave(self, channel: str) -> None:
        """The bot is not (or no longer) a member of ``channel``: chat.postMessage there
        answers ``not_in_channel``, as Slack does."""
        self._outside.add(channel)

    def dm_of(self, user: str) -> str:
        """The id of the app's DM with ``user`` (where a post to their user id goes)."""
        return "D" + user[1:]

    def join(self, channel: str) -> None:
        """The bot is invited (back) to ``channel``."""
        self._outside.discard(channel)

    def add_user(
        self, user_id: str, *, name: str | None = None, real_name: str | None = None, **extra: Any
    ) -> JSON:
        """Register a user for ``users.info`` (others get a synthetic profile)."""
        name = name or user_id.lower()
        user: JSON = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name or name.title(),
            "deleted": False,
            "is_bot": False,
            "tz": "America/Chicago",
            "profile": {"real_name": real_name or name.title(), "display_name": name},
            **extra,
        }
        self._users[user_id] = user
        return user

    def add_usergroup(
        self,
        group_id: str,
        users: Sequence[str],
        *,
        name: str | None = None,
        team_id: str | None = None,
        disabled: bool = False,
    ) -> JSON:
        """A user group of ``team_id``'s (default: the first workspace), as
        ``usergroups.list`` and ``usergroups.users.list`` answer it."""
        team = team_id or self.team_id
        group: JSON = {
            "id": group_id,
            "team_id": team,
            "is_usergroup": True,
            "name": name or f"Group {group_id}",
            "handle": (name or group_id).lower().replace(" ", "-"),
            "date_delete": 1_700_000_000 if disabled else 0,
            "users": list(users),
            "user_count": len(users),
        }
        self._usergroups.setdefault(team, {})[group_id] = group
        return group

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str = USER_ID,
        ts: str | None = None,
        thread_ts: str | None = None,
        team: str | None = None,
        **extra: Any,
    ) -> str:
        """Store a message someone else wrote (e.g. the mention that starts a thread), so
        ``conversations.replies`` returns it and ``chat.update`` refuses to edit it;
        ``team``: in that workspace (default: the first)."""
        ts = ts or new_ts()
        message: JSON = {"type": "message", "user": user, "text": text, "ts": ts, **extra}
        if thread_ts is not None and thread_ts != ts:
            message["thread_ts"] = thread_ts
        with self._as_team(team):
            self._channels.setdefault(channel, {})[ts] = message
        return ts

    def clear_calls(self) -> None:
        self._calls.clear()
        self.rejections.clear()

    # -- reading what happened -------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        return [c for c in self._calls if method is None or c.method == method]

    def messages(
        self, channel: str, thread_ts: str | None = None, *, team: str | None = None
    ) -> list[JSON]:
        """Stored messages in ts order (copies): the whole channel, or one thread (parent
        included when stored); ``team``: of that workspace (default: the first)."""
        with self._as_team(team):
            stored = dict(self._channels.get(channel, {}))
        found = [
            m
            for m in stored.values()
            if thread_ts is None or m["ts"] == thread_ts or m.get("thread_ts") == thread_ts
        ]
        return [copy.deepcopy(m) for m in sorted(found, key=lambda m: _ts_key(m["ts"]))]

    def message(self, channel: str, ts: str) -> JSON | None:
        found = self._channels.get(channel, {}).get(ts)
        return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[JSON]:
        return [
            copy.deepcopy(e)
            for e in self._ephemerals
            if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
        ]

    def files(self) -> list[FakeFile]:
        return list(self._files.values())

    def views(self, callback_id: str | None = None) -> list[JSON]:
        """Modals the app opened or pushed, in opening order, as last updated (copies)."""
        return [
            copy.deepcopy(v)
            for v in self._views.values()
            if callback_id is None or v.get("callback_id") == callback_id
        ]

    def reactions(self, channel: str, ts: str) -> list[str]:
        return list(self._reactions.get((channel, ts), []))

    def pings(self, kinds: Iterable[str] | None = None) -> list[Ping]:
        """Notifications the accepted messages would have sent: ``<!channel>``,
        ``<!here>``, ``<!everyone>``, ``<@U…>``, ``<!subteam^…>`` in message text or any
        block text, and rich_text user/usergroup/broadcast elements. Slack accepts all of
        them, so the fake never rejects; tests assert this list is empty."""
        wanted = set(kinds) if kinds is not None else None
        found: list[Ping] = []
        for call in self._calls:
            if not call.ok or call.method not in (
                "chat.postMessage",
                "chat.update",
                "chat.postEphemeral",
                "files.completeUploadExternal",
            ):
                continue
            channel = call.args.get("channel") or call.args.get("channel_id")
            assert call.response is not None
            ts = call.response.get("ts") or call.response.get("message_ts")
            hits: list[tuple[str, str, str]] = []
            for key in ("text", "initial_comment"):
                if isinstance(call.args.get(key), str):
                    hits.extend((k, t, f"/{key}") for k, t in _scan_text(call.args[key]))
            hits.extend(_scan_blocks(call.args.get("blocks"), "/blocks"))
            for kind, token, where in hits:
                if wanted is None or kind in wanted:
                    found.append(Ping(kind, token, call.method, channel, ts, where))
        return found

    @property
    def socket_clients(self) -> int:
        return len(self._sockets)

    def dump(self, last: int = 40) -> str:
        lines = [f"  {c.summary()}" for c in self._calls[-last:]]
        skipped = len(self._calls) - len(lines)
        head = f"recorded calls ({len(self._calls)}" + (
            f", first {skipped} omitted)" if skipped else ")"
        )
        return "\n".join([head + ":", *lines]) if lines else "no calls recorded"

    async def wait_for(
        self,
        predicate: Callable[[FakeSlack], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded poll, not a cancellable wait
        interval: float = 0.01,
    ) -> T:
        """Poll ``predicate(fake)`` until it returns something truthy, and return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            if loop.time() >= deadline:
                raise AssertionError(f"condition not met within {timeout} s\n{self.dump()}")
            await asyncio.sleep(interval)

    async def wait_for_call(
        self,
        method: str,
        match: Callable[[JSON], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded poll
    ) -> SlackCall:
        """The first answered call of ``method`` whose args satisfy ``match``."""

        def find(fake: FakeSlack) -> SlackCall | None:
            for call in fake._calls:
                if (
                    call.method == method
                    and call.response is not None
                    and (match is None or match(call.args))
                ):
                    return call
            return None

        try:
            return await self.wait_for(find, timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(
                f"no matching {method} call within {timeout} s\n{self.dump()}"
            ) from exc

    # -- Socket Mode -----------------------------------------------------------------------

    async def socket_send(
        self,
        envelope: Mapping[str, Any],
        timeout: float = 5.0,  # noqa: ASYNC109 - bounded wait for the ack
    ) -> JSON:
        """Deliver ``envelope`` to one connected client (round-robin, as Slack spreads
        envelopes over an app's connections) and return its ack frame."""
        envelope_id = envelope.get("envelope_id")
        if not isinstance(envelope_id, str):
            raise ValueError("the envelope needs a string envelope_id")
        try:
            await self.wait_for(lambda f: f.socket_clients, timeout=timeout)
        except AssertionError:
            raise AssertionError(f"no Socket Mode client connected within {timeout} s") from None
        ws = self._sockets[self._socket_rr % len(self._sockets)]
        self._socket_rr += 1
        waiter: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._ack_waiters[envelope_id] = waiter
        self.socket_sent.append(copy.deepcopy(dict(envelope)))
        try:
            await ws.send_str(json.dumps(envelope))
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise AssertionError(
                f"no ack for envelope {envelope_id} within {timeout} s "
                f"(acks so far: {[a.get('envelope_id') for a in self.socket_acks]})"
            ) from None
        finally:
            self._ack_waiters.pop(envelope_id, None)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does every few hours."""
        frame = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        for ws in list(self._sockets):
            await ws.send_str(json.dumps(frame))

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        # autoping answers the SDK's "sdk-ping-pong:<time>" pings with matching pongs; the
        # client treats a connection without pongs for 4 intervals as stale.
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connections_total += 1
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": len(self._sockets),
                        "debug_info": {
                            "host": "applink-fake",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_socket_frame(frame.data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    def _on_socket_frame(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        self.socket_received.append(message)
        envelope_id = message.get("envelope_id")
        if isinstance(envelope_id, str):
            self.socket_acks.append(message)
            waiter = self._ack_waiters.get(envelope_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    # -- plumbing --------------------------------------------------------------------------

    def _take(self, method: str, kind: str) -> _Fault | None:
        for fault in self._faults:
            if fault.kind == kind and fault.matches(method):
                fault.remaining -= 1
                return fault
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    def _record_answer(self, call: SlackCall, status: int, body: JSON) -> None:
        call.status, call.response = status, body
        if body.get("ok") is False and body.get("error") in RULE_ERRORS and call.fault is None:
            self.rejections.append(call)
        elif body.get("warning") == "invalid_metadata_format":
            self.rejections.append(call)  # taken, but what the app meant to show was dropped

    def _respond(
        self,
        call: SlackCall,
        body: JSON,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        self._record_answer(call, status, body)
        return web.json_response(body, status=status, headers=dict(headers or {}))

    async def _scripted(self, call: SlackCall) -> web.Response | None:
        """Apply scripted delays and faults; a response when a fault answers the call."""
        delay = self._take(call.method, "delay")
        if delay is not None:
            await self._pause(delay.seconds)
        fault = self._take(call.method, "answer")
        if fault is None:
            return None
        if fault.retry_after is not None:
            call.fault = "ratelimited"
            return self._respond(
                call,
                _err("ratelimited"),
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.error is not None:
            call.fault = "error"
            return self._respond(call, _err(fault.error), status=fault.status or 200)
        call.fault = "status"
        return self._respond(call, _err("internal_error"), status=fault.status or 500)

    @staticmethod
    async def _read_args(request: web.Request) -> tuple[JSON, bool]:
        """Args from query and body as slack_sdk sends them; (args, body_was_valid)."""
        args: JSON = dict(request.query.items())
        valid = True
        if request.can_read_body:
            if request.content_type == "application/json":
                raw = await request.read()
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    args.update(body)
                else:
                    valid = False
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
            else:
                await request.read()
        for key in _JSON_FIELDS:
            value = args.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(value)
        return args, valid

    def _auth_error(self, method: str, token: str | None) -> JSON | None:
        if method == "oauth.v2.access":
            return None  # the app's client id and secret, checked by the method
        if not token:
            return _err("not_authed")
        team = self.teams.get(token)
        if method == "apps.connections.open":
            if token == self.app_token:
                return None
            return _err("not_allowed_token_type") if team is not None else _err("invalid_auth")
        if team is not None:
            return _err("token_revoked") if team.revoked else None
        if token == self.app_token:
            return _err("not_allowed_token_type")
        return _err("invalid_auth")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args, valid = await self._read_args(request)
        token: str | None = None
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :].strip()
        form_token = args.pop("token", None)
        token = token or (str(form_token) if form_token else None)
        call = SlackCall(
            method=method,
            args=args,
            headers=CIMultiDict(request.headers),
            timestamp=time.time(),
            http_method=request.method,
        )
        self._calls.append(call)
        scripted = await self._scripted(call)
        if scripted is not None:
            return scripted
        handler = self._methods.get(method)
        if handler is None:
            return self._respond(call, _err("unknown_method"))
        denied = self._auth_error(method, token)
        if denied is not None:
            return self._respond(call, denied)
        if not valid:
            return self._respond(call, _err("invalid_json"))
        team = self.teams.get(token or "")
        call.team = team.team_id if team is not None else None
        headers = {"x-oauth-scopes": ",".join(self.bot_scopes)} if team is not None else {}
        # Handlers do not await: the workspace of this call is theirs until they return.
        self._current_team = team or self._current_team
        self._current_basic = _basic(request)
        try:
            return self._respond(call, handler(args), headers=headers)
        finally:
            self._current_team = self.teams[self.bot_token]

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            parts = [v for v in form.values() if isinstance(v, web.FileField)]
            data = parts[0].file.read() if parts else b""
        else:
            data = await request.read()
        call = SlackCall(
            method=UPLOAD_METHOD,
            args={"file_id": file_id, "length": len(data)},
            headers=CIMultiDict(request.headers),
            timestamp=time.time(),
        )
        self._calls.append(call)
        scripted = await self._scripted(call)
        if scripted is not None:
            return scripted
        fake_file = self._files.get(file_id)
        if fake_file is None:
            self._record_answer(call, 404, _err("file_not_found"))
            return web.Response(status=404, text="file not found", content_type="text/plain")
        fake_file.content = data
        # The real upload URL answers in text/plain, which slack_sdk reads as text.
        text = f"OK - {len(data)}"
        self._record_answer(call, 200, {"ok": True, "body": text})
        return web.Response(text=text, content_type="text/plain")

    async def _handle_download(self, request: web.Request) -> web.Response:
        team, _, file_id = request.match_info["team_file"].partition("-")
        call = SlackCall(
            method=DOWNLOAD_METHOD,
            args={"file": file_id, "name": request.match_info["name"]},
            headers=CIMultiDict(request.headers),
            timestamp=time.time(),
            http_method="GET",
        )
        self._calls.append(call)
        scripted = await self._scripted(call)
        if scripted is not None:
            return scripted
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ")
        holder = self.teams.get(token) if authorization.startswith("Bearer ") else None
        if holder is None or holder.revoked:
            # Slack's quirk: no token, or a wrong one, is the sign-in page, not a 401.
            self._record_answer(call, 200, {"ok": False, "error": "sign_in_page"})
            return web.Response(text=SIGN_IN_PAGE, content_type="text/html")
        call.team = holder.team_id
        shared = self._shared.get(file_id)
        # A workspace's token reads only that workspace's files.
        if shared is None or team != holder.team_id:
            self._record_answer(call, 404, _err("file_not_found"))
            return web.Response(status=404, text="Not found", content_type="text/plain")
        full, content = shared
        self._record_answer(call, 200, {"ok": True, "length": len(content)})
        return web.Response(body=content, content_type=str(full["mimetype"]))

    def _chat_unfurl(self, args: JSON) -> JSON:
        if args.get("unfurl_id") or args.get("source"):
            if not (args.get("unfurl_id") and args.get("source")):
                return _invalid_arguments(["unfurl_id and source go together"])
            where = self._pasted_by_unfurl_id.get(str(args["unfurl_id"]))
        else:
            where = (str(args.get("channel") or ""), str(args.get("ts") or ""))
        if where is None or where not in self._pasted:
            return _err("cannot_find_message")
        unfurls, metadata = args.get("unfurls"), args.get("metadata")
        if isinstance(unfurls, str):
            with contextlib.suppress(ValueError):
                unfurls = json.loads(unfurls)
        if unfurls is None and metadata is None:
            return _invalid_arguments(["unfurls or metadata is required"])
        if unfurls is not None and not isinstance(unfurls, dict):
            return _err("invalid_unfurls_format")
        pasted = self._pasted[where]
        for url, unfurl in (unfurls or {}).items():
            if url not in pasted:
                return _err("cannot_unfurl_url")
            blocks = unfurl.get("blocks") if isinstance(unfurl, dict) else None
            problems = block_errors(blocks) if blocks is not None else ["no blocks"]
            if problems:
                return _invalid_blocks(problems)
        entities = (metadata or {}).get("entities") if isinstance(metadata, dict) else None
        warnings = _entity_problems(entities, pasted) if metadata is not None else []
        done = self._unfurls.setdefault(where, {})
        for url, unfurl in (unfurls or {}).items():
            done.setdefault(url, {})["unfurl"] = copy.deepcopy(unfurl)
        if warnings:
            # Slack's way with a bad Work Object: ok, the metadata dropped, a warning.
            return {
                "ok": True,
                "warning": "invalid_metadata_format",
                "response_metadata": {"messages": warnings},
            }
        for entity in entities or []:
            done.setdefault(str(entity["app_unfurl_url"]), {})["entity"] = copy.deepcopy(entity)
        return {"ok": True}

    def _usergroups_list(self, args: JSON) -> JSON:
        if "usergroups:read" not in self.bot_scopes:
            return _err("missing_scope", needed="usergroups:read")
        groups = self._usergroups.get(self._current_team.team_id, {}).values()
        include_disabled = str(args.get("include_disabled") or "").lower() in ("1", "true")
        listed = []
        for group in groups:
            if group["date_delete"] and not include_disabled:
                continue
            shown = {k: v for k, v in group.items() if k != "users"}
            if str(args.get("include_users") or "").lower() in ("1", "true"):
                shown["users"] = list(group["users"])
            listed.append(copy.deepcopy(shown))
        return {"ok": True, "usergroups": listed}

    def _usergroups_users_list(self, args: JSON) -> JSON:
        if "usergroups:read" not in self.bot_scopes:
            return _err("missing_scope", needed="usergroups:read")
        group = self._usergroups.get(self._current_team.team_id, {}).get(
            str(args.get("usergroup") or "")
        )
        if group is None:
            return _err("no_such_subteam")
        if group["date_delete"] and str(args.get("include_disabled") or "") not in ("1", "true"):
            return _err("no_such_subteam")
        return {"ok": True, "users": list(group["users"])}

    def _files_info(self, args: JSON) -> JSON:
        if "files:read" not in self.bot_scopes:
            return _err("missing_scope", needed="files:read")
        shared = self._shared.get(str(args.get("file") or ""))
        if shared is None:
            return _err("file_not_found")
        return {"ok": True, "file": copy.deepcopy(shared[0]), "comments": []}

    async def _handle_respond(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        call = SlackCall(
            method=RESPOND_METHOD,
            args=body if isinstance(body, dict) else {},
            headers=CIMultiDict(request.headers),
            timestamp=time.time(),
        )
        self._calls.append(call)
        issued = self._response_urls.get(hook)
        if issued is None or time.monotonic() - issued[0] > RESPONSE_URL_TTL_S:
            self._record_answer(call, 404, _err("expired_url"))
            return web.Response(status=404, text="expired_url")
        if issued[1] <= 0:
            self._record_answer(call, 410, _err("used_url"))
            return web.Response(status=410, text="used_url")
        if not isinstance(body, dict):
            self._record_answer(call, 400, _err("invalid_payload"))
            return web.Response(status=400, text="invalid_payload")
        problems = _message_problems(
            body.get("blocks"),
            body.get("text"),
            max_text=MAX_POST_TEXT,
            blocks_text_limit=self.blocks_text_limit,
        )
        if problems or not (body.get("text") or body.get("blocks")):
            error = problems[0][0] if problems else "no_text"
            self._record_answer(call, 400, _err(error))  # a rule error counts as a rejection
            return web.Response(status=400, text=error)
        self._response_urls[hook] = (issued[0], issued[1] - 1)
        self._responses.append(copy.deepcopy(body))
        self._record_answer(call, 200, {"ok": True})
        return web.Response(text="ok", content_type="text/html")

    # -- messages --------------------------------------------------------------------------

    def _content_error(self, args: JSON, *, max_text: int, require: bool = True) -> JSON | None:
        text, blocks, attachments = args.get("text"), args.get("blocks"), args.get("attachments")
        if blocks is not None and not isinstance(blocks, list):
            return _err("invalid_blocks_format")
        if attachments is not None and not isinstance(attachments, list):
            return _err("invalid_attachments")
        if require and not text and not blocks and not attachments:
            return _err("no_text")
        problems = _message_problems(
            blocks, text, max_text=max_text, blocks_text_limit=self.blocks_text_limit
        )
        if problems:
            error = problems[0][0]
            if error == "invalid_blocks":
                return _invalid_blocks([m for e, m in problems if e == error])
            return _err(error)
        metadata = args.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, Mapping)
            and isinstance(metadata.get("event_type"), str)
            and isinstance(metadata.get("event_payload"), Mapping)
        ):
            return _err("invalid_metadata_format")
        return None

    def _public(self, message: JSON, *, with_metadata: bool = False) -> JSON:
        out = copy.deepcopy(message)
        if not with_metadata:
            out.pop("metadata", None)
        return out

    def _post_message(self, args: JSON) -> JSON:
        channel = args.get("channel")
        if not channel:
            return _err("channel_not_found")
        if str(channel)[:1] in ("U", "W"):
            # A user's id: Slack posts in the app's DM with them (its Messages tab), and
            # answers with that conversation's id.
            channel = self.dm_of(str(channel))
        if channel in self._outside:
            return _err("not_in_channel")
        problem = self._content_error(args, max_text=MAX_POST_TEXT)
        if problem is not None:
            return problem
        ts = new_ts()
        message: JSON = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "text": args.get("text") or "",
        }
        if args.get("blocks") is not None:
            message["blocks"] = copy.deepcopy(args["blocks"])
        if args.get("attachments") is not None:
            message["attachments"] = copy.deepcopy(args["attachments"])
        if args.get("metadata") is not None:
            message["metadata"] = copy.deepcopy(args["metadata"])
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        self._channels.setdefault(str(channel), {})[ts] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": self._public(message)}

    def _update(self, args: JSON) -> JSON:
        channel, ts = args.get("channel"), args.get("ts")
        if not channel:
            return _err("channel_not_found")
        message = self._channels.get(str(channel), {}).get(str(ts))
        if message is None:
            return _err("message_not_found")
        if message.get("bot_id") != self.bot_id:
            return _err("cant_update_message")
        problem = self._content_error(args, max_text=MAX_UPDATE_TEXT)
        if problem is not None:
            return problem
        # Fields left out keep their old value; an empty blocks list removes the blocks.
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args:
                message[key] = copy.deepcopy(args[key])
        message["edited"] = {"user": self.bot_user_id, "ts": new_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message.get("text", ""),
            "message": self._public(message),
        }

    def _post_ephemeral(self, args: JSON) -> JSON:
        channel, user = args.get("channel"), args.get("user")
        if not channel:
            return _err("channel_not_found")
        if not user:
            return _err("user_not_in_channel")
        problem = self._content_error(args, max_text=MAX_POST_TEXT)
        if problem is not None:
            return problem
        ts = new_ts()
        self._ephemerals.append(
            {
                "team": self._current_team.team_id,
                "channel": channel,
                "user": user,
                "ts": ts,
                "thread_ts": args.get("thread_ts"),
                "text": args.get("text") or "",
                "blocks": copy.deepcopy(args.get("blocks") or []),
            }
        )
        return {"ok": True, "message_ts": ts}

    def _delete(self, args: JSON) -> JSON:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        message = self._channels.get(channel, {}).get(ts)
        if message is None:
            return _err("message_not_found")
        if message.get("bot_id") != self.bot_id:
            return _err("cant_delete_message")
        del self._channels[channel][ts]
        return {"ok": True, "channel": channel, "ts": ts}

    def _permalink(self, args: JSON) -> JSON:
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            return _err("channel_not_found")
        if not ts:
            return _err("message_not_found")
        # Lenient: a message the fake never saw (a person's mention) still gets a link.
        url = f"{PERMALINK_HOST}/archives/{channel}/p{str(ts).replace('.', '')}"
        message = self._channels.get(str(channel), {}).get(str(ts))
        if message is not None and message.get("thread_ts") not in (None, ts):
            url += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": url}

    def _replies(self, args: JSON) -> JSON:
        channel, ts = str(args.get("channel") or ""), str(args.get("ts") or "")
        stored = self._channels.get(channel, {})
        found = stored.get(ts)
        root_ts = str(found.get("thread_ts") or ts) if found is not None else ts
        parent = stored.get(root_ts)
        replies = sorted(
            (m for m in stored.values() if m.get("thread_ts") == root_ts and m["ts"] != root_ts),
            key=lambda m: _ts_key(m["ts"]),
        )
        if parent is None and not replies:
            return _err("thread_not_found")
        inclusive = _flag(args.get("inclusive"))
        oldest, latest = args.get("oldest"), args.get("latest")

        def in_range(m: JSON) -> bool:
            key = _ts_key(m["ts"])
            if oldest is not None:
                low = _ts_key(oldest)
                if key < low or (key == low and not inclusive):
                    return False
            if latest is not None:
                high = _ts_key(latest)
                if key > high or (key == high and not inclusive):
                    return False
            return True

        offset = 0
        cursor = args.get("cursor")
        if cursor:
            try:
                offset = int(base64.b64decode(str(cursor)).decode().removeprefix("offset:"))
            except ValueError:
                return _err("invalid_cursor")
        try:
            limit = int(args.get("limit") or REPLIES_DEFAULT_LIMIT)
        except ValueError:
            limit = REPLIES_DEFAULT_LIMIT
        with_metadata = _flag(args.get("include_all_metadata"))
        page: list[JSON] = []
        # Slack quirk: the first page always starts with the thread's parent, whatever
        # oldest/latest say; later pages omit it. Whether the parent counts against
        # limit is undocumented: the fake counts it (the stricter reading), so fetching
        # one reply with limit=1 gets the parent only.
        if parent is not None and offset == 0:
            head = self._public(parent, with_metadata=with_metadata)
            if replies:
                head.update(
                    thread_ts=root_ts,
                    reply_count=len(replies),
                    reply_users=sorted({str(r.get("user")) for r in replies}),
                    reply_users_count=len({r.get("user") for r in replies}),
                    latest_reply=replies[-1]["ts"],
                )
            page.append(head)
        matching = [r for r in replies if in_range(r)]
        room = max(limit - len(page), 0)
        chunk = matching[offset : offset + room]
        page.extend(self._public(r, with_metadata=with_metadata) for r in chunk)
        next_offset = offset + len(chunk)
        has_more = next_offset < len(matching)
        next_cursor = (
            base64.b64encode(f"offset:{next_offset}".encode()).decode() if has_more else ""
        )
        return {
            "ok": True,
            "messages": page,
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _history(self, args: JSON) -> JSON:
        channel = str(args.get("channel") or "")
        if channel in self._outside:
            return _err("not_in_channel")  # the bot reads only where it is a member
        # ``oldest`` and ``latest`` bound the messages, each end excluded unless
        # ``inclusive`` (Slack's default: false).
        inclusive = _flag(args.get("inclusive"))
        oldest = _ts_key(str(args["oldest"])) if args.get("oldest") else None
        latest = _ts_key(str(args["latest"])) if args.get("latest") else None

        def within(ts: str) -> bool:
            key = _ts_key(ts)
            if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
                return False
            return latest is None or key < latest or (key == latest and inclusive)

        top = [
            m
            for m in self._channels.get(channel, {}).values()
            if m.get("thread_ts") in (None, m["ts"]) and within(m["ts"])
        ]
        top.sort(key=lambda m: _ts_key(m["ts"]), reverse=True)
        limit = int(args.get("limit") or 100)
        with_metadata = _flag(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [self._public(m, with_metadata=with_metadata) for m in top[:limit]],
            "has_more": len(top) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _reactions_add(self, args: JSON) -> JSON:
        name = args.get("name")
        channel, ts = args.get("channel"), args.get("timestamp")
        if not name:
            return _err("invalid_name")
        if not channel or not ts:
            return _err("no_item_specified")
        names = self._reactions.setdefault((str(channel), str(ts)), [])
        if name in names:
            return _err("already_reacted")
        names.append(str(name))
        return {"ok": True}

    # -- views -----------------------------------------------------------------------------

    def _trigger_error(self, trigger_id: str) -> JSON | None:
        if trigger_id in self._used_triggers:
            return _err("exchanged_trigger_id")
        issued = self._triggers.get(trigger_id)
        if issued is None or time.monotonic() - issued > self.trigger_ttl:
            return _err("expired_trigger_id")
        return None

    def _store_view(
        self,
        view: JSON,
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JSON:
        view_id = view_id or "V" + secrets.token_hex(5).upper()
        stored: JSON = {
            "id": view_id,
            "team_id": self._current_team.team_id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self._current_team.team_id,
            "bot_id": self._current_team.bot_id,
        }
        self._views[view_id] = stored
        return copy.deepcopy(stored)

    def _open_or_push(self, args: JSON) -> JSON:
        trigger_id = args.get("trigger_id") or args.get("interactivity_pointer")
        if not trigger_id:
            return _invalid_arguments(["missing required field: trigger_id"])
        if args.get("view") is None:
            return _invalid_arguments(["missing required field: view"])
        expired = self._trigger_error(str(trigger_id))
        if expired is not None:
            return expired
        errors = view_errors(args["view"])
        if errors:
            return _invalid_arguments(errors)
        self._used_triggers.add(str(trigger_id))
        return {"ok": True, "view": self._store_view(args["view"])}

    def _views_open(self, args: JSON) -> JSON:
        return self._open_or_push(args)

    def _views_push(self, args: JSON) -> JSON:
        return self._open_or_push(args)

    def _views_update(self, args: JSON) -> JSON:
        view = args.get("view")
        if view is None:
            return _invalid_arguments(["missing required field: view"])
        view_id, external_id = args.get("view_id"), args.get("external_id")
        target: JSON | None
        if view_id:
            target = self._views.get(str(view_id))
        elif external_id:
            target = next(
                (v for v in self._views.values() if v.get("external_id") == external_id), None
            )
        else:
            return _invalid_arguments(["either view_id or external_id is required"])
        if target is None:
            return _err("not_found")
        if args.get("hash") and args["hash"] != target["hash"]:
            return _err("hash_conflict")
        errors = view_errors(view)
        if errors:
            return _invalid_arguments(errors)
        stored = self._store_view(
            view,
            view_id=target["id"],
            root_view_id=target["root_view_id"],
            previous_view_id=target["previous_view_id"],
        )
        return {"ok": True, "view": stored}

    # -- users, auth, files, socket --------------------------------------------------------

    def _auth_test(self, args: JSON) -> JSON:
        team = self._current_team
        answer: JSON = {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Fake Workspace" if team.team_id == self.team_id else team.name,
            "user": "origami",
            "team_id": team.team_id,
            "user_id": team.bot_user_id,
            "bot_id": team.bot_id,
            "is_enterprise_install": False,
        }
        if team.enterprise_id is not None:
            answer["enterprise_id"] = team.enterprise_id
        return answer

    def _oauth_v2_access(self, args: JSON) -> JSON:
        # slack_sdk sends the client id and secret as HTTP Basic auth (or as fields).
        client_id, _, client_secret = self._current_basic.partition(":")
        client_id = client_id or str(args.get("client_id") or "")
        client_secret = client_secret or str(args.get("client_secret") or "")
        if client_id != self.client_id:
            return _err("invalid_client_id")
        if client_secret != self.client_secret:
            return _err("bad_client_secret")
        grant = self._oauth_codes.get(str(args.get("code") or ""))
        if grant is None or grant.used:
            return _err("invalid_code")
        grant.used = True
        team = grant.team
        team.revoked = False
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": grant.user_id},
            "scope": ",".join(self.bot_scopes),
            "token_type": "bot",
            "access_token": team.bot_token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.team_id, "name": team.name},
            "enterprise": (
                {"id": team.enterprise_id, "name": "Fake Grid"} if team.enterprise_id else None
            ),
            "is_enterprise_install": False,
        }

    def _views_publish(self, args: JSON) -> JSON:
        user_id, view = str(args.get("user_id") or ""), args.get("view")
        if not user_id or not isinstance(view, dict):
            return _invalid_arguments(["missing required field: user_id or view"])
        errors = view_errors(view, kind="home")
        if errors:
            return _invalid_arguments(errors)
        stored = self._store_view(view)
        self._home_views[(self._current_team.team_id, user_id)] = stored
        return {"ok": True, "view": stored}

    def _users_info(self, args: JSON) -> JSON:
        user_id = str(args.get("user") or "")
        user = self._users.get(user_id)
        if user is None and user_id == self.bot_user_id:
            user = self.add_user(user_id, name="origami", real_name="Origami", is_bot=True)
        elif user is None and re.fullmatch(r"[UW][A-Z0-9]+", user_id):
            user = self.add_user(user_id)
        if user is None:
            return _err("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _connections_open(self, args: JSON) -> JSON:
        ticket = uuid.uuid4()
        return {"ok": True, "url": f"{self.socket_url}?ticket={ticket}&app_id={self.app_id}"}

    def _upload_url(self, args: JSON) -> JSON:
        filename, length = args.get("filename"), args.get("length")
        if not filename:
            return _invalid_arguments(["missing required field: filename"])
        try:
            size = int(str(length))
        except (TypeError, ValueError):
            return _invalid_arguments(["missing required field: length"])
        file_id = new_file_id()
        self._files[file_id] = FakeFile(
            id=file_id,
            filename=str(filename),
            length=size,
            alt_txt=args.get("alt_txt"),
            snippet_type=args.get("snippet_type"),
        )
        return {
            "ok": True,
            "upload_url": f"{self.base_url}/upload/v1/{file_id}",
            "file_id": file_id,
        }

    def _file_json(self, f: FakeFile) -> JSON:
        mimetype, filetype = _mimetype(f.filename)
        now = int(time.time())
        return {
            "id": f.id,
            "created": now,
            "timestamp": now,
            "name": f.filename,
            "title": f.title or f.filename,
            "mimetype": mimetype,
            "filetype": filetype,
            "user": self.bot_user_id,
            "size": len(f.content or b""),
            "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{f.id}/{f.filename}",
            "permalink": f"{PERMALINK_HOST}/files/{self.bot_user_id}/{f.id}/{f.filename}",
        }

    def _complete_upload(self, args: JSON) -> JSON:
        entries = args.get("files")
        if not isinstance(entries, list) or not entries:
            return _invalid_arguments(["missing required field: files"])
        done: list[FakeFile] = []
        for entry in entries:
            f = self._files.get(str(entry.get("id"))) if isinstance(entry, Mapping) else None
            if f is None or not f.uploaded:
                return _err("file_not_found")
            f.title = entry.get("title") or f.filename
            done.append(f)
        channels = [str(args["channel_id"])] if args.get("channel_id") else []
        if args.get("channels"):
            channels += [c for c in str(args["channels"]).split(",") if c]
        thread_ts = args.get("thread_ts")
        comment = args.get("initial_comment")
        for f in done:
            f.channel_id = channels[0] if channels else None
            f.thread_ts = thread_ts
            f.initial_comment = comment
            f.completed = True
        files_json = [self._file_json(f) for f in done]
        for channel in channels:
            # Sharing into a channel posts a message by the app carrying the files.
            ts = new_ts()
            share: JSON = {
                "type": "message",
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "app_id": self.app_id,
                "team": self.team_id,
                "ts": ts,
                "text": comment or "",
                "files": copy.deepcopy(files_json),
                "upload": True,
            }
            if thread_ts:
                share["thread_ts"] = str(thread_ts)
            self._channels.setdefault(channel, {})[ts] = share
        return {"ok": True, "files": files_json}
