"""When a schedule runs: the simple choices the modal offers, a custom cron, and a cron
said in words.

Origami validates a cron itself (400 ``INVALID_CRON``, ``CRON_TOO_FREQUENT``), and those
answers become the modal's field errors; here a custom cron is only bounded and shaped
(five fields of cron's characters), so that nothing else from the modal reaches Origami.
Crons are read in UTC, as the modal says: Origami's docs give no time zone.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum

from cron_descriptor import FormatException, Options, get_description

log = logging.getLogger(__name__)

CRON_TEXT_MAX = 100
# Five fields of the characters cron's syntax uses (names of days and months included).
_CRON_RE = re.compile(r"[0-9A-Za-z*/,\-?LW#]{1,40}(?: [0-9A-Za-z*/,\-?LW#]{1,40}){4}")


class When(StrEnum):
    """The modal's choices (the option values)."""

    WEEKDAYS = "weekdays"
    MONDAYS = "mondays"
    DAILY = "daily"
    MONTHLY = "monthly"
    CUSTOM = "custom"


CRONS: dict[When, str] = {
    When.WEEKDAYS: "0 9 * * 1-5",
    When.MONDAYS: "0 9 * * 1",
    When.DAILY: "0 9 * * *",
    When.MONTHLY: "0 9 1 * *",
}
LABELS: dict[When, str] = {
    When.WEEKDAYS: "Every weekday morning (9:00 UTC)",
    When.MONDAYS: "Every Monday morning (9:00 UTC)",
    When.DAILY: "Every day (9:00 UTC)",
    When.MONTHLY: "On the 1st of each month (9:00 UTC)",
    When.CUSTOM: "Custom (a cron expression)",
}


def to_when(value: object) -> When | None:
    """A choice from the modal's untrusted state; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        return When(value)
    except ValueError:
        return None


def normalise_cron(text: object) -> str | None:
    """A custom cron as typed: five fields, single spaces; None when it is not that shape
    (Origami judges what is left)."""
    if not isinstance(text, str) or len(text) > CRON_TEXT_MAX:
        return None
    cron = " ".join(text.split())
    return cron if _CRON_RE.fullmatch(cron) else None


def cron_for(when: When, custom: object) -> str | None:
    """The cron a choice stands for (``custom``: the typed one, used only for CUSTOM)."""
    if when is When.CUSTOM:
        return normalise_cron(custom)
    return CRONS[when]


def describe(cron: str) -> str:
    """A cron in words ("Every weekday morning (9:00 UTC)", "At 08:30, Monday through
    Friday (UTC)"); the cron itself when it cannot be read."""
    for when, known in CRONS.items():
        if cron == known:
            return LABELS[when]
    options = Options()
    options.use_24hour_time_format = True
    try:
        return f"{get_description(cron, options)} (UTC)"
    except (FormatException, ValueError, IndexError, KeyError):
        # An expression Origami took but this library cannot read: shown as it is.
        log.info("a cron that cannot be put in words", extra={"cron": cron[:CRON_TEXT_MAX]})
        return f"cron `{cron[:CRON_TEXT_MAX]}` (UTC)"
