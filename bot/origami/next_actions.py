"""The agent's suggested next steps (``todo.nextActions[]``) and their ``type``.

A type is a typed call to action the host app may run itself (API.md 3.6). The list of
types is Origami's and may grow: a type this build does not know, or one that is not a
string, reads as none, and the step is its label, which is what an untyped step always
is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator

from bot.origami.tolerant import OrigamiModel, warn_once


class NextActionType(StrEnum):
    UPLOAD_CSV = "upload_csv"
    FIND_MORE_LEADS = "find_more_leads"
    EXPORT_CSV = "export_csv"
    INPUT_REQUIRED = "input_required"
    SEND_MESSAGES = "send_messages"
    SCHEDULE_PLAY = "schedule_play"


def _to_type(value: Any) -> Any:
    # Not a string: left for the field's schema to refuse (read as absent, and logged).
    if not isinstance(value, str):
        return value
    try:
        return NextActionType(value)
    except ValueError:
        warn_once("NextAction", "type", "a type this app does not know; shown as its label")
        return None


TolerantActionType = Annotated[NextActionType | None, BeforeValidator(_to_type)]

# A table reference is a slug or an id: short, URL-safe. Past this it is not one.
_SLUG_MAX = 200


def _to_slug(value: Any) -> Any:
    if isinstance(value, str) and not 0 < len(value) <= _SLUG_MAX:
        return None
    return value


class NextAction(OrigamiModel):
    # Not required: a blank label keeps its place (buttons carry the index) and gets no
    # button, as a blank suggestion always did.
    label: str = ""
    type: TolerantActionType = None
    table_slug: Annotated[str | None, BeforeValidator(_to_slug)] = None
