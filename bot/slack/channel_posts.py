"""What the app posts beyond a conversation's own messages: a new thread opened for
``/origami new``, link unfurls, a table shared to the channel, a CSV export. Part of the
``Presenter`` port on Slack (``bot.slack.presenter.SlackPresenter``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError

from bot.domain import PastedLinks, ThreadRef
from bot.origami.models import Table
from bot.slack import blocks, texts
from bot.slack.blocks.commands import build_thread_opener
from bot.slack.blocks.unfurls import build_table_entity, build_table_unfurl
from bot.slack.messages import SlackMessages, slack_error
from bot.slack.mrkdwn import strip_controls

log = logging.getLogger(__name__)

# What chat.postMessage answers in a conversation the app is not in, or may not post in.
_CANNOT_POST = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_dm_bot"}
)


class ChannelPosts:
    slack: SlackMessages
    app_url: str  # the only host link buttons built from Origami's data may point to

    async def open_thread(self, team: str, channel: str, who: str, prompt: str) -> str | None:
        message = build_thread_opener(who, prompt)
        try:
            client = await self.slack.clients.for_team(team)
            response = await client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            if slack_error(exc) in _CANNOT_POST:
                return None
            raise
        return str(response["ts"])

    async def unfurl(self, pasted: PastedLinks, tables: Mapping[str, Table]) -> None:
        composer = pasted.in_composer
        client = await self.slack.clients.for_team(pasted.team)
        await client.chat_unfurl(
            channel=None if composer else pasted.channel,
            ts=None if composer else pasted.message_ts,
            unfurl_id=pasted.unfurl_id if composer else None,
            source=pasted.source if composer else None,
            # Work Objects where Slack shows them; the classic unfurl elsewhere.
            metadata={
                "entities": [
                    build_table_entity(table, url, app_url=self.app_url)
                    for url, table in tables.items()
                ]
            },
            unfurls={
                url: build_table_unfurl(table, app_url=self.app_url)
                for url, table in tables.items()
            },
        )

    async def share_table(
        self, thread: ThreadRef, table: Table, run_id: str, shared_by: str
    ) -> str:
        link = None
        try:
            permalink = await (await self.slack.client(thread)).chat_getPermalink(
                channel=thread.channel, message_ts=thread.thread_ts
            )
            link = str(permalink["permalink"])
        except SlackApiError as exc:
            log.warning("no permalink for the thread", extra={"error": slack_error(exc)})
        message = blocks.build_shared_table(
            table, shared_by=shared_by, thread_link=link, run_id=run_id, app_url=self.app_url
        )
        response = await (await self.slack.client(thread)).chat_postMessage(
            channel=thread.channel, text=message.text, blocks=message.blocks
        )
        return str(response["ts"])

    async def upload_csv(
        self, thread: ThreadRef, table: Table, content: bytes, user_id: str
    ) -> None:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", table.name).strip("-") or "table"
        await (await self.slack.client(thread)).files_upload_v2(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            filename=f"{name[:80]}.csv",
            title=strip_controls(table.name)[:200],
            content=content,
            initial_comment=texts.csv_exported(user_id, table.lead_count),
        )
