"""The sentences of a table followed while it is still being enriched (``bot.enrichment``):
its card's note while it fills or once it is no longer followed, and the line that says it
is done. Each escapes the table's name (``bot.slack.mrkdwn``): it is the agent's text."""

from __future__ import annotations

from bot.slack.mrkdwn import clip_escaped, one_line
from bot.slack.texts import number, plural, still_enriching, table_title

_NAME_CHARS = 150


def _name(name: str, *, bold: bool = True) -> str:
    shown = clip_escaped(one_line(table_title(name)), _NAME_CHARS)
    return f"*{shown}*" if bold else shown


def filling(name: str, leads: int | None, *, several: bool) -> str:
    """The card's note while the table fills: the same as when the result was posted."""
    return still_enriching(name, leads, several=several)


def given_up(name: str, *, several: bool) -> str:
    """The card's note once it is no longer updated, the table still filling."""
    which = f"{_name(name)}: " if several else ""
    return (
        f"⏳ {which}Some leads are still being enriched. I've stopped updating this card: "
        "open the table in Origami for the latest."
    )


def enriched(
    name: str, leads: int, qualified: int | None, credits_used: float, *, bold: bool = True
) -> str:
    """✅ *Austin founders* is fully enriched: 20 leads, 14 qualified, 120 credits used.
    ``bold=False``: for the notification preview, which shows mrkdwn marks as they are."""
    counts = [plural(leads, "lead")]
    if qualified is not None:
        counts.append(f"{qualified:,} qualified")
    counts.append(f"{number(credits_used)} {'credit' if credits_used == 1 else 'credits'} used")
    return f"✅ {_name(name, bold=bold)} is fully enriched: {', '.join(counts)}."
