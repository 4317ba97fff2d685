"""The fake Slack's checks of what the schedule modal adds: the conversation select in an
input block, and the ack of a ``view_submission`` (``response_action``).

As Slack's Block Kit reference and slack_sdk 3.48's models state them, written here on
their own (never read from the app's constants):

- ``conversations_select``: ``initial_conversation`` a conversation id (``C``, ``G`` or
  ``D`` and upper-case letters and digits), ``default_to_current_conversation`` and
  ``response_url_enabled`` booleans, and ``response_url_enabled`` only in a modal's input
  block; ``filter`` an object of ``include`` (a non-empty list of ``im``, ``mpim``,
  ``private``, ``public``), ``exclude_external_shared_channels`` and
  ``exclude_bot_users`` (booleans), with at least one of them.
- The ack of a ``view_submission``: empty, or ``response_action`` one of ``errors``,
  ``update``, ``push``, ``clear``. ``errors``: a non-empty object whose keys are the
  ``block_id`` of input blocks of the submitted view and whose values are non-empty
  strings (Slack shows each under its input); ``update`` and ``push``: a ``view`` that
  ``views.update`` would take.

This module is imported by ``tests.fakes.slack`` (it uses that module's ``_Errors``), and
tests call ``view_ack_errors`` on the HTTP answer to a submission.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_INCLUDE = frozenset({"im", "mpim", "private", "public"})
_FILTER_FLAGS = ("exclude_external_shared_channels", "exclude_bot_users")
_ACTIONS = frozenset({"errors", "update", "push", "clear"})


def check_conversations_select(
    errs: Any, el: Mapping[str, Any], ptr: str, *, in_input: bool
) -> None:
    initial = el.get("initial_conversation")
    if initial is not None and (
        not isinstance(initial, str) or not _CONVERSATION_ID.fullmatch(initial)
    ):
        errs.add(ptr + "/initial_conversation", "must be a conversation id")
    for flag in ("default_to_current_conversation", "response_url_enabled"):
        if flag in el and not isinstance(el[flag], bool):
            errs.add(f"{ptr}/{flag}", "must be a boolean")
    if el.get("response_url_enabled") and not in_input:
        errs.add(ptr + "/response_url_enabled", "only allowed in an input block of a modal")
    found = el.get("filter")
    if found is None:
        return
    if not isinstance(found, Mapping) or not found:
        errs.add(ptr + "/filter", "must be an object with at least one field")
        return
    for key in found:
        if key not in ("include", *_FILTER_FLAGS):
            errs.add(f"{ptr}/filter/{key}", "invalid additional property")
    include = found.get("include")
    if include is not None and (
        not isinstance(include, list)
        or not include
        or any(kind not in _INCLUDE for kind in include)
    ):
        errs.add(ptr + "/filter/include", "must be a non-empty list of im, mpim, private, public")
    for flag in _FILTER_FLAGS:
        if flag in found and not isinstance(found[flag], bool):
            errs.add(f"{ptr}/filter/{flag}", "must be a boolean")


def view_ack_errors(submitted: Mapping[str, Any], ack: Any) -> list[str]:
    """What Slack would refuse in the ack of a submission of the view ``submitted``
    (``ack``: the parsed JSON body of the answer, or None for an empty one)."""
    from tests.fakes.slack import view_errors

    if ack is None or ack == {}:
        return []
    if not isinstance(ack, Mapping):
        return ["the ack of a view_submission must be empty or a JSON object"]
    action = ack.get("response_action")
    if action not in _ACTIONS:
        return [f"response_action must be one of {sorted(_ACTIONS)}, not {action!r}"]
    if action in ("update", "push"):
        return view_errors(ack.get("view"))
    if action != "errors":
        return []
    errors = ack.get("errors")
    if not isinstance(errors, Mapping) or not errors:
        return ["errors must be a non-empty object"]
    inputs = {
        b.get("block_id")
        for b in submitted.get("blocks") or []
        if isinstance(b, Mapping) and b.get("type") == "input"
    }
    found = []
    for block_id, message in errors.items():
        if block_id not in inputs:
            found.append(f"errors names {block_id!r}, which is no input block of the view")
        if not isinstance(message, str) or not message.strip():
            found.append(f"the error of {block_id!r} must be a non-empty string")
    return found
