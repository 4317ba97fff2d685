"""The settings modal's submission, read as the untrusted input it is: every field is
checked for its type, shape and bounds, and each problem is said on its own block (Slack
shows ``response_action: errors`` under the input). Anyone can forge a submission; who
may submit one is checked by the listener, before this."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from bot.agent_platform import PROMPTS_MAX, SuggestedPrompt
from bot.slack import actions as ids
from bot.slack import settings_texts as texts
from bot.workspace_settings import CHANNELS_MAX, GROUPS_MAX, Audience, WorkspaceSettings

_CHANNEL_RE = re.compile(r"[CG][A-Z0-9]{1,32}")
_GROUP_RE = re.compile(r"S[A-Z0-9]{1,32}")
_TITLE_MAX = 75
_MESSAGE_MAX = 2_000
# Far more than any real submission holds; a forged one is refused before it is read.
_LIST_MAX = 1_000

Errors = dict[str, str]


def _element(values: Mapping[str, Any], block: str, action: str) -> Mapping[str, Any]:
    inner = values.get(block)
    element = inner.get(action) if isinstance(inner, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > _LIST_MAX:
        return None
    if not all(isinstance(v, str) for v in value):
        return None
    return list(dict.fromkeys(value))


def _channels(values: Mapping[str, Any], errors: Errors) -> tuple[str, ...]:
    element = _element(values, ids.SETTINGS_CHANNELS_BLOCK, ids.SETTINGS_CHANNELS_INPUT)
    chosen = _strings(element.get("selected_conversations"))
    if chosen is None or not all(_CHANNEL_RE.fullmatch(c) for c in chosen):
        errors[ids.SETTINGS_CHANNELS_BLOCK] = texts.ERROR_BAD_CHANNEL
        return ()
    if len(chosen) > CHANNELS_MAX:
        errors[ids.SETTINGS_CHANNELS_BLOCK] = texts.ERROR_TOO_MANY_CHANNELS.format(n=CHANNELS_MAX)
        return ()
    return tuple(chosen)


def _audience(values: Mapping[str, Any]) -> Audience | None:
    """The chosen audience; None when the modal had no such input (Slack sends values only
    for the input blocks a view holds: the groups could not be listed)."""
    if ids.SETTINGS_AUDIENCE_BLOCK not in values:
        return None
    element = _element(values, ids.SETTINGS_AUDIENCE_BLOCK, ids.SETTINGS_AUDIENCE_INPUT)
    option = element.get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    # Anything but the one limiting choice is everyone: the radio's default.
    return Audience.GROUPS if value == Audience.GROUPS.value else Audience.EVERYONE


def _groups(values: Mapping[str, Any], errors: Errors) -> tuple[str, ...] | None:
    """The chosen groups; None when the modal had no such input."""
    if ids.SETTINGS_GROUPS_BLOCK not in values:
        return None
    element = _element(values, ids.SETTINGS_GROUPS_BLOCK, ids.SETTINGS_GROUPS_INPUT)
    options = element.get("selected_options")
    if options is None:
        return ()
    if not isinstance(options, list) or len(options) > _LIST_MAX:
        errors[ids.SETTINGS_GROUPS_BLOCK] = texts.ERROR_UNKNOWN_GROUP
        return ()
    chosen = _strings([o.get("value") if isinstance(o, Mapping) else None for o in options])
    if chosen is None or not all(_GROUP_RE.fullmatch(g) for g in chosen):
        errors[ids.SETTINGS_GROUPS_BLOCK] = texts.ERROR_UNKNOWN_GROUP
        return ()
    if len(chosen) > GROUPS_MAX:
        errors[ids.SETTINGS_GROUPS_BLOCK] = texts.ERROR_TOO_MANY_GROUPS.format(n=GROUPS_MAX)
        return ()
    return tuple(chosen)


def _text(values: Mapping[str, Any], block: str) -> str | None:
    """The input's text, stripped ("" when empty); None when it is not text at all."""
    value = _element(values, block, ids.SETTINGS_PROMPT_INPUT).get("value")
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else None


def _prompts(values: Mapping[str, Any], errors: Errors) -> tuple[SuggestedPrompt, ...]:
    prompts = []
    for n in range(1, PROMPTS_MAX + 1):
        title_block = ids.SETTINGS_PROMPT_TITLE_BLOCK.format(n=n)
        message_block = ids.SETTINGS_PROMPT_MESSAGE_BLOCK.format(n=n)
        title, message = _text(values, title_block), _text(values, message_block)
        # A title is one line (Slack shows it as a button): no newline, no control.
        if title is None or len(title) > _TITLE_MAX or not title.isprintable():
            errors[title_block] = texts.ERROR_PROMPT_TITLE.format(n=_TITLE_MAX)
            continue
        if message is None or len(message) > _MESSAGE_MAX:
            errors[message_block] = texts.ERROR_PROMPT_MESSAGE.format(n=_MESSAGE_MAX)
            continue
        if not title and not message:
            continue
        if not title or not message:
            errors[title_block if not title else message_block] = texts.ERROR_PROMPT_HALF
            continue
        prompts.append(SuggestedPrompt(title=title, message=message))
    return tuple(prompts)


def parse_settings(
    view: Any, user_id: str, now: float, current: WorkspaceSettings
) -> WorkspaceSettings | Errors:
    """The settings a submitted view holds, or the errors to show on it, by block. What
    the modal could not offer (who may start agents, when Slack did not list the groups)
    stays as ``current`` has it: a submission without it is no choice of everyone."""
    state = view.get("state") if isinstance(view, Mapping) else None
    values = state.get("values") if isinstance(state, Mapping) else None
    if not isinstance(values, Mapping):
        values = {}
    errors: Errors = {}
    channels = _channels(values, errors)
    audience = _audience(values)
    if audience is None:
        audience = current.audience
    groups = _groups(values, errors)
    if groups is None:
        groups = current.groups
    if audience is Audience.GROUPS and not groups and not errors.get(ids.SETTINGS_GROUPS_BLOCK):
        errors[ids.SETTINGS_GROUPS_BLOCK] = texts.ERROR_GROUPS_NEEDED
    prompts = _prompts(values, errors)
    if errors:
        return errors
    try:
        return WorkspaceSettings(
            channels=channels,
            audience=audience,
            groups=groups,
            prompts=prompts,
            updated_by=user_id[:32],
            updated_at=now,
        )
    except ValidationError:
        # Every field was checked above; a model rule this parser missed is still refused.
        return {ids.SETTINGS_CHANNELS_BLOCK: texts.ERROR_BAD_CHANNEL}
