"""A pasted Origami table link, unfurled: a Work Object (an ``item`` entity, built with
slack_sdk's metadata models) and, for clients that show none, a classic blocks unfurl.

Both show the table's name, leads, qualified leads, credits used, whether it is still
enriching, and a way to open it (a link only to the Origami app's host). The classic
unfurl uses plain section and context blocks, which every client shows.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.metadata import (
    EntityAttributes,
    EntityCustomField,
    EntityMetadata,
    EntityPayload,
    EntityTitle,
    ExternalRef,
)

from bot.origami.models import Table
from bot.slack import actions as ids
from bot.slack import texts
from bot.slack.blocks.common import (
    ORIGAMI_APP_URL,
    Block,
    actions_blocks,
    app_link_url,
    button_element,
    context_block,
    section_block,
)
from bot.slack.mrkdwn import escape, one_line, strip_controls

_TITLE_MAX = 150
PRODUCT = "Origami"
DISPLAY_TYPE = "Lead table"
ENRICHING = "Still enriching"
DONE = "Done"
OPEN = "Open in Origami"


def _title(table: Table) -> str:
    return one_line(strip_controls(table.name))[:_TITLE_MAX] or "Untitled table"


def _credits(table: Table) -> str:
    return texts.number(table.credits.lifetime_used)


def _state(table: Table) -> str:
    return ENRICHING if table.is_enriching else DONE


def build_table_entity(
    table: Table, pasted_url: str, *, app_url: str = ORIGAMI_APP_URL
) -> dict[str, Any]:
    """The Work Object of one table (``chat.unfurl``'s ``metadata.entities[]``)."""
    figures: list[tuple[str, str, str, int | str]] = [
        ("leads", "Leads", "integer", table.lead_count)
    ]
    if table.qualified_leads is not None:
        figures.append(("qualified", "Qualified leads", "integer", table.qualified_leads))
    figures.append(("credits", "Credits used", "string", _credits(table)))
    figures.append(("enrichment", "Enrichment", "string", _state(table)))
    fields: list[dict[str, Any] | EntityCustomField] = [
        EntityCustomField(key=key, label=label, type=kind, value=value)
        for key, label, kind, value in figures
    ]
    entity = EntityMetadata(
        entity_type="slack#/entities/item",
        url=app_link_url(table.url, app_url) or pasted_url,
        app_unfurl_url=pasted_url,
        external_ref=ExternalRef(id=table.id, type="table"),
        entity_payload=EntityPayload(
            attributes=EntityAttributes(
                title=EntityTitle(text=_title(table)),
                display_type=DISPLAY_TYPE,
                product_name=PRODUCT,
            ),
            custom_fields=fields,
        ),
    )
    return dict(entity.to_dict())


def build_table_unfurl(table: Table, *, app_url: str = ORIGAMI_APP_URL) -> dict[str, Any]:
    """The classic unfurl of one table (``chat.unfurl``'s ``unfurls[url]``)."""
    stats = texts.table_stats(table.lead_count, table.qualified_leads)
    blocks: list[Block] = [
        section_block(f"*{escape(_title(table))}*\n{stats}", "unfurl:table"),
        context_block(
            f"{_credits(table)} credits used · {_state(table)}",
            "unfurl:figures",
        ),
    ]
    url = app_link_url(table.url, app_url)
    if url is not None:
        button = button_element(OPEN, ids.OPEN_TABLE, url=url, style="primary")
        blocks.extend(actions_blocks([button], "unfurl:open"))
    return {"blocks": blocks}
