"""Schedules in Block Kit: the modal, what is posted in a schedule's channel, App Home's
section and ``/origami schedules``. Pure builders, within Slack's limits by construction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.schedules.records import ScheduleRecord, ScheduleView
from bot.schedules.when import LABELS, When, describe
from bot.slack import limits
from bot.slack import schedule_actions as ids
from bot.slack import schedule_texts as texts
from bot.slack.blocks.common import (
    Block,
    Message,
    actions_blocks,
    build_notice_modal,
    button_element,
    confirm_dialog,
    context_block,
    fallback_text,
    header_block,
    plain_text,
    section_block,
)
from bot.slack.mrkdwn import escape, mention, one_line

# Each schedule takes two blocks of App Home's 100, which other sections share: past this
# many, the rest are counted, not shown.
HOME_SHOWN = 20
NAME_SHOWN = 120


def _name(record: ScheduleRecord) -> str:
    return escape(one_line(record.name))[:NAME_SHOWN] or "Schedule"


def _channel(channel: str) -> str:
    return f"<#{channel}>" if ids.is_channel_id(channel) else "a channel"


def build_schedule_modal(prompt: str, channel: str, metadata: str) -> dict[str, Any]:
    """The modal a Schedule button opens: the prompt (prefilled), when, and where."""
    if len(metadata) > limits.MAX_PRIVATE_METADATA:
        raise ValueError("private_metadata is longer than Slack allows")
    prompt_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.PROMPT_INPUT,
        "multiline": True,
        "min_length": 1,
        "max_length": limits.MAX_TEXT_INPUT_LENGTH,
    }
    if prompt.strip():
        prompt_input["initial_value"] = prompt.strip()[: limits.MAX_TEXT_INPUT_LENGTH]
    options = [
        {"text": plain_text(LABELS[when]), "value": when.value}
        for when in (When.WEEKDAYS, When.MONDAYS, When.DAILY, When.MONTHLY, When.CUSTOM)
    ]
    channel_select: dict[str, Any] = {
        "type": "conversations_select",
        "action_id": ids.CHANNEL_INPUT,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    # The channel the button was clicked in; Slack's "current conversation" otherwise.
    if ids.is_channel_id(channel):
        channel_select["initial_conversation"] = channel
    else:
        channel_select["default_to_current_conversation"] = True
    return {
        "type": "modal",
        "callback_id": ids.SCHEDULE_MODAL,
        "private_metadata": metadata,
        "title": plain_text(texts.MODAL_TITLE[: limits.MAX_MODAL_TITLE]),
        "submit": plain_text(texts.MODAL_SUBMIT),
        "close": plain_text(texts.MODAL_CLOSE),
        "blocks": [
            section_block(texts.MODAL_INTRO, "intro"),
            _input(ids.PROMPT_BLOCK, texts.PROMPT_LABEL, prompt_input),
            _input(
                ids.WHEN_BLOCK,
                texts.WHEN_LABEL,
                {
                    "type": "static_select",
                    "action_id": ids.WHEN_INPUT,
                    "options": options,
                    "initial_option": options[1],  # every Monday: the common ask
                },
            ),
            _input(
                ids.CRON_BLOCK,
                texts.CRON_LABEL,
                {
                    "type": "plain_text_input",
                    "action_id": ids.CRON_INPUT,
                    "max_length": 100,
                    "placeholder": plain_text(texts.CRON_PLACEHOLDER),
                },
                optional=True,
                hint=texts.CRON_HINT,
            ),
            _input(ids.CHANNEL_BLOCK, texts.CHANNEL_LABEL, channel_select),
        ],
    }


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str = ""
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint)
    return block


def build_schedule_failed_view(text: str) -> dict[str, Any]:
    """What the modal becomes when the schedule could not be made (a plain message)."""
    return build_notice_modal(texts.FAILED_TITLE, texts.FAILED_CLOSE, text, "failed")


def build_scheduled_confirmation(record: ScheduleRecord) -> Message:
    """Posted in the schedule's channel once it is made (names nobody: no ping)."""
    text = texts.CONFIRMED.format(name=_name(record), when=escape(describe(record.cron)))
    return Message(text=fallback_text(text), blocks=[section_block(text, "scheduled")])


def build_cannot_post(record: ScheduleRecord) -> Message:
    text = texts.CANNOT_POST.format(name=_name(record), channel=record.channel)
    return Message(text=fallback_text(text), blocks=[section_block(text, "cannot_post")])


def build_runs_waiting(record: ScheduleRecord) -> Message:
    """To a schedule's maker, in the app's DM: its runs wait for a channel closed to it."""
    text = texts.RUNS_WAITING.format(name=_name(record), channel=record.channel)
    return Message(text=fallback_text(text), blocks=[section_block(text, "runs_waiting")])


def build_run_opener(record: ScheduleRecord) -> Message:
    """The top message of a scheduled run's thread, above the run's progress and result."""
    text = texts.RUN_OPENER.format(name=_name(record), when=escape(describe(record.cron)))
    return Message(text=fallback_text(text), blocks=[section_block(text, "scheduled_run")])


def _next_run(iso: str | None) -> str:
    """Slack's date formatting (shown in the reader's own time zone), from RFC 3339."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return ""
    epoch = int(moment.timestamp())
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    when = f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"
    return texts.NEXT_RUN.format(when=when)


def _summary(view: ScheduleView, *, with_maker: bool) -> str:
    record = view.record
    state = texts.ENABLED if view.enabled else texts.PAUSED
    if view.plan_blocked:
        state = texts.PLAN_BLOCKED
    facts = [escape(describe(record.cron)), _channel(record.channel), state]
    if view.enabled and (next_run := _next_run(view.next_run_at)):
        facts.append(next_run)
    if with_maker:
        facts.append(texts.MADE_BY.format(who=mention(record.creator)))
    return f"*{_name(record)}*\n" + " · ".join(facts)


def build_schedules_home(
    views: Sequence[ScheduleView] | None, *, may_change: frozenset[str]
) -> list[Block]:
    """App Home's schedules section. ``views`` None: Origami could not be read.
    ``may_change``: the ids of the schedules whose buttons this person gets (the buttons
    are a convenience: every change is checked again when clicked)."""
    blocks: list[Block] = [header_block(texts.HOME_TITLE, "schedules_title")]
    if views is None:
        return [*blocks, section_block(texts.HOME_UNAVAILABLE, "schedules_unavailable")]
    if not views:
        return [*blocks, section_block(texts.HOME_NONE, "schedules_none")]
    for n, view in enumerate(views[:HOME_SHOWN]):
        blocks.append(section_block(_summary(view, with_maker=True), f"schedule:{n}"))
        schedule_id = view.record.schedule_id
        if schedule_id not in may_change:
            continue
        switch = (
            button_element(texts.PAUSE, ids.PAUSE_SCHEDULE, value=schedule_id)
            if view.enabled
            else button_element(texts.RESUME, ids.RESUME_SCHEDULE, value=schedule_id)
        )
        delete = button_element(
            texts.DELETE,
            ids.DELETE_SCHEDULE,
            value=schedule_id,
            style="danger",
            confirm=confirm_dialog(
                texts.DELETE_CONFIRM_TITLE,
                texts.DELETE_CONFIRM_TEXT,
                texts.DELETE_CONFIRM_YES,
                texts.DELETE_CONFIRM_NO,
            ),
        )
        blocks += actions_blocks([switch, delete], f"schedule_actions:{n}")
    if len(views) > HOME_SHOWN:
        blocks.append(context_block(f"…and {len(views) - HOME_SHOWN} more.", "schedules_more"))
    blocks.append(context_block(texts.HOME_MAY_CHANGE, "schedules_who"))
    return blocks


def build_schedules_list(views: Sequence[ScheduleView] | None) -> Message:
    """``/origami schedules``: the workspace's schedules, shown only to whoever asked."""
    if views is None:
        return Message(texts.LIST_UNAVAILABLE, [section_block(texts.LIST_UNAVAILABLE, "list")])
    if not views:
        return Message(texts.LIST_NONE, [section_block(texts.LIST_NONE, "list")])
    blocks: list[Block] = [section_block(texts.LIST_TITLE, "list_title")]
    for n, view in enumerate(views[: limits.MAX_BLOCKS_PER_MESSAGE - 3]):
        blocks.append(section_block(_summary(view, with_maker=False), f"list:{n}"))
    blocks.append(context_block(texts.LIST_MANAGE, "list_manage"))
    return Message(text=fallback_text(texts.LIST_TITLE), blocks=blocks)
