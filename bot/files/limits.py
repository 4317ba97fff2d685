"""Which shared files go to the agent, checked on what Slack says of a file before a byte
of it is downloaded, and how Origami is to store each (``mode``)."""

from __future__ import annotations

from enum import StrEnum

from bot.domain import SlackFile

# Origami documents no size limit (API.md 10, item 16); its JSON upload carries the bytes
# in base64 (a third more). 10 MB of CSV is some 100,000 leads, more than an agent reads.
MAX_FILE_BYTES = 10 * 1024 * 1024
# A run takes at most 20 attachments.
MAX_FILES = 20


class UploadMode(StrEnum):
    TABLE = "table"  # a CSV becomes a table the agent works on
    DOCUMENT = "document"  # anything else is a document it reads


class Refusal(StrEnum):
    """Why a shared file does not go to the agent."""

    TYPE = "type"  # not a CSV, Excel, PDF or text file
    SIZE = "size"  # over MAX_FILE_BYTES
    TOO_MANY = "too_many"  # past MAX_FILES in one message
    NO_ACCESS = "no_access"  # Slack does not let the app read it (Slack Connect, deleted)
    REFUSED = "refused"  # Origami would not take it


# Slack's filetype, and the extension, of every kind the agent reads.
_TYPES = {
    "csv": UploadMode.TABLE,
    "xlsx": UploadMode.DOCUMENT,
    "xls": UploadMode.DOCUMENT,
    "pdf": UploadMode.DOCUMENT,
    "text": UploadMode.DOCUMENT,
    "txt": UploadMode.DOCUMENT,
    "markdown": UploadMode.DOCUMENT,
    "md": UploadMode.DOCUMENT,
}
_MIMETYPES = {
    "text/csv": UploadMode.TABLE,
    "application/pdf": UploadMode.DOCUMENT,
    "text/plain": UploadMode.DOCUMENT,
    "text/markdown": UploadMode.DOCUMENT,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": UploadMode.DOCUMENT,
    "application/vnd.ms-excel": UploadMode.DOCUMENT,
}


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def upload_mode(file: SlackFile) -> UploadMode | None:
    """How Origami stores it; None when it is no kind the agent reads."""
    return (
        _TYPES.get(file.filetype.lower())
        or _MIMETYPES.get(file.mimetype.lower())
        or _TYPES.get(_extension(file.name))
    )


def refusal(file: SlackFile) -> Refusal | None:
    """Why this file does not go, judged on Slack's description of it (a Slack Connect file
    is described only once ``files.info`` was asked: it is judged then)."""
    if file.needs_info:
        return None
    if upload_mode(file) is None:
        return Refusal.TYPE
    if file.size > MAX_FILE_BYTES:
        return Refusal.SIZE
    return None
