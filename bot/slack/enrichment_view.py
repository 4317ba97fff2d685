"""The ``EnrichmentView`` on Slack: where a result shows each table, and its card and
preview updated in place (``chat.update``) while the table is still being enriched.

A message is read back before it is updated and only the table's blocks are replaced, so
a message whose next steps a newer run closed stays closed; a message that is gone
(deleted) is left alone, and one that nothing changed in is not updated at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import Part
from bot.enrichment import Following
from bot.origami.models import Run, Table
from bot.previews import LeadPreview
from bot.slack import actions as ids
from bot.slack.blocks import ORIGAMI_APP_URL, Message
from bot.slack.blocks.enriching import (
    build_enriched,
    holds_card,
    holds_preview,
    with_card,
    with_preview,
)
from bot.slack.blocks.result import table_changes
from bot.slack.blocks.tables import TableChange
from bot.slack.messages import SlackMessages
from bot.stores.enrichment import FollowedTable, TablePlace
from bot.tenancy.slack import SlackFor


class SlackEnrichmentView:
    def __init__(
        self, clients: AsyncWebClient | SlackFor, *, app_url: str = ORIGAMI_APP_URL
    ) -> None:
        self.slack = SlackMessages(clients)
        self.app_url = app_url

    def places(
        self, run: Run, parts: Sequence[Part], posted: Mapping[str, str]
    ) -> dict[str, TablePlace]:
        tables = run.response.tables if run.response is not None else []
        changes = table_changes(run.response)
        shown = [
            (str(posted[p.name]), p.body.blocks)
            for p in parts
            if isinstance(p.body, Message) and p.name in posted
        ]
        places: dict[str, TablePlace] = {}
        for index, table in enumerate(tables):
            if not ids.is_table_id(table.id) or table.id in places:
                continue
            card_ts = next((ts for ts, blocks in shown if holds_card(blocks, index)), None)
            if card_ts is None:
                continue
            preview_ts = next((ts for ts, blocks in shown if holds_preview(blocks, index)), "")
            change = changes.get(table.id) or TableChange()
            places[table.id] = TablePlace(
                index, card_ts, preview_ts, created=change.created, leads_added=change.leads_added
            )
        return places

    async def refresh(
        self,
        followed: FollowedTable,
        table: Table,
        preview: LeadPreview | None,
        state: Following,
    ) -> None:
        place = followed.place
        change = TableChange(created=place.created, leads_added=place.leads_added)

        def card(blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            return with_card(
                blocks,
                table,
                index=place.index,
                run_id=followed.run_id,
                app_url=self.app_url,
                change=change,
                state=state,
            )

        def lead_rows(blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            if preview is None:
                return [dict(b) for b in blocks]
            return with_preview(blocks, preview, table.name, place.index)

        if place.preview_ts == place.card_ts:
            await self._patch(followed, place.card_ts, lambda b: lead_rows(card(b)))
            return
        await self._patch(followed, place.card_ts, card)
        if place.preview_ts and preview is not None:
            await self._patch(followed, place.preview_ts, lead_rows)

    def finished(self, table: Table) -> Part:
        return Part("enriched", build_enriched(table))

    async def _patch(
        self,
        followed: FollowedTable,
        ts: str,
        change: Callable[[Sequence[Mapping[str, Any]]], list[dict[str, Any]]],
    ) -> None:
        found = await self.slack.find_message(followed.thread, ts)
        if found is None:
            return  # deleted since: nothing to update
        blocks = list(found.get("blocks") or [])
        new = change(blocks)
        if new == blocks:
            return
        message = Message(text=str(found.get("text") or ""), blocks=new)
        await self.slack.update(followed.thread, ts, message)
