"""The schedule modal's submission, read field by field from its untrusted ``state``: a
``ScheduleForm``, or the errors to show under each input (``response_action: errors``)."""

from __future__ import annotations

from typing import Any

from bot.origami.client import PROMPT_MAX_CHARS, utf16_len
from bot.schedules.manage import ScheduleForm
from bot.schedules.when import When, cron_for, to_when
from bot.slack import schedule_actions as ids
from bot.slack import schedule_texts as texts


def _field(values: Any, block_id: str, action_id: str) -> dict[str, Any]:
    block = values.get(block_id) if isinstance(values, dict) else None
    entry = block.get(action_id) if isinstance(block, dict) else None
    return entry if isinstance(entry, dict) else {}


def to_form(view: Any) -> ScheduleForm | dict[str, str]:
    """The form, or ``{block_id: error}`` for each input that is not what it must be."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    errors: dict[str, str] = {}

    raw_prompt = _field(values, ids.PROMPT_BLOCK, ids.PROMPT_INPUT).get("value")
    prompt = raw_prompt.strip() if isinstance(raw_prompt, str) else ""
    if not prompt:
        errors[ids.PROMPT_BLOCK] = texts.PROMPT_EMPTY
    elif utf16_len(prompt) > PROMPT_MAX_CHARS:
        errors[ids.PROMPT_BLOCK] = texts.PROMPT_TOO_LONG.format(limit=PROMPT_MAX_CHARS)

    option = _field(values, ids.WHEN_BLOCK, ids.WHEN_INPUT).get("selected_option")
    when = to_when(option.get("value") if isinstance(option, dict) else None)
    cron = None
    if when is None:
        errors[ids.WHEN_BLOCK] = texts.WHEN_MISSING
    else:
        typed = _field(values, ids.CRON_BLOCK, ids.CRON_INPUT).get("value")
        cron = cron_for(when, typed)
        if cron is None:
            blank = not isinstance(typed, str) or not typed.strip()
            errors[ids.CRON_BLOCK] = texts.CRON_MISSING if blank else texts.CRON_SHAPE

    channel = _field(values, ids.CHANNEL_BLOCK, ids.CHANNEL_INPUT).get("selected_conversation")
    if not ids.is_channel_id(channel):
        errors[ids.CHANNEL_BLOCK] = texts.CHANNEL_MISSING

    if errors or cron is None or not isinstance(channel, str):
        return errors
    return ScheduleForm(prompt=prompt, cron=cron, channel=channel)


def cron_error_block(view: Any) -> str:
    """Where Origami's refusal of the cron is shown: under the custom cron when that was
    the choice, else under the choice."""
    option = _field(
        (view.get("state") or {}).get("values") if isinstance(view, dict) else None,
        ids.WHEN_BLOCK,
        ids.WHEN_INPUT,
    ).get("selected_option")
    when = to_when(option.get("value") if isinstance(option, dict) else None)
    return ids.CRON_BLOCK if when is When.CUSTOM else ids.WHEN_BLOCK
