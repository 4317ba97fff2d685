"""Agent text to Slack mrkdwn: escaping, Markdown conversion, clipping and splitting.

Slack parses ``&``, ``<`` and ``>`` as control characters: ``<!channel>`` pings a whole
channel, ``<@U123>`` a person, ``<https://evil|click>`` hides a link. Everything the agent
writes is therefore escaped, and the only ``<…>`` sequences in our output are the links and
mentions built here on purpose. Escaping also removes control characters and the bidi
overrides that make text read other than it is, and a link whose text names another host
than its own shows its real target.

Everything here is pure and total: malformed Markdown never raises, it just renders as text.

- ``escaping``: ``escape``, ``strip_controls``, ``one_line``, ``clip_escaped``, ``clip_label``
- ``links``: ``is_safe_url``, ``link``, ``misleads``, ``mention``
- ``convert``: ``markdown_to_mrkdwn``
- ``split``: ``clip_mrkdwn``, ``split_text``
"""

from bot.slack.mrkdwn.convert import markdown_to_mrkdwn
from bot.slack.mrkdwn.escaping import (
    ELLIPSIS,
    clip_escaped,
    clip_label,
    escape,
    one_line,
    strip_controls,
)
from bot.slack.mrkdwn.links import is_safe_url, link, mention, misleads
from bot.slack.mrkdwn.split import clip_mrkdwn, split_text

__all__ = [
    "ELLIPSIS",
    "clip_escaped",
    "clip_label",
    "clip_mrkdwn",
    "escape",
    "is_safe_url",
    "link",
    "markdown_to_mrkdwn",
    "mention",
    "misleads",
    "one_line",
    "split_text",
    "strip_controls",
]
