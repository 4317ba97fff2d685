"""Files people share, read from Slack: ``files.info`` for the ones an event does not
describe (Slack Connect), and the bytes from ``url_private`` with the bot token.

The token goes only to Slack's own hosts: the API's host and its ``files.`` host (for
``https://slack.com/api/``: slack.com and files.slack.com), whatever URL an event names.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import SlackFile
from bot.files.limits import MAX_FILE_BYTES
from bot.slack import payloads
from bot.slack.messages import slack_error
from bot.tenancy.slack import OneWorkspace, SlackFor

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
# A download that takes longer is given up (a 10 MB file takes seconds).
_DOWNLOAD_TIMEOUT_S = 60


def file_hosts(api_url: str) -> tuple[str, frozenset[str]]:
    """The scheme and hosts the bot token may be sent to for a download."""
    parts = urlsplit(api_url)
    host = (parts.hostname or "").lower()
    base = host.removeprefix("api.").removeprefix("www.")
    return parts.scheme or "https", frozenset({host, base, f"files.{base}"})


class SlackFileSource:
    def __init__(
        self, clients: AsyncWebClient | SlackFor, session: aiohttp.ClientSession, api_url: str
    ) -> None:
        # One client (one workspace), or each workspace's: files are read with its token.
        self.clients: SlackFor = (
            OneWorkspace(clients) if isinstance(clients, AsyncWebClient) else clients
        )
        self.session = session
        self.scheme, self.hosts = file_hosts(api_url)

    async def describe(self, team: str, file: SlackFile) -> SlackFile | None:
        try:
            client = await self.clients.for_team(team)
            response = await client.files_info(file=file.id)
        except SlackApiError as exc:
            log.warning("files.info refused", extra={"file": file.id, "error": slack_error(exc)})
            return None
        described = payloads.to_file(response.get("file"))
        if described is None or described.id != file.id or described.needs_info:
            return None
        return described

    async def download(self, team: str, file: SlackFile) -> bytes | None:
        parts = urlsplit(file.url)
        if parts.scheme != self.scheme or (parts.hostname or "").lower() not in self.hosts:
            log.warning("file url not on Slack's hosts; not read", extra={"file": file.id})
            return None
        token = (await self.clients.for_team(team)).token
        try:
            async with self.session.get(
                file.url,
                headers={"Authorization": f"Bearer {token}"},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=_DOWNLOAD_TIMEOUT_S),
            ) as response:
                if response.status != 200:
                    log.warning("file download refused", extra={"file": file.id})
                    return None
                # Without access Slack answers its sign-in page, with a 200.
                if response.content_type == "text/html" and "html" not in file.mimetype:
                    log.warning("file download got a sign-in page", extra={"file": file.id})
                    return None
                content = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    content += chunk
                    if len(content) > MAX_FILE_BYTES:
                        break  # over the limit: the caller refuses it
                return bytes(content)
        except (aiohttp.ClientError, TimeoutError):
            log.warning("file download failed", extra={"file": file.id})
            return None
