"""Pure Block Kit builders: plain values in, ``Message`` (fallback text + blocks) out.

No I/O here. Every builder respects Slack's limits by construction (``bot.slack.limits``):
long text is split across sections and messages, labels are clipped, ids stay short and
unique, and everything an agent wrote is escaped. Button values carry only ids and
indexes (``bot.slack.actions``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.origami.models import NextAction, PendingQuestion, Run, RunStatus, Table
from bot.problems import Problem
from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.mrkdwn import (
    clip_escaped,
    clip_label,
    clip_mrkdwn,
    escape,
    is_safe_url,
    markdown_to_mrkdwn,
    one_line,
    split_text,
)

Block = dict[str, Any]

# Notification previews stay short even though the fallback may hold 3,000 characters.
_PREVIEW_CHARS = 280
# Suggested answers shown per question (more would not leave room for other questions).
MAX_SUGGESTIONS = 49
# Budget for all question buttons' labels together, inside MAX_MESSAGE_BLOCK_CHARS.
_QUESTION_BUTTON_CHARS = 4_500
_MIN_LABEL = 12
_MAX_QUESTION_BUTTONS = _QUESTION_BUTTON_CHARS // _MIN_LABEL


@dataclass(frozen=True)
class Message:
    """One Slack message: ``text`` is the notification fallback, ``blocks`` what is shown."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """Who answered a question, and what (a suggested answer or their own words)."""

    user_id: str
    text: str


# -- small block helpers ---------------------------------------------------------------------


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(clip_mrkdwn(text, limits.MAX_SECTION_TEXT))}
    if block_id is not None:
        block["block_id"] = block_id[: limits.MAX_BLOCK_ID]
    return block


def _context(text: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "context",
        "elements": [_mrkdwn(clip_mrkdwn(text, limits.MAX_CONTEXT_TEXT))],
    }
    if block_id is not None:
        block["block_id"] = block_id[: limits.MAX_BLOCK_ID]
    return block


def _header(raw: str, block_id: str) -> Block:
    return {
        "type": "header",
        "block_id": block_id[: limits.MAX_BLOCK_ID],
        "text": _plain(clip_label(raw, limits.MAX_HEADER_TEXT)),
    }


def _button(
    label: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
    label_limit: int = limits.MAX_BUTTON_TEXT,
) -> dict[str, Any]:
    """A button; ``label`` is raw text (escaped and clipped here)."""
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id[: limits.MAX_ACTION_ID],
        "text": _plain(clip_label(label, min(label_limit, limits.MAX_BUTTON_TEXT))),
    }
    if value is not None:
        if len(value) > limits.MAX_BUTTON_VALUE:
            raise ValueError("button value too long")
        button["value"] = value
    if url is not None:
        button["url"] = url
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def _link_url(url: str | None) -> str | None:
    """``url`` if it can go on a link button, else None."""
    if url is None:
        return None
    url = url.strip()
    if not url or len(url) > limits.MAX_BUTTON_URL or not is_safe_url(url):
        return None
    if any(char.isspace() for char in url):
        return None
    return url


def _actions(elements: Sequence[dict[str, Any]], block_id: str) -> list[Block]:
    """Actions blocks of at most 25 elements; ids ``block_id``, ``block_id:2``, …"""
    blocks: list[Block] = []
    step = limits.MAX_ACTIONS_ELEMENTS
    for n, start in enumerate(range(0, len(elements), step)):
        suffix = "" if n == 0 else f":{n + 1}"
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{block_id[: limits.MAX_BLOCK_ID - 8]}{suffix}",
                "elements": list(elements[start : start + step]),
            }
        )
    return blocks


def _fallback(text: str, limit: int = limits.MAX_FALLBACK_TEXT) -> str:
    return clip_mrkdwn(text.strip(), limit) or "Origami"


def _preview(text: str) -> str:
    """A one-line notification preview."""
    return _fallback(one_line(text), _PREVIEW_CHARS)


def _stop_confirm() -> dict[str, Any]:
    return {
        "title": _plain(texts.STOP_CONFIRM_TITLE),
        "text": _plain(texts.STOP_CONFIRM_TEXT),
        "confirm": _plain(texts.STOP_CONFIRM_YES),
        "deny": _plain(texts.STOP_CONFIRM_NO),
        "style": "danger",
    }


def _stop_button(run_id: str, label: str = texts.STOP) -> dict[str, Any]:
    return _button(label, ids.STOP_RUN, value=run_id, style="danger", confirm=_stop_confirm())


def _note(text: str, block_id: str = "note") -> Message:
    return Message(text=_fallback(text), blocks=[_section(text, block_id)])


# -- the first reply and the progress line ---------------------------------------------------


def build_ack() -> Message:
    """Posted at once in the thread; it becomes the progress message."""
    return _note(texts.ACK, "ack")


def build_progress(
    *,
    run_id: str,
    steps_completed: int,
    steps_max: int,
    elapsed_s: float,
    leads_found: int | None = None,
    queued: int = 0,
) -> Message:
    line = texts.progress_line(
        steps_completed=steps_completed,
        steps_max=steps_max,
        elapsed_s=elapsed_s,
        leads_found=leads_found,
        queued=queued,
    )
    blocks: list[Block] = [_section(f"{texts.PROGRESS_TITLE}\n{line}", "progress")]
    if ids.is_run_id(run_id):
        blocks.extend(_actions([_stop_button(run_id)], "progress_actions"))
    return Message(text=_fallback(f"Origami is working… {line}"), blocks=blocks)


def build_progress_final(
    *, status: RunStatus, elapsed_s: float, steps_completed: int, steps_max: int
) -> Message:
    line = texts.progress_final(
        status, elapsed_s=elapsed_s, steps_completed=steps_completed, steps_max=steps_max
    )
    return Message(text=_fallback(line), blocks=[_context(line, "progress")])


# -- results -------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """Blocks that belong together (kept in one message when they fit) and a summary."""

    blocks: list[Block]
    summary: str


def build_result(run: Run, *, elapsed_s: float | None = None) -> list[Message]:
    """Everything a finished run posts, in order: text, table cards, next steps, footer.

    Questions of a ``needs_input`` run are not here (``build_questions``). Next steps and
    Continue/Retry are one-shot buttons, so they get a message of their own: closing them
    after a click never takes the table cards' buttons along.
    """
    status = run.status
    response = run.response
    text = (response.text or "") if response is not None else ""
    chunks = split_text(markdown_to_mrkdwn(text), limits.MAX_SECTION_TEXT) if text else []
    tables = list(response.tables) if response is not None else []
    run_ok = ids.is_run_id(run.id)

    content: list[_Unit] = []
    if status is RunStatus.CANCELLED:
        note = texts.CANCELLED_WITH_WORK if chunks or tables else texts.CANCELLED_EMPTY
        content.append(_Unit([_section(note, "cancelled")], note))
    for n, chunk in enumerate(chunks):
        content.append(_Unit([_section(chunk, f"text:{n}")], chunk))
    for n, table in enumerate(tables):
        card = build_table_card(table, run_id=run.id, index=n)
        content.append(_Unit(card, texts.table_fallback(table.name, table.lead_count)))
    if status is RunStatus.COMPLETED and not chunks and not tables:
        content.append(_Unit([_section(texts.NOTHING_TO_SHOW, "nothing")], texts.NOTHING_TO_SHOW))

    follow_up = _next_steps(run.todo.next_actions, run.id if run_ok else None)
    footer = _footer(run, run_ok)
    if footer is not None:
        follow_up.append(footer)

    messages = _pack(content)
    if messages:
        preview = texts.result_fallback(status, elapsed_s)
        if chunks:
            preview = f"{preview} {chunks[0]}"
        messages[0] = Message(text=_preview(preview), blocks=messages[0].blocks)
    follow_messages = _pack(follow_up)
    if follow_messages and not messages:
        first = follow_messages[0]
        preview = f"{texts.result_fallback(status, elapsed_s)} {first.text}"
        follow_messages[0] = Message(text=_preview(preview), blocks=first.blocks)
    return messages + follow_messages


def _next_steps(next_actions: Sequence[NextAction], run_id: str | None) -> list[_Unit]:
    labels = [one_line(action.label) for action in next_actions]
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
            units.append(_Unit([_section(chunk, f"next:{n}")], texts.NEXT_STEPS_TITLE))
    else:
        units.append(_Unit([_section(texts.NEXT_STEPS_TITLE, "next:0")], texts.NEXT_STEPS_TITLE))
    if run_id is not None and any(clickable):
        buttons = [
            _button(
                f"{n + 1}. {label}" if clipped else label,
                ids.next_action_id(n),
                value=ids.next_action_value(run_id, n),
            )
            for n, label in enumerate(clickable)
            if label  # a blank suggestion gets no button; the others keep their index
        ]
        units.append(_Unit(_actions(buttons, "next_actions"), texts.NEXT_STEPS_TITLE))
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
            button = _button(texts.CONTINUE, ids.CONTINUE_RUN, value=run.id, style="primary")
    elif status is RunStatus.ERRORED:
        note = texts.ERRORED
        if run_ok:
            button = _button(texts.RETRY, ids.RETRY_RUN, value=run.id, style="primary")
    elif status in (RunStatus.UNKNOWN, RunStatus.RUNNING):
        note = texts.unknown_status(run.status_raw)
    else:
        return None
    blocks = [_section(note, "footer")]
    if button is not None:
        blocks.extend(_actions([button], "footer_actions"))
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
            messages.append(Message(text=_preview(text), blocks=blocks))
        blocks, chars, summary = [], 0, ""

    def fits(count: int, cost: int) -> bool:
        return (
            len(blocks) + count <= limits.MAX_BLOCKS_PER_MESSAGE
            and chars + cost <= limits.MAX_MESSAGE_BLOCK_CHARS
        )

    def add(block: Block, unit_summary: str) -> None:
        nonlocal chars, summary
        if not summary:
            summary = unit_summary
        blocks.append(block)
        chars += limits.count_text_chars([block])

    for unit in units:
        cost = limits.count_text_chars(unit.blocks)
        if not fits(len(unit.blocks), cost):
            flush()
        if fits(len(unit.blocks), cost):
            for block in unit.blocks:
                add(block, unit.summary)
            continue
        for block in unit.blocks:  # a unit too big for any one message: spread it out
            if not fits(1, limits.count_text_chars([block])):
                flush()
            add(block, unit.summary)
    flush()
    return [_unique_block_ids(message) for message in messages]


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


# -- tables ---------------------------------------------------------------------------------------


def _table_blocks(
    table: Table, *, run_id: str | None, index: int, share: bool, note: str | None = None
) -> list[Block]:
    key = f"table:{index}:{table.id[:64]}"
    blocks: list[Block] = [
        _header(table.name.strip() or "Untitled table", f"{key}:name"),
        _section(
            texts.table_stats(table.lead_count, table.qualified_leads, table.credits.lifetime_used),
            f"{key}:stats",
        ),
    ]
    if table.cells.running > 0:
        blocks.append(_context(texts.still_enriching(table.cells.running), f"{key}:enriching"))
    if note is not None:
        blocks.append(_context(note, f"{key}:note"))
    buttons: list[dict[str, Any]] = []
    url = _link_url(table.url)
    if url is not None:
        buttons.append(_button(texts.OPEN_IN_ORIGAMI, ids.OPEN_TABLE, url=url, style="primary"))
    if run_id is not None and ids.is_run_id(run_id) and ids.is_table_id(table.id):
        value = ids.table_value(run_id, table.id)
        if share:
            buttons.append(_button(texts.SHARE_TO_CHANNEL, ids.SHARE_TABLE, value=value))
        buttons.append(_button(texts.EXPORT_CSV, ids.EXPORT_CSV, value=value))
    if buttons:
        blocks.extend(_actions(buttons, f"{key}:actions"))
    return blocks


def build_table_card(table: Table, *, run_id: str, index: int = 0) -> list[Block]:
    """A table's card: name, leads, qualified leads, credits, enrichment, and its buttons.

    ``index`` (the table's position in the result) keeps block ids unique in a message.
    """
    return _table_blocks(table, run_id=run_id, index=index, share=True)


def build_shared_table(
    table: Table, *, shared_by: str, thread_link: str | None, run_id: str | None = None
) -> Message:
    """The card posted to the channel: no Share button; Open, and Export when ``run_id``."""
    by = texts.shared_by(shared_by, thread_link)
    blocks = _table_blocks(table, run_id=run_id, index=0, share=False, note=by)
    fallback = f"{by}: {texts.table_fallback(table.name, table.lead_count)}"
    return Message(text=_preview(fallback), blocks=blocks)


# -- questions ------------------------------------------------------------------------------------


def _question_text(question: PendingQuestion) -> str:
    return markdown_to_mrkdwn(question.question.strip()) or "…"


def _fit_questions(button_counts: Sequence[int], reserve: int) -> int:
    """How many questions (in order) fit in one message, given each one's button count."""
    used_blocks, used_buttons, shown = reserve, 0, 0
    for buttons in button_counts:
        blocks = 1 + math.ceil(buttons / limits.MAX_ACTIONS_ELEMENTS)
        if used_blocks + blocks > limits.MAX_BLOCKS_PER_MESSAGE:
            break
        if used_buttons + buttons > _MAX_QUESTION_BUTTONS:
            break
        used_blocks += blocks
        used_buttons += buttons
        shown += 1
    return shown


def build_questions(
    questions: Sequence[PendingQuestion], *, run_id: str, answers: Mapping[int, Answer]
) -> Message:
    """The agent's questions: one section each, a button per suggested answer plus the
    "Or something else" button; answered ones show who answered what instead. With
    several questions, "Send answers" appears once at least one is answered."""
    questions = list(questions)
    run_ok = ids.is_run_id(run_id)
    several = len(questions) > 1

    def buttons_of(n: int, question: PendingQuestion) -> int:
        if n in answers or not run_ok:
            return 0
        return min(len(question.suggested_answers), MAX_SUGGESTIONS) + 1

    button_counts = [buttons_of(n, q) for n, q in enumerate(questions)]
    # hint + send answers + "more questions" note
    shown = _fit_questions(button_counts, reserve=3)
    shown = min(shown, ids.MAX_INDEX + 1)
    total_buttons = sum(button_counts[:shown])
    label_limit = limits.MAX_BUTTON_TEXT
    if total_buttons * label_limit > _QUESTION_BUTTON_CHARS:
        label_limit = max(_MIN_LABEL, _QUESTION_BUTTON_CHARS // total_buttons)
    per_question = (limits.MAX_MESSAGE_BLOCK_CHARS - 400 - total_buttons * label_limit) // max(
        shown, 1
    )
    per_question = min(per_question, limits.MAX_SECTION_TEXT)

    blocks: list[Block] = []
    for n, question in enumerate(questions[:shown]):
        answer = answers.get(n)
        number = f"*{n + 1}.* " if several else ""
        body = _question_text(question)
        suggestions = [one_line(s) for s in question.suggested_answers[:MAX_SUGGESTIONS]]
        extra = ""
        if answer is not None:
            extra = texts.answered(answer.user_id, answer.text)
            extra = clip_mrkdwn(extra, max(per_question // 2, 60))
        elif any(len(escape(s)) > label_limit for s in suggestions) or not run_ok:
            # Some options do not fit on a button (or cannot be clicked): list them in full.
            extra = "\n".join(f"• {escape(s)}" for s in suggestions if s)
        room = per_question - len(extra) - len(number) - 1
        if answer is not None:
            text = f"{number}{clip_mrkdwn(body, max(room, 20))}\n{extra}"
        else:
            text = clip_mrkdwn(f"{number}{body}\n{extra}".rstrip(), per_question)
        blocks.append(_section(text, f"q:{n}"))
        if button_counts[n]:
            elements = [
                _button(
                    label,
                    ids.answer_action_id(n, a),
                    value=ids.answer_value(run_id, n, a),
                    style="primary" if question.type == "confirm" and a == 0 else None,
                    label_limit=label_limit,
                )
                for a, label in enumerate(suggestions)
                if label
            ]
            elements.append(
                _button(
                    question.freeform_option or "Or something else",
                    ids.answer_other_action_id(n),
                    value=ids.question_value(run_id, n),
                    label_limit=label_limit,
                )
            )
            blocks.extend(_actions(elements, f"q:{n}:answers"))
    if len(questions) > shown:
        blocks.append(_context(texts.more_questions(len(questions) - shown), "q:more"))
    unanswered = [n for n in range(shown) if n not in answers]
    if several and run_ok:
        if unanswered:
            blocks.append(_context(texts.QUESTIONS_HINT, "q:hint"))
        if any(n in answers for n in range(len(questions))):
            send = _button(texts.SEND_ANSWERS, ids.SEND_ANSWERS, value=run_id, style="primary")
            blocks.extend(_actions([send], "q:send"))
    first = one_line(questions[0].question) if questions else ""
    fallback = f"{texts.questions_fallback(len(questions))} {clip_escaped(first, 200)}"
    return Message(text=_preview(fallback), blocks=blocks)


def build_questions_closed(
    questions: Sequence[PendingQuestion], *, answers: Mapping[int, Answer]
) -> Message:
    """The questions after the answers went out: who answered what, no buttons."""
    questions = list(questions)
    several = len(questions) > 1
    shown = min(len(questions), limits.MAX_BLOCKS_PER_MESSAGE - 2)
    per_question = min(
        (limits.MAX_MESSAGE_BLOCK_CHARS - 300) // max(shown, 1), limits.MAX_SECTION_TEXT
    )
    blocks: list[Block] = []
    for n, question in enumerate(questions[:shown]):
        answer = answers.get(n)
        number = f"*{n + 1}.* " if several else ""
        line = texts.answered(answer.user_id, answer.text) if answer else f"_{texts.NO_ANSWER}_"
        line = clip_mrkdwn(line, max(per_question // 2, 60))
        room = per_question - len(line) - len(number) - 1
        body = clip_mrkdwn(_question_text(question), max(room, 20))
        blocks.append(_section(f"{number}{body}\n{line}", f"q:{n}"))
    if len(questions) > shown:
        blocks.append(_context(texts.more_questions(len(questions) - shown), "q:more"))
    blocks.append(_context(texts.ANSWERS_SENT, "q:sent"))
    return Message(text=texts.ANSWERS_SENT, blocks=blocks)


def build_freeform_modal(
    *, question: str, private_metadata: str, initial: str = ""
) -> dict[str, Any]:
    """The "Or something else" modal: the question and a text box for a typed answer."""
    if len(private_metadata) > limits.MAX_PRIVATE_METADATA:
        raise ValueError("private_metadata is longer than Slack allows")
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.FREEFORM_INPUT,
        "multiline": True,
        "min_length": 1,
        # Slack caps max_length at 3,000 (Origami would take 10,000).
        "max_length": limits.MAX_TEXT_INPUT_LENGTH,
        "placeholder": _plain(texts.MODAL_PLACEHOLDER),
    }
    if initial:
        element["initial_value"] = initial[: limits.MAX_TEXT_INPUT_LENGTH]
    question_text = clip_mrkdwn(
        markdown_to_mrkdwn(question.strip()) or "…", limits.MAX_SECTION_TEXT
    )
    return {
        "type": "modal",
        "callback_id": ids.FREEFORM_MODAL,
        "private_metadata": private_metadata,
        "title": _plain(texts.MODAL_TITLE[: limits.MAX_MODAL_TITLE]),
        "submit": _plain(texts.MODAL_SUBMIT),
        "close": _plain(texts.MODAL_CLOSE),
        "blocks": [
            _section(question_text, "question"),
            {
                "type": "input",
                "block_id": ids.FREEFORM_BLOCK,
                "label": _plain(texts.MODAL_INPUT_LABEL),
                "element": element,
            },
        ],
    }


# -- problems and notes --------------------------------------------------------------------------


def build_problem(problem: Problem, *, retrying: bool = False) -> Message:
    """The fixed sentence for ``problem.kind``, and a link button to the fix when known."""
    text = texts.problem(problem, retrying=retrying)
    blocks: list[Block] = [_section(text, "problem")]
    url = _link_url(problem.fix_url)
    if url is not None:
        button = _button(
            texts.problem_button(problem.kind), ids.OPEN_LINK, url=url, style="primary"
        )
        blocks.extend(_actions([button], "problem_actions"))
    return Message(text=_fallback(text), blocks=blocks)


def build_usage_hint() -> Message:
    return _note(texts.USAGE_HINT, "usage")


def build_queued(*, position: int, run_id: str | None) -> Message:
    text = texts.queued(position)
    blocks: list[Block] = [_section(text, "queued")]
    if run_id is not None and ids.is_run_id(run_id):
        blocks.extend(_actions([_stop_button(run_id, texts.STOP_CURRENT)], "queued_actions"))
    return Message(text=_fallback(text), blocks=blocks)


def build_waiting_for_slot(
    *, busy: int | None, limit: int | None, retry_after_s: float | None
) -> Message:
    return _note(texts.waiting_for_slot(busy, limit, retry_after_s), "waiting")


def build_attachments_note() -> Message:
    return _note(texts.ATTACHMENTS_NOTE, "attachments")


def build_already_answered(answer: Answer) -> Message:
    return _note(texts.already_answered(answer.user_id, answer.text), "already_answered")


def build_note(text: str) -> Message:
    """A one-section message from a ready-made sentence of ``texts``."""
    return _note(text)


def with_context_note(blocks: Sequence[Mapping[str, Any]], note: str, *, fallback: str) -> Message:
    """``blocks`` (an existing message, buttons removed) with ``note`` added at the end."""
    kept = [dict(block) for block in blocks][: limits.MAX_BLOCKS_PER_MESSAGE - 1]
    taken = {block.get("block_id") for block in kept}
    block_id, n = "note", 1
    while block_id in taken:
        n += 1
        block_id = f"note:{n}"
    kept.append(_context(note, block_id))
    return Message(text=_fallback(fallback or note), blocks=kept)
