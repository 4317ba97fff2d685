"""Documents: a file uploaded into a workspace (``POST /workspaces/{id}/documents``, its
bytes in base64 inside JSON) and what a run's ``attachments`` name it by.

The 201 body's ``results`` entries are not specified beyond "may be kind: error"
(API.md 6.4): a CSV uploaded as a table is expected to name its table, anything else its
document. They are read field by field like every Origami object; an entry that names
neither is no upload.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from pydantic import Field

from bot.origami.tolerant import Items, OrigamiModel

# A run takes at most this many attachments (API.md 2.1).
MAX_ATTACHMENTS = 20
FILENAME_MAX = 255

UploadKind = Literal["table", "document"]


class UploadedFile(OrigamiModel):
    kind: str = ""
    id: str = ""
    document_id: str = ""
    table_id: str = ""
    error: str = ""
    message: str = ""

    def attachment(self) -> tuple[UploadKind, str] | None:
        """What a run's ``attachments`` name this upload by; None when it failed."""
        if self.kind == "error" or self.error:
            return None
        if self.table_id and self.kind in ("table", ""):
            return "table", self.table_id
        document = self.document_id or self.id
        return ("document", document) if document else None


class UploadResults(OrigamiModel):
    results: Items[UploadedFile] = Field(default_factory=list)


def upload_body(filename: str, content: bytes, mode: str) -> dict[str, Any]:
    """One file per request: each has its own Idempotency-Key (its Slack file), so a retry
    replays its own answer and never uploads a neighbour twice."""
    name = filename.strip()[:FILENAME_MAX] or "file"
    encoded = base64.b64encode(content).decode("ascii")
    return {"files": [{"filename": name, "content": encoded, "mode": mode}]}


def attachment_json(kind: UploadKind, ident: str) -> dict[str, str]:
    if kind == "table":
        return {"kind": "table", "tableId": ident}
    return {"kind": "document", "documentId": ident}
