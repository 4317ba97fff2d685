"""The workspace's Origami key: "Connect Origami" opens the modal, its submission checks
the key with Origami and saves it, "Disconnect" removes it. Each checks, on its own, that
the person may (a button can be clicked from a stale tab, a payload forged)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import actions as ids
from bot.slack import blocks, home_texts, payloads
from bot.slack.listeners.home.home_tab import HomeTab
from bot.tenancy.connections import Connections, KeyNotSaved

log = logging.getLogger(__name__)


def build_handle_connect_origami(
    tab: HomeTab, connections: Connections
) -> Callable[..., Awaitable[None]]:
    async def handle_connect_origami(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        trigger_id = str(body.get("trigger_id") or "")
        # The trigger id lasts 3 s: may_manage before views.open costs a database read
        # and one users.info, well within it.
        allowed = await tab.may_manage(client, team, user_id)
        view = blocks.build_key_modal() if allowed else blocks.build_only_admins_modal()
        await client.views_open(trigger_id=trigger_id, view=view)

    return handle_connect_origami


def build_handle_disconnect_origami(
    tab: HomeTab, connections: Connections
) -> Callable[..., Awaitable[None]]:
    async def handle_disconnect_origami(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        manage = await tab.may_manage(client, team, user_id)
        if not manage:
            log.warning("a key removal refused: not an admin", extra={"user": user_id})
        else:
            await connections.disconnect(team)
            tab.home.forget_account(team)
        await tab.publish(client, team, user_id, manage=manage)

    return handle_disconnect_origami


def build_handle_origami_key(
    tab: HomeTab, connections: Connections
) -> Callable[..., Awaitable[None]]:
    async def handle_origami_key(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        if not await tab.may_manage(client, team, user_id):
            await ack(
                response_action="errors", errors={ids.ORIGAMI_KEY_BLOCK: home_texts.ONLY_ADMINS}
            )
            return
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        raw = (values.get(ids.ORIGAMI_KEY_BLOCK) or {}).get(ids.ORIGAMI_KEY_INPUT) or {}
        pasted = raw.get("value") if isinstance(raw, dict) else None
        try:
            # Checked with Origami before the answer to Slack (within its 3 s), so a key
            # Origami refuses is said on the modal itself.
            await connections.connect(team, user_id, pasted if isinstance(pasted, str) else "")
        except KeyNotSaved as refused:
            error = home_texts.REFUSED[refused.reason]
            await ack(response_action="errors", errors={ids.ORIGAMI_KEY_BLOCK: error})
            return
        await ack()
        tab.home.forget_account(team)
        await tab.publish(client, team, user_id, manage=True)

    return handle_origami_key
