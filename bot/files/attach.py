"""A kept prompt's files, made ready for its run: each downloaded from Slack, uploaded
into the agent's Origami workspace, and named in the run's ``attachments``.

Each step is keyed by the Slack file: the upload goes under an Idempotency-Key made of the
workspace and the file id (Origami answers a repeat with the first upload), and once it
answered, what it became is recorded (``FileStore``), so a send tried again, after a
refusal or a crash anywhere in between, uploads nothing twice and forgets no file. The
bytes are never kept: a retry downloads them again from Slack.

A new conversation has no agent yet, so no workspace: one is made for it first (under a
key from the prompt's cause), and the agent is created in it. A follow-up uploads into
its agent's workspace (its session container, often the agent's own id: API.md 2.7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.domain import KeptPrompt, PromptKind, SlackFile
from bot.files.limits import MAX_FILE_BYTES, MAX_FILES, Refusal, refusal, upload_mode
from bot.origami import errors
from bot.origami.client import OrigamiClient, idempotency_key
from bot.origami.documents import UploadKind, attachment_json
from bot.ports import FileSource
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)

# What a file's upload may fail with and still leave the prompt to go without it: Origami
# would not take this file. Anything else (Origami down, the key or the plan refused, an
# upload still in flight) is the send's to handle: retried under the same keys, or told.
_FILE_REFUSED = (
    errors.InvalidRequest,
    errors.NotFound,
    errors.Forbidden,
)


@dataclass(frozen=True, slots=True)
class Prepared:
    # The workspace made for a new agent (None for a follow-up, or no files).
    workspace_id: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    refused: list[tuple[SlackFile, Refusal]] = field(default_factory=list)


class Attachments:
    def __init__(self, stores: Stores, origami: OrigamiFor, source: FileSource) -> None:
        self.stores = stores
        self.origami = origami
        self.source = source

    async def _origami(self, team: str) -> OrigamiClient:
        """The client for ``team``'s Origami organisation: the one the sender uses."""
        return await self.origami.for_team(team)

    async def prepare(self, kept: KeptPrompt) -> Prepared:
        if not kept.files:
            return Prepared()
        workspace = await self._workspace(kept)
        attachments: list[dict[str, str]] = []
        refused: list[tuple[SlackFile, Refusal]] = []
        for file in kept.files[:MAX_FILES]:
            found = await self.stores.files.uploaded(kept.team, file.id, workspace)
            if found is None:
                outcome = await self._upload(kept, file, workspace)
                if isinstance(outcome, Refusal):
                    refused.append((file, outcome))
                    continue
                found = outcome
            kind, ident = found
            attachments.append(attachment_json("table" if kind == "table" else "document", ident))
        new_agent = workspace if kept.kind is PromptKind.START else None
        return Prepared(new_agent, attachments, refused)

    async def _workspace(self, kept: KeptPrompt) -> str:
        if kept.kind is PromptKind.START:
            name = kept.text.strip().splitlines()[0] if kept.text.strip() else "Slack"
            key = idempotency_key("workspace", *kept.key_parts())
            origami = await self._origami(kept.team)
            return await origami.create_workspace(name, idempotency_key=key)
        agent = await (await self._origami(kept.team)).get_agent(kept.agent_id)
        return agent.workspace_id or agent.id

    async def _upload(
        self, kept: KeptPrompt, file: SlackFile, workspace: str
    ) -> tuple[UploadKind, str] | Refusal:
        described: SlackFile | None = file
        if file.needs_info:
            # A Slack Connect file: the event did not say what it is; files.info does.
            described = await self.source.describe(kept.team, file)
            if described is None:
                return Refusal.NO_ACCESS
            why = refusal(described)
            if why is not None:
                return why
        assert described is not None
        mode = upload_mode(described)
        if mode is None:
            return Refusal.TYPE
        content = await self.source.download(kept.team, described)
        if content is None:
            return Refusal.NO_ACCESS
        if len(content) > MAX_FILE_BYTES:
            return Refusal.SIZE
        key = idempotency_key("document", workspace, file.id)
        try:
            origami = await self._origami(kept.team)
            uploaded = await origami.upload_document(
                workspace, described.name, content, mode.value, idempotency_key=key
            )
        except _FILE_REFUSED as exc:
            log.warning("origami refused a file", extra={"file": file.id, "status": exc.status})
            return Refusal.REFUSED
        except errors.OrigamiAPIError as exc:
            if exc.status not in (413, 422):  # TOO_MANY_FILES, UPLOAD_FAILED
                raise
            log.warning("origami refused a file", extra={"file": file.id, "status": exc.status})
            return Refusal.REFUSED
        found = uploaded.attachment()
        if found is None:
            return Refusal.REFUSED
        await self.stores.files.record(kept.team, file.id, workspace, *found)
        log.info("file uploaded", extra={"file": file.id, "kind": found[0]})
        return found
