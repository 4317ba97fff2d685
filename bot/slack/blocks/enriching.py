"""A result message's blocks with one table's card, alert and preview brought up to date
(the table was still being enriched when the result was posted, ``bot.enrichment``), and
the line that says its enrichment is done.

The blocks are the message as Slack has it now, read back: only the table's own blocks
are replaced (found by their block ids), so whatever else happened to the message since
(its next steps closed by a newer run) stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.enrichment import Following
from bot.origami.models import Table
from bot.previews import LeadPreview
from bot.slack import enrichment_texts
from bot.slack.blocks.common import Block, Message, alert_block, preview_text, section_block
from bot.slack.blocks.previews import build_preview
from bot.slack.blocks.tables import (
    TableChange,
    alert_id,
    card_prefix,
    leads_enriching,
    result_card,
)


def holds_card(blocks: Sequence[Mapping[str, Any]], index: int) -> bool:
    """Whether a message's blocks hold the card of its result's ``index``-th table."""
    prefix = card_prefix(index)
    for block in blocks:
        if _is_card(block, prefix):
            return True
        cards = block.get("elements") or [] if block.get("type") == "carousel" else []
        if any(_is_card(card, prefix) for card in cards):
            return True
    return False


def holds_preview(blocks: Sequence[Mapping[str, Any]], index: int) -> bool:
    return any(
        block.get("type") == "table" and block.get("block_id") == _preview_id(index)
        for block in blocks
    )


def with_card(
    blocks: Sequence[Mapping[str, Any]],
    table: Table,
    *,
    index: int,
    run_id: str,
    app_url: str,
    change: TableChange,
    state: Following,
) -> list[Block]:
    """``blocks`` with the table's card (alone or in a carousel) and its alert as they are
    now; the other blocks as they were."""
    prefix = card_prefix(index)
    several = False

    def card(old: Mapping[str, Any]) -> Block:
        block_id = str(old.get("block_id"))
        return result_card(table, run_id=run_id, block_id=block_id, app_url=app_url, change=change)

    shown: list[Block] = []
    for block in blocks:
        if _is_card(block, prefix):
            shown.append(card(block))
        elif block.get("type") == "carousel":
            elements = block.get("elements") or []
            several = several or any(_is_card(e, prefix) for e in elements)
            new = [card(e) if _is_card(e, prefix) else dict(e) for e in elements]
            shown.append({**block, "elements": new})
        elif block.get("type") == "alert" and block.get("block_id") == alert_id(index):
            alert = _alert(table, index, state, several=several)
            if alert is not None:
                shown.append(alert)
        else:
            shown.append(dict(block))
    return shown


def _alert(table: Table, index: int, state: Following, *, several: bool) -> Block | None:
    if state is Following.DONE:
        return None
    if state is Following.GIVEN_UP:
        text = enrichment_texts.given_up(table.name, several=several)
    else:
        text = enrichment_texts.filling(table.name, leads_enriching(table), several=several)
    return alert_block(text, alert_id(index), level="info")


def with_preview(
    blocks: Sequence[Mapping[str, Any]], preview: LeadPreview, table_name: str, index: int
) -> list[Block]:
    """``blocks`` with the table's lead preview (its note and its table) as it is now."""
    fresh = build_preview(preview, table_name, index)
    if not fresh:
        return [dict(block) for block in blocks]
    note, table = fresh
    ids = {note["block_id"]: note, table["block_id"]: table}
    return [ids.get(str(block.get("block_id")), dict(block)) for block in blocks]


def build_enriched(table: Table) -> Message:
    """The line that says a followed table is done, with its final counts."""
    counts = (table.lead_count, table.qualified_leads, table.credits.lifetime_used)
    text = enrichment_texts.enriched(table.name, *counts)
    fallback = enrichment_texts.enriched(table.name, *counts, bold=False)
    return Message(text=preview_text(fallback), blocks=[section_block(text, "enriched")])


def _is_card(block: Mapping[str, Any], prefix: str) -> bool:
    return block.get("type") == "card" and str(block.get("block_id") or "").startswith(prefix)


def _preview_id(index: int) -> str:
    return f"preview:{index}"
