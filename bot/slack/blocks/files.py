"""What the app says about files shared with a prompt that did not go to the agent: which,
why, and what to do instead. Its sentences live here rather than in ``texts``, which is
full."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain import SlackFile
from bot.files.limits import MAX_FILE_BYTES, MAX_FILES, Refusal
from bot.slack import limits
from bot.slack.blocks.common import Block, Message, fallback_text, section_block
from bot.slack.mrkdwn import escape, one_line, split_text

_WHY = {
    Refusal.TYPE: "it isn't a CSV, Excel, PDF or text file",
    Refusal.SIZE: f"it is over {MAX_FILE_BYTES // (1024 * 1024)} MB",
    Refusal.TOO_MANY: f"only {MAX_FILES} files go with one message",
    Refusal.NO_ACCESS: (
        "I can't open it (a file from another organisation, or one that was deleted); "
        "download it and share it here yourself"
    ),
    Refusal.REFUSED: "Origami couldn't read it",
}
TITLE = "These files were not sent to Origami; your message was:"
HOW = "Share a CSV, Excel, PDF or text file of up to {mb} MB in the thread to send it."
_NAME_MAX = 80


def build_files_refused(refused: Sequence[tuple[SlackFile, Refusal]]) -> Message:
    lines = [TITLE]
    for file, why in refused:
        name = escape(one_line(file.name))[:_NAME_MAX].replace("`", "'") or "file"
        lines.append(f"• `{name}`: {_WHY[why]}")
    lines.append(HOW.format(mb=MAX_FILE_BYTES // (1024 * 1024)))
    chunks = split_text("\n".join(lines), limits.MAX_SECTION_TEXT)[:3]
    blocks: list[Block] = [section_block(chunk, f"files:{n}") for n, chunk in enumerate(chunks)]
    return Message(text=fallback_text(TITLE), blocks=blocks)
