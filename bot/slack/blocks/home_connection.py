"""App Home's connection section (the workspace's Origami key, many workspaces; its
account's plan and credits, both modes) and the key modal."""

from __future__ import annotations

from typing import Any

from bot.slack import actions as ids
from bot.slack import home_recent_texts as recent_texts
from bot.slack import home_texts, limits
from bot.slack.blocks.common import (
    Block,
    actions_blocks,
    build_notice_modal,
    button_element,
    confirm_dialog,
    context_block,
    header_block,
    plain_text,
    section_block,
)
from bot.summaries import AccountFacts, AccountState
from bot.tenancy.origami_keys import Connection


def build_account_line(account: AccountFacts) -> Block:
    if account.state is AccountState.READ:
        text = recent_texts.account_read(account.organization, account.plan, account.balance)
    elif account.state is AccountState.UNAVAILABLE:
        text = recent_texts.ACCOUNT_UNAVAILABLE
    else:
        text = recent_texts.ACCOUNT_NOT_CONNECTED
    return context_block(text, "account")


def build_account_section(account: AccountFacts) -> list[Block]:
    """One workspace (``ORIGAMI_API_KEY``): the title and the account's line."""
    return [header_block(home_texts.HOME_TITLE, "home_title"), build_account_line(account)]


def build_connection_section(
    connection: Connection | None, account: AccountFacts, *, may_manage: bool
) -> list[Block]:
    """Many workspaces: whether the workspace is connected, its account's plan and
    credits, and, for those who may change it, the buttons that do (7 blocks at most)."""
    blocks = [header_block(home_texts.HOME_TITLE, "home_title")]
    if connection is None:
        blocks.append(section_block(home_texts.NOT_CONNECTED, "connection"))
    else:
        status = home_texts.connected(
            connection.organization_name,
            connection.plan_name,
            connection.last4,
            connection.set_by,
            connection.set_at,
        )
        blocks.append(section_block(status, "connection"))
        blocks.append(build_account_line(account))
    if may_manage:
        buttons = [
            button_element(
                home_texts.CHANGE_KEY if connection else home_texts.CONNECT,
                ids.CONNECT_ORIGAMI,
                style="primary" if connection is None else None,
            )
        ]
        if connection is not None:
            buttons.append(
                button_element(
                    home_texts.DISCONNECT,
                    ids.DISCONNECT_ORIGAMI,
                    style="danger",
                    confirm=confirm_dialog(
                        home_texts.DISCONNECT_CONFIRM_TITLE,
                        home_texts.DISCONNECT_CONFIRM_TEXT,
                        home_texts.DISCONNECT_CONFIRM_YES,
                        home_texts.DISCONNECT_CONFIRM_NO,
                    ),
                )
            )
        blocks += actions_blocks(buttons, "connection_actions")
        blocks.append(context_block(home_texts.GET_A_KEY, "get_a_key"))
    elif connection is None:
        blocks.append(context_block(home_texts.ASK_AN_ADMIN, "ask_an_admin"))
    return blocks


def build_key_modal() -> dict[str, Any]:
    """The modal that takes a pasted Origami key (it carries no metadata: the workspace
    and the person come from the submission itself)."""
    return {
        "type": "modal",
        "callback_id": ids.ORIGAMI_KEY_MODAL,
        "title": plain_text(home_texts.MODAL_TITLE[: limits.MAX_MODAL_TITLE]),
        "submit": plain_text(home_texts.MODAL_SUBMIT),
        "close": plain_text(home_texts.MODAL_CLOSE),
        "blocks": [
            section_block(home_texts.GET_A_KEY, "get_a_key"),
            {
                "type": "input",
                "block_id": ids.ORIGAMI_KEY_BLOCK,
                "label": plain_text(home_texts.MODAL_INPUT_LABEL),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ORIGAMI_KEY_INPUT,
                    "min_length": 1,
                    "max_length": 200,
                    "placeholder": plain_text(home_texts.MODAL_PLACEHOLDER),
                },
            },
        ],
    }


def build_only_admins_modal() -> dict[str, Any]:
    """What a person who may not change the key sees on clicking a (stale) button."""
    return build_notice_modal(
        home_texts.MODAL_TITLE, home_texts.MODAL_CLOSE, home_texts.ONLY_ADMINS, "only_admins"
    )
