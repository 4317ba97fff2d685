"""Table cards: in the run's thread, and the copy shared to the channel."""

from __future__ import annotations

from typing import Any

from bot.origami.models import Table
from bot.slack import actions as ids
from bot.slack import texts
from bot.slack.blocks.common import (
    ORIGAMI_APP_URL,
    Block,
    Message,
    actions_blocks,
    app_link_url,
    button_element,
    context_block,
    header_block,
    preview_text,
    section_block,
)


def _table_blocks(
    table: Table,
    *,
    run_id: str | None,
    index: int,
    share: bool,
    app_url: str,
    note: str | None = None,
) -> list[Block]:
    key = f"table:{index}:{table.id[:64]}"
    blocks: list[Block] = [
        header_block(table.name.strip() or "Untitled table", f"{key}:name"),
        section_block(
            texts.table_stats(table.lead_count, table.qualified_leads, table.credits.lifetime_used),
            f"{key}:stats",
        ),
    ]
    if table.cells.running > 0:
        blocks.append(context_block(texts.still_enriching(table.cells.running), f"{key}:enriching"))
    if note is not None:
        blocks.append(context_block(note, f"{key}:note"))
    buttons: list[dict[str, Any]] = []
    url = app_link_url(table.url, app_url)
    if url is not None:
        buttons.append(
            button_element(texts.OPEN_IN_ORIGAMI, ids.OPEN_TABLE, url=url, style="primary")
        )
    if run_id is not None and ids.is_run_id(run_id) and ids.is_table_id(table.id):
        value = ids.table_value(run_id, table.id)
        if share:
            buttons.append(button_element(texts.SHARE_TO_CHANNEL, ids.SHARE_TABLE, value=value))
        buttons.append(button_element(texts.EXPORT_CSV, ids.EXPORT_CSV, value=value))
    if buttons:
        blocks.extend(actions_blocks(buttons, f"{key}:actions"))
    return blocks


def build_table_card(
    table: Table, *, run_id: str, index: int = 0, app_url: str = ORIGAMI_APP_URL
) -> list[Block]:
    """A table's card: name, leads, qualified leads, credits, enrichment, and its buttons.

    ``index`` (the table's position in the result) keeps block ids unique in a message.
    "Open in Origami" appears only for an https ``table.url`` on ``app_url``'s host.
    """
    return _table_blocks(table, run_id=run_id, index=index, share=True, app_url=app_url)


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
    blocks = _table_blocks(table, run_id=run_id, index=0, share=False, app_url=app_url, note=by)
    fallback = f"{by}: {texts.table_fallback(table.name, table.lead_count)}"
    return Message(text=preview_text(fallback), blocks=blocks)
