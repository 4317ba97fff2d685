"""Table cards (``card`` blocks, a ``carousel`` of them for several tables), the "still
enriching" alert, and the copy of a card shared to the channel.

A card's buttons sit inside the card, not in an ``actions`` block, so closing a message's
one-shot buttons (next steps, Continue) never takes the cards' buttons along.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.origami.models import Table
from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.blocks.common import (
    ORIGAMI_APP_URL,
    Block,
    Message,
    alert_block,
    app_link_url,
    button_element,
    context_block,
    mrkdwn_text,
    preview_text,
)
from bot.slack.mrkdwn import clip_label, clip_mrkdwn


@dataclass(frozen=True, slots=True)
class TableChange:
    """What the run did to a table, so that two cards of one run never read alike."""

    created: bool = False
    leads_added: int = 0


def _card(
    table: Table,
    *,
    run_id: str | None,
    key: str,
    share: bool,
    app_url: str,
    change: TableChange,
) -> Block:
    subtitle = texts.table_stats(table.lead_count, table.qualified_leads)
    body = texts.table_body(change.created, change.leads_added, table.credits.lifetime_used)
    card: Block = {
        "type": "card",
        "block_id": key[: limits.MAX_BLOCK_ID],
        "title": mrkdwn_text(clip_label(texts.table_title(table.name), limits.MAX_CARD_TITLE)),
        "subtitle": mrkdwn_text(clip_mrkdwn(subtitle, limits.MAX_CARD_SUBTITLE)),
    }
    if body:
        card["body"] = mrkdwn_text(clip_mrkdwn(body, limits.MAX_CARD_BODY))
    buttons: list[dict[str, Any]] = []
    url = app_link_url(table.url, app_url)
    if url is not None:
        buttons.append(
            button_element(
                texts.OPEN_IN_ORIGAMI,
                ids.OPEN_TABLE,
                url=url,
                style="primary",
                accessibility_label=texts.open_label(table.name),
            )
        )
    if run_id is not None and has_export(table, run_id):
        value = ids.table_value(run_id, table.id)
        if share:
            buttons.append(
                button_element(
                    texts.SHARE_TO_CHANNEL,
                    ids.SHARE_TABLE,
                    value=value,
                    accessibility_label=texts.share_label(table.name),
                )
            )
        buttons.append(
            button_element(
                texts.EXPORT_CSV,
                ids.EXPORT_CSV,
                value=value,
                accessibility_label=texts.export_label(table.name),
            )
        )
    if buttons:
        card["actions"] = buttons[: limits.MAX_CARD_ACTIONS]
    return card


def has_export(table: Table, run_id: str) -> bool:
    """Whether the card of ``table`` in ``run_id``'s result has its own Export CSV (and
    Share) button; the result's next steps leave out an export the card already offers."""
    return ids.is_run_id(run_id) and ids.is_table_id(table.id)


def _key(table: Table, index: int) -> str:
    return f"{card_prefix(index)}{table.id[:64]}"


def card_prefix(index: int) -> str:
    """How the block id of the card of a result's ``index``-th table begins."""
    return f"table:{index}:"


def alert_id(index: int) -> str:
    """The block id of the "still enriching" alert of a result's ``index``-th table."""
    return f"enriching:{index}"


def result_card(
    table: Table, *, run_id: str, block_id: str, app_url: str, change: TableChange
) -> Block:
    """A result's card of ``table`` as it is now, under the block id it was posted with
    (updated in place while the table is still being enriched, ``bot.enrichment``)."""
    return _card(table, run_id=run_id, key=block_id, share=True, app_url=app_url, change=change)


def build_table_card(
    table: Table,
    *,
    run_id: str,
    index: int = 0,
    app_url: str = ORIGAMI_APP_URL,
    change: TableChange | None = None,
) -> list[Block]:
    """A table's card (name, leads, qualified leads, what this run did, credits, and its
    buttons), and an alert while its leads are still being enriched.

    ``index`` (the table's position in the result) keeps block ids unique in a message.
    "Open in Origami" appears only for an https ``table.url`` on ``app_url``'s host.
    """
    card = _card(
        table,
        run_id=run_id,
        key=_key(table, index),
        share=True,
        app_url=app_url,
        change=change or TableChange(),
    )
    return [card, *enriching_alerts([table], start=index)]


def build_table_cards(
    tables: Sequence[Table],
    *,
    run_id: str,
    app_url: str = ORIGAMI_APP_URL,
    changes: dict[str, TableChange] | None = None,
) -> list[Block]:
    """One card per table; several tables as carousels of up to 10 cards each, then the
    alerts of those still enriching."""
    changes = changes or {}
    if len(tables) == 1:
        return build_table_card(
            tables[0], run_id=run_id, app_url=app_url, change=changes.get(tables[0].id)
        )
    cards = [
        _card(
            table,
            run_id=run_id,
            key=_key(table, n),
            share=True,
            app_url=app_url,
            change=changes.get(table.id) or TableChange(),
        )
        for n, table in enumerate(tables)
    ]
    step = limits.MAX_CAROUSEL_CARDS
    blocks: list[Block] = [
        {"type": "carousel", "block_id": f"tables:{n}", "elements": cards[start : start + step]}
        for n, start in enumerate(range(0, len(cards), step))
    ]
    return blocks + enriching_alerts(tables)


def enriching_alerts(tables: Sequence[Table], *, start: int = 0) -> list[Block]:
    """An ``alert`` for each table whose leads are still being enriched."""
    return [
        alert_block(
            texts.still_enriching(table.name, leads_enriching(table), several=len(tables) > 1),
            alert_id(start + n),
            level="info",
        )
        for n, table in enumerate(tables)
        if table.is_enriching
    ]


def leads_enriching(table: Table) -> int | None:
    running = table.stats.running if table.stats is not None else None
    return running.running_leads if running is not None and running.running_leads > 0 else None


def build_shared_table(
    table: Table,
    *,
    shared_by: str,
    thread_link: str | None,
    run_id: str | None = None,
    app_url: str = ORIGAMI_APP_URL,
) -> Message:
    """The card posted to the channel: no Share button; Open (on ``app_url``'s host, as
    in ``build_table_card``), and Export when ``run_id``."""
    by = texts.shared_by(shared_by, thread_link)
    card = _card(
        table, run_id=run_id, key=_key(table, 0), share=False, app_url=app_url, change=TableChange()
    )
    blocks = [context_block(by, "shared_by"), card, *enriching_alerts([table])]
    fallback = f"{by}: {texts.table_fallback(table.name, table.lead_count)}"
    return Message(text=preview_text(fallback), blocks=blocks)
