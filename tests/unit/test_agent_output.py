"""Property tests (hypothesis): whatever the agent writes renders within Block Kit's limits,
with no invisible control or bidi override character and nothing that could ping anyone.

The agent writes the answer's text, table names, next-action labels, questions, suggested
answers and the freeform label (and Origami the table URLs): random Unicode, Markdown, huge
texts, control and bidi characters, link syntax and ``<!channel>``-style mentions, mixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain import Answer
from bot.origami.models import Run, RunStatus
from bot.slack import texts
from bot.slack.blocks import (
    MAX_TEXT_MESSAGES,
    Message,
    build_freeform_modal,
    build_questions,
    build_questions_closed,
    build_result,
    build_shared_table,
    result_overflow,
    with_context_note,
)
from bot.slack.mrkdwn import strip_controls
from tests.fakes.slack import MAX_UPDATE_TEXT, message_errors, view_errors

PROPERTY_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

USER = "U0TESTER"  # the one person our own output mentions (who answered, who shared)
RUN_ID = "v2_run-7f3a"

# Pieces an agent's output is made of, the hostile ones included.
PIECES = [
    "\x00", "\x07", "\x1b[31m", "\r", "\x7f", "\x85", "\u202a", "\u202b", "\u202c", "\u202d",
    "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u200b", "\ufeff",
    "\ud800", "\udfff", "<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<@W0X|x>",
    "<#C123|general>", "<!subteam^S1|team>", "<!date^1|x>", "<https://evil.example|click>",
    "<mailto:a@b.c>", "[bank.com](https://evil.example)", "[https://bank.com](https://evil.x)",
    "[x](javascript:alert(1))", "[t](https://ok.com/a|b>c)", "![i](https://x.com/i.png)",
    "https://x.com/?a=1&b=2", "**", "*", "__", "_", "~~", "`", "```", "```python\n", "\n",
    "\n\n", "# ", "## ", "- ", "1. ", "> ", "| a | b |\n|---|---:|\n| 1 | 2 |\n", "|", "&",
    "&amp;", "&lt;", "<", ">", "\\", "🚀", "👩‍💻", "é", "漢字", "שלום", "مرحبا", " ", "lead",
]  # fmt: skip
PIECE_SET = set(PIECES)

agent_text = st.lists(st.sampled_from(PIECES) | st.text(max_size=12), max_size=40).map("".join)
# Huge: a random piece repeated, up to a few hundred thousand characters.
huge_text = st.builds(
    lambda piece, times: (piece * times)[:400_000],
    agent_text.filter(lambda t: len(t) >= 5),
    st.integers(min_value=1, max_value=20_000),
)
urls = st.sampled_from(
    [
        None,
        "https://origami.chat/workspace/ws?table=t1",
        "https://evil.example/workspace/ws?table=t1",
        "http://origami.chat/x",
        "https://origami.chat@evil.example/",
        "javascript:alert(1)",
        "https://origami.chat/\u202ex",
    ]
)

# Left in our output once the links and the one mention we build are removed, a '<' would
# be Slack markup the agent smuggled in.
_OUR_MARKUP = re.compile(rf"<(?:https?://|mailto:)[^\s<>|]+(?:\|[^<>]*)?>|<@{USER}>")
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@st.composite
def agent_runs(draw: st.DrawFn, text: st.SearchStrategy[str] = agent_text) -> Run:
    tables = [
        {
            "id": draw(st.sampled_from(["tbl_1", "d290f1ee-6c54-4b01-90e6-d701748f0851", "x y"])),
            "name": draw(agent_text),
            "leadCount": draw(st.integers(0, 10**6)),
            "url": draw(urls),
            "cells": {"running": draw(st.integers(0, 3)), "errored": 0},
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    questions = [
        {
            "type": draw(st.sampled_from(["single-choice", "confirm", "other"])),
            "question": draw(agent_text),
            "suggestedAnswers": draw(st.lists(agent_text, max_size=6)),
            "freeformOption": draw(agent_text),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    return Run.model_validate(
        {
            "id": draw(st.sampled_from([RUN_ID, "bad id"])),
            "agentId": "agent-1",
            "status": draw(st.sampled_from([s.value for s in RunStatus] + [draw(agent_text)])),
            "steps": {"completed": 3, "max": 50},
            "response": {"text": draw(text), "actions": [], "tables": tables},
            "todo": {
                "pendingQuestions": questions,
                "nextActions": [
                    {"label": draw(agent_text)} for _ in range(draw(st.integers(0, 5)))
                ],
            },
        }
    )


def _readable(obj: Any) -> Iterator[str]:
    """Every string of a payload Slack shows or follows: text objects, fallback texts, URLs."""
    if isinstance(obj, Message):
        yield obj.text
        yield from _readable(obj.blocks)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str) and key in ("text", "url"):
                yield value
            else:
                yield from _readable(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from _readable(item)


def assert_safe(*payloads: Any) -> None:
    for string in (s for payload in payloads for s in _readable(payload)):
        assert not _UNSAFE.search(string), ascii(string)
        assert "<" not in _OUR_MARKUP.sub("", string), string


def assert_slack_takes(messages: list[Message]) -> None:
    for message in messages:
        assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
        assert message.text.strip()


def _everything(run: Run) -> list[Message]:
    messages = build_result(run, elapsed_s=61)
    questions = run.todo.pending_questions
    if questions:
        # Someone picked the first suggestion (or typed the question back): their text too.
        first = questions[0]
        picked = (first.suggested_answers or [first.question])[0]
        answers = {0: Answer(USER, picked)} if picked.strip() else {}
        messages += [
            build_questions(questions, run_id=run.id, answers={}),
            build_questions(questions, run_id=run.id, answers=answers),
            build_questions_closed(questions, answers=answers),
        ]
    for table in run.response.tables if run.response else []:
        messages.append(build_shared_table(table, shared_by=USER, thread_link=None, run_id=run.id))
    for action in run.todo.next_actions:
        kept = messages[0].blocks if messages else []
        messages.append(with_context_note(kept, texts.choice_made(USER, action.label), fallback=""))
    return messages


@PROPERTY_SETTINGS
@given(agent_runs())
def test_agent_output_renders_within_limits_and_inert(run: Run) -> None:
    messages = _everything(run)
    assert_slack_takes(messages)
    assert_safe(*messages)
    for button in (
        e for m in messages for b in m.blocks if b["type"] == "actions" for e in b["elements"]
    ):
        if "url" in button:  # a link button built from Origami's data: the app only
            assert re.match(r"https://origami\.chat(?:[/?#]|$)", button["url"]), button
    for question in run.todo.pending_questions:
        view = build_freeform_modal(question=question.question, private_metadata="token")
        assert view_errors(view) == []
        assert_safe(view["blocks"])


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(agent_runs(text=huge_text))
def test_a_huge_answer_stays_within_its_messages_and_is_given_whole(run: Run) -> None:
    messages = build_result(run)
    assert_slack_takes(messages)
    assert_safe(*messages)
    with_text = [m for m in messages if any(b["block_id"].startswith("text:") for b in m.blocks)]
    assert len(with_text) <= MAX_TEXT_MESSAGES
    overflow = result_overflow(run)
    cut = any(b["block_id"] == "text:cut" for m in messages for b in m.blocks)
    assert cut is (overflow is not None)
    assert run.response is not None and run.response.text is not None
    if overflow is not None:
        assert overflow == strip_controls(run.response.text)
        assert not _UNSAFE.search(overflow)


def test_labels_and_texts_made_only_of_control_characters_still_render() -> None:
    """Found by the property tests: what is left of "\\x1b\\r\\x1b" once controls are
    stripped is a space, and Slack refuses a button or a section of spaces only."""
    junk = "\x1b\r\x1b"
    run = Run.model_validate(
        {
            "id": "v2_run-junk",
            "status": "needs_input",
            "todo": {
                "pendingQuestions": [{"question": junk, "suggestedAnswers": [junk, "ok"]}],
                "nextActions": [{"label": junk}],
            },
            "response": {"text": junk, "tables": [{"id": "t1", "name": junk, "leadCount": 1}]},
        }
    )
    messages = [*build_result(run, elapsed_s=1.0)]
    messages.append(build_questions(run.todo.pending_questions, run_id=run.id, answers={}))
    for message in messages:
        assert message_errors(message.blocks, message.text) == []
