"""App Home's settings section (what the workspace's settings are, and for admins the
button that changes them) and the settings modal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.agent_platform import PROMPTS_MAX
from bot.slack import actions as ids
from bot.slack import limits
from bot.slack import settings_texts as texts
from bot.slack.blocks.common import (
    Block,
    actions_blocks,
    build_notice_modal,
    button_element,
    context_block,
    header_block,
    plain_text,
    section_block,
)
from bot.slack.usergroups import GROUPS_LISTED_MAX, UserGroup
from bot.workspace_settings import CHANNELS_MAX, Audience, WorkspaceSettings

# Channels and groups named in the section; the rest are counted.
_NAMED_MAX = 10


def _named(items: Sequence[str], render: str) -> str:
    shown = ", ".join(render.format(item) for item in items[:_NAMED_MAX])
    more = len(items) - _NAMED_MAX
    return f"{shown} and {more} more" if more > 0 else shown


def build_settings_section(settings: WorkspaceSettings, *, may_manage: bool) -> list[Block]:
    """What the settings are (ids rendered by Slack: ``<#C…>``, ``<!subteam^S…>``; in a
    view they notify nobody), and the button for those who may change them (5 blocks)."""
    if settings.channels:
        channels = texts.CHANNELS_SOME.format(channels=_named(settings.channels, "<#{}>"))
    else:
        channels = texts.CHANNELS_ALL
    if settings.audience is Audience.GROUPS:
        audience = texts.AUDIENCE_GROUPS.format(groups=_named(settings.groups, "<!subteam^{}>"))
    else:
        audience = texts.AUDIENCE_EVERYONE
    if settings.prompts:
        prompts = texts.PROMPTS_OWN.format(count=len(settings.prompts))
    else:
        prompts = texts.PROMPTS_DEFAULT
    shown = f"{channels}\n{audience}\n{prompts}"
    blocks = [
        header_block(texts.SETTINGS_TITLE, "settings_title"),
        section_block(texts.SETTINGS_UNREADABLE if settings.unreadable else shown, "settings"),
    ]
    if may_manage:
        blocks += actions_blocks(
            [button_element(texts.CHANGE, ids.OPEN_SETTINGS)], "settings_actions"
        )
    return blocks


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain_text(text[:75] or value), "value": value}


def _audience_block(settings: WorkspaceSettings) -> Block:
    options = [
        _option(texts.AUDIENCE_EVERYONE_OPTION, Audience.EVERYONE.value),
        _option(texts.AUDIENCE_GROUPS_OPTION, Audience.GROUPS.value),
    ]
    chosen = options[1] if settings.audience is Audience.GROUPS else options[0]
    return {
        "type": "input",
        "block_id": ids.SETTINGS_AUDIENCE_BLOCK,
        "label": plain_text(texts.AUDIENCE_LABEL),
        "element": {
            "type": "radio_buttons",
            "action_id": ids.SETTINGS_AUDIENCE_INPUT,
            "options": options,
            "initial_option": chosen,
        },
    }


def _groups_block(settings: WorkspaceSettings, groups: Sequence[UserGroup]) -> Block:
    options = [_option(g.name or g.handle, g.id) for g in groups[:GROUPS_LISTED_MAX]]
    element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": ids.SETTINGS_GROUPS_INPUT,
        "options": options,
    }
    # Only what is still offered: Slack refuses an initial option that is not an option.
    initial = [o for o in options if o["value"] in settings.groups]
    if initial:
        element["initial_options"] = initial
    return {
        "type": "input",
        "block_id": ids.SETTINGS_GROUPS_BLOCK,
        "optional": True,
        "label": plain_text(texts.GROUPS_LABEL),
        "element": element,
    }


def _text_input(
    block_id: str, label: str, value: str, max_length: int, *, multiline: bool
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.SETTINGS_PROMPT_INPUT,
        "max_length": max_length,
        "multiline": multiline,
    }
    if value:
        element["initial_value"] = value[:max_length]
    return {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain_text(label),
        "element": element,
    }


def build_settings_modal(
    settings: WorkspaceSettings, groups: Sequence[UserGroup] | None
) -> dict[str, Any]:
    """The modal of the workspace's settings, filled with the current ones (``groups``:
    the workspace's user groups; None or none: the choice is explained instead)."""
    channels: dict[str, Any] = {
        "type": "multi_conversations_select",
        "action_id": ids.SETTINGS_CHANNELS_INPUT,
        "max_selected_items": CHANNELS_MAX,
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if settings.channels:
        channels["initial_conversations"] = list(settings.channels)
    blocks: list[Block] = []
    if settings.unreadable:
        blocks.append(context_block(texts.MODAL_UNREADABLE, "settings_unreadable"))
    blocks += [
        {
            "type": "input",
            "block_id": ids.SETTINGS_CHANNELS_BLOCK,
            "optional": True,
            "label": plain_text(texts.CHANNELS_LABEL),
            "hint": plain_text(texts.CHANNELS_HINT),
            "element": channels,
        }
    ]
    if groups:
        blocks += [_audience_block(settings), _groups_block(settings, groups)]
    elif settings.audience is Audience.GROUPS:
        # No input for it, so the submission keeps it (``parse_settings``).
        named = _named(settings.groups, "<!subteam^{}>")
        blocks.append(
            context_block(texts.GROUPS_UNLISTED_LIMITED.format(groups=named), "groups_none")
        )
    else:
        blocks.append(context_block(texts.GROUPS_NONE, "groups_none"))
    blocks.append(context_block(texts.PROMPTS_HINT, "prompts_hint"))
    for n in range(1, PROMPTS_MAX + 1):
        prompt = settings.prompts[n - 1] if n <= len(settings.prompts) else None
        blocks.append(
            _text_input(
                ids.SETTINGS_PROMPT_TITLE_BLOCK.format(n=n),
                texts.PROMPT_TITLE_LABEL.format(n=n),
                prompt.title if prompt else "",
                75,
                multiline=False,
            )
        )
        blocks.append(
            _text_input(
                ids.SETTINGS_PROMPT_MESSAGE_BLOCK.format(n=n),
                texts.PROMPT_MESSAGE_LABEL.format(n=n),
                prompt.message if prompt else "",
                2_000,
                multiline=True,
            )
        )
    return {
        "type": "modal",
        "callback_id": ids.SETTINGS_MODAL,
        "title": plain_text(texts.MODAL_TITLE[: limits.MAX_MODAL_TITLE]),
        "submit": plain_text(texts.MODAL_SUBMIT),
        "close": plain_text(texts.MODAL_CLOSE),
        "blocks": blocks,
    }


def build_settings_only_admins_modal() -> dict[str, Any]:
    return build_notice_modal(
        texts.MODAL_TITLE, texts.MODAL_CLOSE, texts.ONLY_ADMINS, "only_admins"
    )
