"""App Home's ``home`` tab: its sections, in order, each built by its own module
(``home_connection``, ``home_recent``, ``home_settings``), joined here within Slack's
limits. A new section is one more builder module and one more entry in the caller's list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.slack.blocks.common import Block, context_block

# views.publish: a Home view holds at most 100 blocks.
MAX_HOME_BLOCKS = 100
HOME_CLIPPED = "Some of this tab could not be shown: it holds too much."
_DIVIDER: Block = {"type": "divider"}


def build_home(sections: Sequence[Sequence[Block]]) -> dict[str, Any]:
    """The ``home`` view of ``sections`` (empty ones left out), a divider between two;
    past 100 blocks, the last ones give way to a note that says so."""
    blocks: list[Block] = []
    for section in sections:
        if not section:
            continue
        if blocks:
            blocks.append(dict(_DIVIDER))
        blocks.extend(section)
    if len(blocks) > MAX_HOME_BLOCKS:
        blocks = [*blocks[: MAX_HOME_BLOCKS - 1], context_block(HOME_CLIPPED, "home_clipped")]
    return {"type": "home", "blocks": blocks}
