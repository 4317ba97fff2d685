"""``/origami``: its name and what its text says (the verb and the rest), parsed from
untrusted text as the listener gets it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

COMMAND = "/origami"
# Slack sends at most about 4,000 characters of command text; anything past this is cut
# before it is looked at (a prompt's own limit is checked by intake).
MAX_TEXT = 12_000


class Verb(StrEnum):
    HELP = "help"
    NEW = "new"
    LIST = "list"
    SCHEDULES = "schedules"


@dataclass(frozen=True, slots=True)
class SlashCommand:
    verb: Verb | None  # None: a word that is no verb of ours
    word: str  # the first word as typed
    rest: str  # what follows it, trimmed


def parse_command(text: object) -> SlashCommand:
    """``"new find founders"`` -> NEW, "find founders". No text is ``help``; the verb is
    read case-insensitively; a word that is no verb is kept, for the reply to name."""
    raw = text[:MAX_TEXT] if isinstance(text, str) else ""
    parts = raw.strip().split(None, 1)
    if not parts:
        return SlashCommand(Verb.HELP, "", "")
    word = parts[0]
    rest = parts[1].strip() if len(parts) > 1 else ""
    try:
        verb: Verb | None = Verb(word.lower())
    except ValueError:
        verb = None
    return SlashCommand(verb, word, rest)
