"""The Block Kit limits the builders in ``bot.slack.blocks`` respect by construction.

Slack rejects a whole message or view when one field breaks a limit (``invalid_blocks``,
``msg_too_long``, ``msg_blocks_too_long``). The tests check every built payload with the
fake Slack's validator (``tests/fakes/slack.py``), which states Slack's limits on its own
rather than reading them from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# -- messages --------------------------------------------------------------------------
MAX_BLOCKS_PER_MESSAGE = 50
# The top-level ``text``: chat.postMessage takes 40,000 but chat.update only 4,000; the
# fallback is for notifications, so it stays well under both.
MAX_FALLBACK_TEXT = 3_000
# Not documented per block: Slack answers ``msg_blocks_too_long`` once the text of all
# blocks together passes about 12,000-13,000 characters (slackapi/bolt-js#2509, #2867).
# Kept well below that, counting every text object in the message.
MAX_MESSAGE_BLOCK_CHARS = 10_000

# -- blocks ----------------------------------------------------------------------------
MAX_BLOCK_ID = 255
MAX_SECTION_TEXT = 3_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_TEXT = 3_000
MAX_ACTIONS_ELEMENTS = 25

# -- Slack's agent platform blocks (Block Kit reference; slack_sdk 3.48's models) -------
MAX_CARD_TITLE = 150
MAX_CARD_SUBTITLE = 150
MAX_CARD_BODY = 200
# Buttons a card lays out at its foot.
MAX_CARD_ACTIONS = 3
MAX_CAROUSEL_CARDS = 10
MAX_ALERT_TEXT = 3_000
# A table: rows (the header row included) and cells a row; one table per message.
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_CONTEXT_ACTIONS = 5
MAX_ACCESSIBILITY_LABEL = 75

# -- elements --------------------------------------------------------------------------
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_BUTTON_URL = 3_000
# plain_text_input: min_length and max_length must both lie in 0..3,000 (1..3,000 for max).
MAX_TEXT_INPUT_LENGTH = 3_000

# -- modals ----------------------------------------------------------------------------
MAX_MODAL_TITLE = 24
MAX_PRIVATE_METADATA = 3_000

_TEXT_TYPES = ("plain_text", "mrkdwn")


def count_text_chars(blocks: Iterable[Any]) -> int:
    """The characters of every text object in ``blocks`` (what ``msg_blocks_too_long`` counts)."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("type") in _TEXT_TYPES and isinstance(item.get("text"), str):
                total += len(item["text"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total
