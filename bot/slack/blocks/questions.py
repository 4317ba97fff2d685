"""The agent's questions, with a button per suggested answer, and the same questions
once the answers were sent; below the run's text when it goes with them (``intro``), and
above the AI note and the feedback buttons, so a run that asks is one message."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from bot.domain import Answer
from bot.origami.models import PendingQuestion
from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.blocks.common import (
    Block,
    Message,
    actions_blocks,
    button_element,
    context_block,
    preview_text,
    section_block,
)
from bot.slack.blocks.feedback import build_feedback
from bot.slack.mrkdwn import clip_escaped, clip_mrkdwn, escape, markdown_to_mrkdwn, one_line

# Suggested answers shown per question (more would not leave room for other questions).
MAX_SUGGESTIONS = 49
# Budget for all question buttons' labels together, inside MAX_MESSAGE_BLOCK_CHARS.
_QUESTION_BUTTON_CHARS = 4_500
_MIN_LABEL = 12
_MAX_QUESTION_BUTTONS = _QUESTION_BUTTON_CHARS // _MIN_LABEL


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


def _intro(intro: str) -> tuple[list[Block], str]:
    """The block above the questions (the run's text, converted), and that text."""
    text = clip_mrkdwn(markdown_to_mrkdwn(intro.strip()), limits.MAX_SECTION_TEXT)
    if not text.strip():
        return [], ""
    return [section_block(text, "intro")], text


def _foot(intro: str, run_id: str) -> list[Block]:
    # With its text, the message is the run's result: the AI note and feedback close it.
    return build_feedback(run_id) if intro else []


def build_questions(
    questions: Sequence[PendingQuestion],
    *,
    run_id: str,
    answers: Mapping[int, Answer],
    intro: str = "",
) -> Message:
    """The agent's questions: one section each, a button per suggested answer plus the
    "Or something else" button; answered ones show who answered what instead. With
    several questions, "Send answers" appears once at least one is answered. ``intro``:
    the run's text (Markdown), shown above them, with the AI note and feedback below."""
    head, intro_text = _intro(intro)
    foot = _foot(intro_text, run_id)
    questions = list(questions)
    run_ok = ids.is_run_id(run_id)
    several = len(questions) > 1

    def buttons_of(n: int, question: PendingQuestion) -> int:
        if n in answers or not run_ok:
            return 0
        return min(len(question.suggested_answers), MAX_SUGGESTIONS) + 1

    button_counts = [buttons_of(n, q) for n, q in enumerate(questions)]
    # hint + send answers + "more questions" note, and the text and foot
    shown = _fit_questions(button_counts, reserve=3 + len(head) + len(foot))
    shown = min(shown, ids.MAX_INDEX + 1)
    total_buttons = sum(button_counts[:shown])
    label_limit = limits.MAX_BUTTON_TEXT
    if total_buttons * label_limit > _QUESTION_BUTTON_CHARS:
        label_limit = max(_MIN_LABEL, _QUESTION_BUTTON_CHARS // total_buttons)
    room = limits.MAX_MESSAGE_BLOCK_CHARS - 400 - len(intro_text) - limits.count_text_chars(foot)
    per_question = (room - total_buttons * label_limit) // max(shown, 1)
    per_question = min(per_question, limits.MAX_SECTION_TEXT)

    blocks: list[Block] = list(head)
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
        blocks.append(section_block(text, f"q:{n}"))
        if button_counts[n]:
            elements = [
                button_element(
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
                button_element(
                    question.freeform_option or "Or something else",
                    ids.answer_other_action_id(n),
                    value=ids.question_value(run_id, n),
                    label_limit=label_limit,
                )
            )
            blocks.extend(actions_blocks(elements, f"q:{n}:answers"))
    if len(questions) > shown:
        blocks.append(context_block(texts.more_questions(len(questions) - shown), "q:more"))
    unanswered = [n for n in range(shown) if n not in answers]
    if several and run_ok:
        if unanswered:
            blocks.append(context_block(texts.QUESTIONS_HINT, "q:hint"))
        if any(n in answers for n in range(len(questions))):
            send = button_element(
                texts.SEND_ANSWERS, ids.SEND_ANSWERS, value=run_id, style="primary"
            )
            blocks.extend(actions_blocks([send], "q:send"))
    blocks.extend(foot)
    first = one_line(questions[0].question) if questions else ""
    fallback = f"{texts.questions_fallback(len(questions))} {clip_escaped(first, 200)}"
    if intro_text:
        fallback = f"{texts.questions_fallback(len(questions))} {intro_text}"
    return Message(text=preview_text(fallback), blocks=blocks)


def build_questions_closed(
    questions: Sequence[PendingQuestion],
    *,
    answers: Mapping[int, Answer],
    intro: str = "",
    run_id: str = "",
) -> Message:
    """The questions after the answers went out: who answered what, no buttons (but the
    feedback on the run, below its ``intro``, stays)."""
    head, intro_text = _intro(intro)
    foot = _foot(intro_text, run_id)
    questions = list(questions)
    several = len(questions) > 1
    shown = min(len(questions), limits.MAX_BLOCKS_PER_MESSAGE - 2 - len(head) - len(foot))
    room = limits.MAX_MESSAGE_BLOCK_CHARS - 300 - len(intro_text) - limits.count_text_chars(foot)
    per_question = min(room // max(shown, 1), limits.MAX_SECTION_TEXT)
    blocks: list[Block] = list(head)
    for n, question in enumerate(questions[:shown]):
        answer = answers.get(n)
        number = f"*{n + 1}.* " if several else ""
        line = texts.answered(answer.user_id, answer.text) if answer else f"_{texts.NO_ANSWER}_"
        line = clip_mrkdwn(line, max(per_question // 2, 60))
        room = per_question - len(line) - len(number) - 1
        body = clip_mrkdwn(_question_text(question), max(room, 20))
        blocks.append(section_block(f"{number}{body}\n{line}", f"q:{n}"))
    if len(questions) > shown:
        blocks.append(context_block(texts.more_questions(len(questions) - shown), "q:more"))
    blocks.append(context_block(texts.ANSWERS_SENT, "q:sent"))
    blocks.extend(foot)
    return Message(text=texts.ANSWERS_SENT, blocks=blocks)
