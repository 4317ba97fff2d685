"""A finished run's result: its text, table cards, next steps and footer, packed into as
few messages as Slack's block and character budgets allow.

A text too long for ``MAX_TEXT_MESSAGES`` messages shows its beginning and a note that the
whole answer is attached; ``result_overflow`` gives that whole answer, for the caller to
upload as a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import StepKind
from bot.next_step_kinds import to_next_steps
from bot.origami.models import Run, RunResponse, RunStatus, Table
from bot.origami.next_actions import NextAction
from bot.previews import LeadPreview
from bot.slack import actions as ids
from bot.slack import limits, schedule_texts, texts
from bot.slack import schedule_actions as schedule_ids
from bot.slack.blocks.common import (
    ORIGAMI_APP_URL,
    Block,
    Message,
    actions_blocks,
    button_element,
    preview_text,
    section_block,
)
from bot.slack.blocks.feedback import build_feedback
from bot.slack.blocks.previews import build_preview
from bot.slack.blocks.tables import TableChange, build_table_cards, has_export
from bot.slack.mrkdwn import escape, markdown_to_mrkdwn, one_line, split_text, strip_controls

# A result's text takes at most this many messages: about 40,000 characters, a long
# report already. Past that the thread becomes a wall nobody reads through, and every
# message is one more chat.postMessage against Slack's rate limit of about one a second per
# channel (and one more part for the delivery to post exactly once); the whole answer goes
# along as a file instead (``result_overflow``), which Slack shows folded away.
MAX_TEXT_MESSAGES = 5
# Any three sections fit in one message (3 x 3,000 characters is within the 10,000 budget),
# so ``_pack`` closes a message only once it holds at least three: this many one-section
# blocks of text (the cut note and a "Stopped" note included) take at most
# MAX_TEXT_MESSAGES messages.
_SECTIONS_PER_MESSAGE = 3
assert _SECTIONS_PER_MESSAGE * limits.MAX_SECTION_TEXT <= limits.MAX_MESSAGE_BLOCK_CHARS
_TEXT_BLOCKS = _SECTIONS_PER_MESSAGE * MAX_TEXT_MESSAGES
# How much of a long answer's Markdown is converted: twice what can be shown (conversion
# seldom halves a text), so an answer of megabytes is not converted in full to be cut.
_CONVERT_CHARS = 2 * _TEXT_BLOCKS * limits.MAX_SECTION_TEXT


@dataclass
class _Unit:
    """Blocks that belong together (kept in one message when they fit) and a summary."""

    blocks: list[Block]
    summary: str


def _answer(run: Run) -> str:
    return (run.response.text or "") if run.response is not None else ""


def _text_sections(run: Run) -> tuple[list[str], bool]:
    """The sections of the run's text that are shown, and whether that is not all of it
    (the cut note then takes the last block of the text's budget)."""
    text = _answer(run)
    if not text:
        return [], False
    room = _TEXT_BLOCKS - (1 if run.status is RunStatus.CANCELLED else 0)
    head = text
    if len(text) > _CONVERT_CHARS:
        line_end = text.rfind("\n", _CONVERT_CHARS // 2, _CONVERT_CHARS)
        head = text[: line_end if line_end > 0 else _CONVERT_CHARS]
    chunks = split_text(markdown_to_mrkdwn(head), limits.MAX_SECTION_TEXT)
    if len(chunks) > room or text[len(head) :].strip():
        return chunks[: room - 1], True
    return chunks, False


def result_overflow(run: Run) -> str | None:
    """The whole answer, as the agent wrote it (Markdown, control characters removed),
    when ``build_result`` shows only its beginning; else None.

    The caller attaches it to the thread as a file: the last text section of the result
    says "the full answer is attached".
    """
    _, cut = _text_sections(run)
    return strip_controls(_answer(run)) if cut else None


def build_result(
    run: Run,
    *,
    elapsed_s: float | None = None,
    app_url: str = ORIGAMI_APP_URL,
    previews: Mapping[str, LeadPreview] | None = None,
    with_text: bool = True,
) -> list[Message]:
    """Everything a finished run posts, in order: text, table cards, lead previews, next
    steps, footer, and the AI note with the feedback buttons, in as few messages as fit.

    Questions of a ``needs_input`` run are not here (``build_questions``). Next steps and
    Continue/Retry are ``actions`` blocks, closed after a click; the cards keep their
    buttons inside the card, so closing never takes them along. Slack allows one ``table``
    a message, so a second preview starts a message of its own. The text takes at most
    ``MAX_TEXT_MESSAGES`` messages (see ``result_overflow``). Table links lead only to
    ``app_url``'s host. ``with_text=False``: the text is shown elsewhere (with the run's
    questions, ``bot.domain.questions_intro``).
    """
    status = run.status
    response = run.response
    chunks, cut = _text_sections(run) if with_text else ([], False)
    tables = list(response.tables) if response is not None else []
    run_ok = ids.is_run_id(run.id)
    previews = previews or {}

    content: list[_Unit] = []
    if status is RunStatus.CANCELLED:
        note = texts.CANCELLED_WITH_WORK if chunks or tables else texts.CANCELLED_EMPTY
        content.append(_Unit([section_block(note, "cancelled")], note))
    for n, chunk in enumerate(chunks):
        content.append(_Unit([section_block(chunk, f"text:{n}")], chunk))
    if cut:
        content.append(_Unit([section_block(texts.RESULT_CUT, "text:cut")], texts.RESULT_CUT))
    if tables:
        cards = build_table_cards(
            tables, run_id=run.id, app_url=app_url, changes=table_changes(run.response)
        )
        summary = "; ".join(texts.table_fallback(t.name, t.lead_count) for t in tables[:3])
        content.append(_Unit(cards, summary))
    for n, table in enumerate(tables):
        preview = previews.get(table.id)
        shown = build_preview(preview, table.name, n) if preview is not None else []
        if shown:
            content.append(_Unit(shown, texts.table_fallback(table.name, table.lead_count)))
    if status is RunStatus.COMPLETED and not chunks and not tables:
        content.append(
            _Unit([section_block(texts.NOTHING_TO_SHOW, "nothing")], texts.NOTHING_TO_SHOW)
        )

    follow_up = _next_steps(
        run.todo.next_actions,
        run.id if run_ok else None,
        _offered_by_cards(run, tables) if run_ok else frozenset(),
    )
    footer = _footer(run, run_ok)
    if footer is not None:
        follow_up.append(footer)
    if not content and not follow_up:
        return []
    closing = _Unit(_show_steps(run, run_ok) + build_feedback(run.id), texts.AI_NOTE)

    messages = _pack([*content, *follow_up, closing])
    preview_line = texts.result_fallback(status, elapsed_s)
    if chunks:
        preview_line = f"{preview_line} {chunks[0]}"
    elif not content:
        preview_line = f"{preview_line} {messages[0].text}"
    messages[0] = Message(text=preview_text(preview_line), blocks=messages[0].blocks)
    return messages


def _show_steps(run: Run, run_ok: bool) -> list[Block]:
    """The Show steps button of a run that ended (it reads the run's transcript), and the
    Schedule button of one that completed."""
    if not run_ok or run.status in (RunStatus.RUNNING, RunStatus.UNKNOWN):
        return []
    buttons = [button_element(texts.SHOW_STEPS, ids.SHOW_STEPS, value=run.id)]
    if run.status is RunStatus.COMPLETED:
        # The same search on a schedule: the modal opens with the run's prompt.
        buttons.append(
            button_element(
                schedule_texts.SCHEDULE_BUTTON,
                schedule_ids.SCHEDULE_RUN,
                value=schedule_ids.schedule_run_value(run.id),
            )
        )
    return actions_blocks(buttons, "steps_actions")


def table_changes(response: RunResponse | None) -> dict[str, TableChange]:
    """What the run's actions did to each table (created it, added leads)."""
    if response is None:
        return {}
    created: set[str] = set()
    added: dict[str, int] = {}
    for action in response.actions:
        if not action.table_id:
            continue
        if action.type == "table_created":
            created.add(action.table_id)
        elif action.type == "leads_added" and action.lead_count:
            added[action.table_id] = added.get(action.table_id, 0) + action.lead_count
    return {
        table_id: TableChange(created=table_id in created, leads_added=added.get(table_id, 0))
        for table_id in created | set(added)
    }


def _offered_by_cards(run: Run, tables: Sequence[Table]) -> frozenset[int]:
    """The next steps a card's own button already offers: an ``export_csv`` of a table
    whose card has Export CSV (one button for it, not two side by side)."""
    exported = {t.id for t in tables if has_export(t, run.id)}
    steps = to_next_steps(run.todo.next_actions, tables)
    return frozenset(
        n
        for n, step in enumerate(steps)
        if step.kind is StepKind.EXPORT_CSV and step.table_id in exported
    )


def _next_steps(
    next_actions: Sequence[NextAction], run_id: str | None, hidden: frozenset[int] = frozenset()
) -> list[_Unit]:
    """The next steps' title and buttons; ``hidden``: the indices left out (each button
    keeps its step's index, which is what a click names)."""
    labels = ["" if n in hidden else one_line(a.label) for n, a in enumerate(next_actions)]
    if not any(labels):
        return []
    clickable = labels[: ids.MAX_INDEX + 1] if run_id is not None else []
    clipped = any(len(escape(label)) > limits.MAX_BUTTON_TEXT for label in clickable) or len(
        clickable
    ) < len(labels)
    units: list[_Unit] = []
    if clipped:
        # Some labels do not fit on a button: list them all in full, numbered like the buttons.
        listing = "\n".join(f"{n + 1}. {escape(label)}" for n, label in enumerate(labels) if label)
        chunks = split_text(f"{texts.NEXT_STEPS_TITLE}\n{listing}", limits.MAX_SECTION_TEXT)
        for n, chunk in enumerate(chunks):
            units.append(_Unit([section_block(chunk, f"next:{n}")], texts.NEXT_STEPS_TITLE))
    else:
        units.append(
            _Unit([section_block(texts.NEXT_STEPS_TITLE, "next:0")], texts.NEXT_STEPS_TITLE)
        )
    if run_id is not None and any(clickable):
        buttons = [
            button_element(
                f"{n + 1}. {label}" if clipped else label,
                ids.next_action_id(n),
                value=ids.next_action_value(run_id, n),
            )
            for n, label in enumerate(clickable)
            if label  # a blank suggestion gets no button; the others keep their index
        ]
        units.append(_Unit(actions_blocks(buttons, "next_actions"), texts.NEXT_STEPS_TITLE))
    return units


def _footer(run: Run, run_ok: bool) -> _Unit | None:
    status = run.status
    button: dict[str, Any] | None = None
    if status.can_continue:
        if status is RunStatus.STEP_CAP_HIT:
            note = texts.step_cap_hit(run.steps.max)
        elif status is RunStatus.TIMED_OUT:
            note = texts.TIMED_OUT
        else:
            note = texts.INCOMPLETE
        if run_ok:
            button = button_element(texts.CONTINUE, ids.CONTINUE_RUN, value=run.id, style="primary")
    elif status is RunStatus.ERRORED:
        note = texts.ERRORED
        if run_ok:
            button = button_element(texts.RETRY, ids.RETRY_RUN, value=run.id, style="primary")
    elif status in (RunStatus.UNKNOWN, RunStatus.RUNNING):
        note = texts.unknown_status(run.status_raw)
    else:
        return None
    blocks = [section_block(note, "footer")]
    if button is not None:
        blocks.extend(actions_blocks([button], "footer_actions"))
    return _Unit(blocks, note)


def _pack(units: Sequence[_Unit]) -> list[Message]:
    """Fill messages in order up to the block and character budgets, never splitting a
    unit that fits in one message. Block ids are unique within each message."""
    messages: list[Message] = []
    blocks: list[Block] = []
    chars = 0
    summary = ""

    def flush() -> None:
        nonlocal blocks, chars, summary
        if blocks:
            text = summary if not messages else f"{texts.CONTINUED} {summary}"
            messages.append(Message(text=preview_text(text), blocks=blocks))
        blocks, chars, summary = [], 0, ""

    def fits(count: int, cost: int, table: bool = False) -> bool:
        return (
            len(blocks) + count <= limits.MAX_BLOCKS_PER_MESSAGE
            and chars + cost <= limits.MAX_MESSAGE_BLOCK_CHARS
            and not (table and _has_table(blocks))
        )

    def add(block: Block, unit_summary: str) -> None:
        nonlocal chars, summary
        if not summary:
            summary = unit_summary
        blocks.append(block)
        chars += limits.count_text_chars([block])

    for unit in units:
        cost = limits.count_text_chars(unit.blocks)
        table = _has_table(unit.blocks)
        if not fits(len(unit.blocks), cost, table):
            flush()
        if fits(len(unit.blocks), cost, table):
            for block in unit.blocks:
                add(block, unit.summary)
            continue
        for block in unit.blocks:  # a unit too big for any one message: spread it out
            if not fits(1, limits.count_text_chars([block]), _has_table([block])):
                flush()
            add(block, unit.summary)
    flush()
    return [_unique_block_ids(message) for message in messages]


def _has_table(blocks: Sequence[Block]) -> bool:
    return any(block.get("type") == "table" for block in blocks)


def _unique_block_ids(message: Message) -> Message:
    seen: set[str] = set()
    for block in message.blocks:
        block_id = block.get("block_id")
        if block_id is None:
            continue
        candidate, n = block_id, 1
        while candidate in seen:
            n += 1
            candidate = f"{block_id[: limits.MAX_BLOCK_ID - 6]}~{n}"
        block["block_id"] = candidate
        seen.add(candidate)
    return message
