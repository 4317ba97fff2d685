"""Files shared in Slack and uploaded to Origami: which upload each became, per Slack file
and workspace, so a send tried again after a crash neither uploads a file twice nor
forgets one."""

from __future__ import annotations

import json
from typing import Any

from bot.stores import keys


class FileStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def uploaded(self, team: str, file_id: str, workspace_id: str) -> tuple[str, str] | None:
        """(kind, id) of the upload this Slack file became in ``workspace_id``, if any."""
        raw = await self.redis.get(keys.uploaded_file(team, file_id, workspace_id))
        if not raw:
            return None
        try:
            kind, ident = json.loads(raw)
        except (ValueError, TypeError):
            return None
        return (str(kind), str(ident)) if kind in ("table", "document") and ident else None

    async def record(
        self, team: str, file_id: str, workspace_id: str, kind: str, ident: str
    ) -> None:
        key = keys.uploaded_file(team, file_id, workspace_id)
        await self.redis.set(key, json.dumps([kind, ident]), ex=keys.seconds(keys.UPLOAD_TTL))
