"""Block Kit builders and button codecs, tested on their output: no mocks, no network."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from bot.origami.models import PendingQuestion, Run, RunStatus, Table
from bot.problems import Problem, ProblemKind
from bot.slack import actions as ids
from bot.slack import texts
from bot.slack.blocks import (
    Answer,
    Message,
    build_ack,
    build_already_answered,
    build_freeform_modal,
    build_note,
    build_problem,
    build_progress,
    build_progress_final,
    build_questions,
    build_questions_closed,
    build_queued,
    build_result,
    build_shared_table,
    build_table_card,
    build_table_cards,
    build_usage_hint,
    build_waiting_for_slot,
    result_overflow,
    with_context_note,
)
from bot.slack.blocks.common import plain_preview
from bot.slack.blocks.tables import TableChange
from bot.slack.mrkdwn import escape, markdown_to_mrkdwn
from bot.slack.schedule_actions import SCHEDULE_RUN
from tests.fakes.agent_blocks import MAX_CARD_TITLE
from tests.fakes.slack import MAX_UPDATE_TEXT, message_errors, view_errors

RUN_ID = "v2_run-7f3a"
EVIL = "<!channel> <!here> <@U123> <https://evil|click> <!subteam^S1|sales> R&D"
EVIL_RAW = ["<!channel>", "<!here>", "<@U123>", "<https://evil|click>", "<!subteam"]
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


# -- helpers ----------------------------------------------------------------------------------


def make_table(n: int = 0, **fields: Any) -> Table:
    data: dict[str, Any] = {
        "id": f"tbl_{n}",
        "name": f"Table {n}",
        "leadCount": 20 + n,
        "url": f"https://origami.chat/workspace/ws_1?table=tbl_{n}",
        "credits": {"lifetimeUsed": 35},
        "cells": {"running": 0, "errored": 0},
    }
    data.update(fields)
    return Table.model_validate(data)


def make_run(
    status: str = "completed",
    *,
    text: str | None = "Found **20** founders.",
    tables: Sequence[Table] = (),
    next_actions: Sequence[str] = (),
    run_id: str = RUN_ID,
    steps: tuple[int, int] = (24, 50),
) -> Run:
    return Run.model_validate(
        {
            "id": run_id,
            "agentId": "agent-1",
            "status": status,
            "steps": {"completed": steps[0], "max": steps[1]},
            "response": {
                "text": text,
                "actions": [],
                "tables": [t.model_dump(by_alias=True) for t in tables],
            },
            "todo": {
                "pendingQuestions": [],
                "nextActions": [{"label": label} for label in next_actions],
            },
        }
    )


def text_fields(obj: Any) -> Iterator[str]:
    """Every string a user can read: text objects, and nothing else."""
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn") and isinstance(obj.get("text"), str):
            yield obj["text"]
        else:
            for value in obj.values():
                yield from text_fields(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from text_fields(item)


def readable(messages: Sequence[Message]) -> list[str]:
    out: list[str] = []
    for message in messages:
        out.append(message.text)
        out.extend(text_fields(message.blocks))
    return out


def assert_valid(*messages: Message) -> None:
    """Slack takes each message (the fake's rules), posted or, with the stricter text limit,
    as an update; and each has a notification text of its own."""
    for message in messages:
        assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
        assert message.text.strip()


def cards(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``card`` blocks, on their own or in carousels, in order."""
    found: list[dict[str, Any]] = []
    for block in blocks:
        if block["type"] == "card":
            found.append(block)
        elif block["type"] == "carousel":
            found.extend(block["elements"])
    return found


def elements(message: Message, *, steps: bool = False) -> list[dict[str, Any]]:
    """The buttons of a message: in ``actions`` blocks, then on its cards. Show steps,
    under every finished run, and Schedule, under every completed one, only with
    ``steps``."""
    listed = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    found = listed + [e for card in cards(message.blocks) for e in card.get("actions", [])]
    return [e for e in found if steps or e["action_id"] not in (ids.SHOW_STEPS, SCHEDULE_RUN)]


def blocks_of(messages: Sequence[Message]) -> list[dict[str, Any]]:
    return [block for message in messages for block in message.blocks]


def assert_no_raw_agent_markup(strings: Sequence[str]) -> None:
    for string in strings:
        for raw in EVIL_RAW:
            assert raw not in string, string
        assert not RAW_AMPERSAND.search(string), string


def squash(text: str) -> str:
    return "".join(text.split())


# -- actions: ids and codecs ------------------------------------------------------------------


def test_action_ids_and_values_round_trip() -> None:
    assert ids.answer_action_id(2, 13) == "answer:2:13"
    assert ids.answer_value(RUN_ID, 2, 13) == f"{RUN_ID}:2:13"
    assert ids.parse_answer(f"{RUN_ID}:2:13") == ids.AnswerRef(RUN_ID, 2, 13)
    assert ids.answer_other_action_id(4) == "answer_other:4"
    assert ids.parse_question_ref(ids.question_value(RUN_ID, 4)) == ids.QuestionRef(RUN_ID, 4)
    assert ids.next_action_id(0) == "next_action:0"
    assert ids.parse_next_action(ids.next_action_value(RUN_ID, 7)) == ids.NextActionRef(RUN_ID, 7)
    table_id = "d290f1ee-6c54-4b01-90e6-d701748f0851"
    assert ids.parse_table_ref(ids.table_value(RUN_ID, table_id)) == ids.TableRef(RUN_ID, table_id)


def test_action_id_patterns_match_only_what_builders_make() -> None:
    assert ids.ANSWER_RE.search("answer:0:12")
    assert ids.ANSWER_OTHER_RE.search("answer_other:3")
    assert ids.NEXT_ACTION_RE.search("next_action:39")
    for bad in ["answer:01:1", "answer:1:1\n", "answer:-1:0", "answer:1", "answer:1000:0", "x"]:
        assert not ids.ANSWER_RE.search(bad)
    assert not ids.ANSWER_RE.search("answer_other:1")
    assert not ids.ANSWER_OTHER_RE.search("answer:1:2")
    assert not ids.NEXT_ACTION_RE.search("next_action:1:2")


@pytest.mark.parametrize(
    "value",
    [
        "",
        RUN_ID,
        f"{RUN_ID}:1",
        f"{RUN_ID}:1:2:3",
        f"{RUN_ID}:-1:0",
        f"{RUN_ID}:01:0",
        f"{RUN_ID}:1000:0",
        f"{RUN_ID}:1:x",
        f"{RUN_ID}:1:0\n",
        f"{RUN_ID}:١:0",  # a non-ASCII digit
        "bad run:1:0",
        f"{'r' * 129}:1:0",
        ":1:0",
    ],
)
def test_parse_answer_rejects_malformed_values(value: str) -> None:
    with pytest.raises(ValueError):
        ids.parse_answer(value)


@pytest.mark.parametrize("value", ["", RUN_ID, f"{RUN_ID}:", f"{RUN_ID}:1:2", "a b:1", None, 7])
def test_parse_refs_reject_malformed_values(value: Any) -> None:
    for parse in (ids.parse_question_ref, ids.parse_next_action):
        with pytest.raises(ValueError):
            parse(value)
    with pytest.raises(ValueError):
        ids.parse_table_ref(value if value != f"{RUN_ID}:1:2" else f"{RUN_ID}:a:b")


def test_codec_builders_refuse_what_parsers_would_refuse() -> None:
    with pytest.raises(ValueError):
        ids.answer_value("run:1", 0, 0)
    with pytest.raises(ValueError):
        ids.answer_action_id(0, ids.MAX_INDEX + 1)
    with pytest.raises(ValueError):
        ids.table_value(RUN_ID, "tbl 1")


# -- ack and progress ---------------------------------------------------------------------------


def test_build_ack() -> None:
    message = build_ack()
    assert message.text == "⏳ On it. I'm getting started…"
    assert message.blocks == [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "⏳ On it. I'm getting started…"},
            "block_id": "ack",
        }
    ]


def test_build_progress_line_and_stop_button() -> None:
    message = build_progress(
        run_id=RUN_ID, steps_completed=12, elapsed_s=125.4, leads_found=37, queued=2
    )
    # The bot is Origami: it speaks in the first person, and counts steps taken, with no
    # bar against the plan's maximum.
    line = "Step 12 · 2m 05s · 37 leads so far · 2 messages queued"
    assert message.blocks[0]["text"]["text"] == f"⏳ *I'm working on it…*\n{line}"
    assert message.text == f"I'm working on it… {line}"
    [stop] = elements(message)
    assert stop["action_id"] == ids.STOP_RUN
    assert stop["value"] == RUN_ID
    assert stop["style"] == "danger"
    assert stop["text"]["text"] == "Stop"
    assert stop["confirm"]["title"]["text"] == "Stop this run?"
    assert_valid(message)


def test_build_progress_minimal_and_without_valid_run_id() -> None:
    message = build_progress(run_id="bad id", steps_completed=0, elapsed_s=7)
    assert message.blocks[0]["text"]["text"].endswith("\nStep 0 · 7s")
    assert elements(message) == []
    one = build_progress(
        run_id=RUN_ID, steps_completed=1234, elapsed_s=3725, leads_found=1, queued=1
    )
    assert "Step 1,234 · 1h 02m · 1 lead so far · 1 message queued" in one.text
    for shown in (message, one):
        assert "Origami" not in str(shown.blocks) and "/50" not in str(shown.blocks)
        assert "▰" not in str(shown.blocks) and "▱" not in str(shown.blocks)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (RunStatus.COMPLETED, "✅ Finished in 3m 12s · 24 steps"),
        (RunStatus.NEEDS_INPUT, "💬 Needs your input · 3m 12s · 24 steps"),
        (RunStatus.CANCELLED, "⏹️ Stopped after 3m 12s · 24 steps"),
        (RunStatus.INCOMPLETE, "⚠️ Stopped before finishing · 3m 12s · 24 steps"),
        (RunStatus.STEP_CAP_HIT, "⚠️ Used all 50 steps · 3m 12s"),
        (RunStatus.TIMED_OUT, "⚠️ Timed out after 3m 12s · 24 steps"),
        (RunStatus.ERRORED, "❌ Failed after 3m 12s · 24 steps"),
        (RunStatus.UNKNOWN, "Ended after 3m 12s · 24 steps"),
    ],
)
def test_build_progress_final(status: RunStatus, expected: str) -> None:
    message = build_progress_final(status=status, elapsed_s=192, steps_completed=24, steps_max=50)
    assert message.text == expected
    assert message.blocks == [
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": expected}],
            "block_id": "progress",
        }
    ]


# -- results ----------------------------------------------------------------------------------


def test_build_result_completed_posts_text_cards_then_next_steps() -> None:
    run = make_run(tables=[make_table(0)], next_actions=["Find 20 more", "Write emails"])
    [message] = build_result(run, elapsed_s=192)
    assert_valid(message)
    # One message per run; its notification preview is plain text (no raw mrkdwn marks).
    assert message.text == "Done in 3m 12s. Found 20 founders."
    assert message.blocks[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "Found *20* founders."},
        "block_id": "text:0",
    }
    assert [b["type"] for b in message.blocks] == [
        "section",
        "card",
        "section",
        "actions",
        "actions",
        "context",
        "context_actions",
    ]
    [show, schedule] = message.blocks[4]["elements"]
    assert (show["action_id"], show["value"], show["text"]["text"]) == (
        ids.SHOW_STEPS,
        RUN_ID,
        "Show steps",
    )
    # A completed run's search can be put on a schedule.
    assert (schedule["action_id"], schedule["value"], schedule["text"]["text"]) == (
        SCHEDULE_RUN,
        RUN_ID,
        "Schedule",
    )
    # The one-shot buttons are an actions block; the card keeps its own buttons inside it.
    assert message.blocks[2]["text"]["text"] == "*Suggested next steps*"
    assert [
        (e["action_id"], e["value"], e["text"]["text"]) for e in message.blocks[3]["elements"]
    ] == [
        ("next_action:0", f"{RUN_ID}:0", "Find 20 more"),
        ("next_action:1", f"{RUN_ID}:1", "Write emails"),
    ]
    assert [e["action_id"] for e in message.blocks[1]["actions"]] == [
        ids.OPEN_TABLE,
        ids.SHARE_TABLE,
        ids.EXPORT_CSV,
    ]


def test_build_result_completed_with_nothing() -> None:
    [message] = build_result(make_run(text=None), elapsed_s=5)
    assert message.blocks[0]["text"]["text"] == texts.NOTHING_TO_SHOW
    assert message.text.startswith("Done in 5s.")


@pytest.mark.parametrize(
    ("status", "note"),
    [
        ("incomplete", texts.INCOMPLETE),
        ("step_cap_hit", texts.step_cap_hit(50)),
        ("timed_out", texts.TIMED_OUT),
    ],
)
def test_build_result_stopped_early_offers_continue(status: str, note: str) -> None:
    messages = build_result(make_run(status, text=None if status == "timed_out" else "Partial."))
    assert_valid(*messages)
    last = messages[-1]
    [footer] = [b for b in last.blocks if b.get("block_id") == "footer"]
    assert footer["text"]["text"] == note
    [button] = elements(last)
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        ids.CONTINUE_RUN,
        RUN_ID,
        "Continue",
    )
    assert "Continue" in note


def test_build_result_errored_offers_retry() -> None:
    [message] = build_result(make_run("errored", text=None))
    assert message.blocks[0]["text"]["text"] == texts.ERRORED
    [button] = elements(message)
    assert (button["action_id"], button["value"]) == (ids.RETRY_RUN, RUN_ID)
    assert message.text.startswith("I couldn't finish this run.")


def test_build_result_cancelled_still_shows_tables() -> None:
    [message] = build_result(make_run("cancelled", text=None, tables=[make_table(0)]))
    assert message.blocks[0]["text"]["text"] == "⏹️ Stopped. Here is what I built so far."
    assert message.blocks[1]["title"]["text"] == "Table 0"
    for blank in (None, "", "  \n", "```\n```"):
        [empty] = build_result(make_run("cancelled", text=blank))
        assert empty.blocks[0]["text"]["text"] == "⏹️ Stopped before anything was built."
        [done] = build_result(make_run("completed", text=blank))
        assert done.blocks[0]["text"]["text"] == texts.NOTHING_TO_SHOW


def test_build_result_unknown_status_is_neutral() -> None:
    messages = build_result(make_run("superseded_v9 <!here>", text="Hi"))
    [note] = [b["text"]["text"] for b in blocks_of(messages) if b.get("block_id") == "footer"]
    assert note.startswith("This run ended with a status I don't know yet")
    assert "superseded_v9 &lt;!here&gt;" in note
    assert elements(messages[-1]) == []


def test_build_result_needs_input_shows_no_questions_and_no_footer() -> None:
    [message] = build_result(make_run("needs_input", text="Which region?"))
    assert [b["block_id"] for b in message.blocks] == [
        "text:0",
        "steps_actions",
        "ai_note",
        "feedback",
    ]
    assert build_result(make_run("needs_input", text=None)) == []


def test_build_result_without_usable_run_id_lists_next_steps_as_text() -> None:
    messages = build_result(make_run("errored", text="x", next_actions=["Go on"], run_id="a:b"))
    assert all(elements(m) == [] for m in messages)
    assert any("1. Go on" in s for s in readable(messages))


# -- tables -----------------------------------------------------------------------------------


def test_build_table_card_content() -> None:
    table = make_table(
        3,
        name="Austin SaaS founders",
        leadCount=1234,
        credits={"lifetimeUsed": 12.5},
        cells={"running": 40, "errored": 0},
        stats={"qualification": {"qualifiedLeads": 987}, "running": {"runningLeads": 7}},
    )
    card, alert = build_table_card(table, run_id=RUN_ID, index=3, change=TableChange(created=True))
    assert card["type"] == "card"
    assert card["block_id"] == "table:3:tbl_3"
    assert card["title"] == {"type": "mrkdwn", "text": "Austin SaaS founders"}
    assert card["subtitle"]["text"] == "1,234 leads · 987 qualified"
    assert card["body"]["text"] == "New table · 12.5 credits used"
    # Leads still being enriched, in leads (not "cells in progress"), as an alert.
    assert alert["type"] == "alert"
    assert alert["level"] == "info"
    assert alert["text"]["text"] == (
        "⏳ 7 leads are still being enriched, so the numbers may still go up."
    )
    open_, share, export = card["actions"]
    assert (open_["action_id"], open_["url"], open_["text"]["text"]) == (
        ids.OPEN_TABLE,
        "https://origami.chat/workspace/ws_1?table=tbl_3",
        "Open",
    )
    assert open_["accessibility_label"] == "Open Austin SaaS founders in Origami"
    assert "value" not in open_
    assert (share["action_id"], share["value"], share["text"]["text"]) == (
        ids.SHARE_TABLE,
        f"{RUN_ID}:tbl_3",
        "Share",
    )
    assert (export["action_id"], export["value"], export["text"]["text"]) == (
        ids.EXPORT_CSV,
        f"{RUN_ID}:tbl_3",
        "CSV",
    )
    assert export["accessibility_label"] == "Export Austin SaaS founders as a CSV file"
    assert_valid(Message("x", [card, alert]))


def test_two_cards_of_one_run_do_not_read_alike() -> None:
    tables = [make_table(0), make_table(1, leadCount=20)]
    changes = {"tbl_0": TableChange(created=True), "tbl_1": TableChange(leads_added=5)}
    [carousel] = build_table_cards(tables, run_id=RUN_ID, changes=changes)
    assert carousel["type"] == "carousel"
    first, second = carousel["elements"]
    assert (first["title"]["text"], first["body"]["text"]) == (
        "Table 0",
        "New table · 35 credits used",
    )
    assert (second["title"]["text"], second["body"]["text"]) == (
        "Table 1",
        "5 leads added just now · 35 credits used",
    )
    assert_valid(Message("x", [carousel]))


def test_build_table_card_optional_parts() -> None:
    table = make_table(0, url=None, credits={"lifetimeUsed": 0}, leadCount=1)
    [card] = build_table_card(table, run_id=RUN_ID)
    assert card["subtitle"]["text"] == "1 lead"
    assert "body" not in card
    assert [e["action_id"] for e in card["actions"]] == [ids.SHARE_TABLE, ids.EXPORT_CSV]
    [unsafe] = build_table_card(make_table(0, url="javascript:alert(1)"), run_id=RUN_ID)
    assert ids.OPEN_TABLE not in [e["action_id"] for e in unsafe["actions"]]
    [_, alert] = build_table_card(make_table(0, cells={"running": 3}), run_id=RUN_ID)
    assert alert["text"]["text"] == (
        "⏳ Some leads are still being enriched, so the numbers may still go up."
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://origami.chat/workspace/ws_1?table=tbl_0",  # not https
        "https://evil.example/workspace/ws_1?table=tbl_0",
        "https://origami.chat.evil.example/x",
        "https://evil.origami.chat/x",  # not the app's host either
        "https://origami.chat@evil.example/x",
        "https://origami.chat:8443/x",
        "https://origami.chat\\@evil.example/x",
        "https://origami.chat/\\evil.example",
        "https://origami.chat/x\u202e",
        "https://origami.chat/ä",
        "mailto:support@origami.chat",
        "//origami.chat/x",
        "origami.chat/x",
    ],
)
def test_open_in_origami_leads_only_to_the_origami_app(url: str) -> None:
    for blocks in (
        build_table_card(make_table(0, url=url), run_id=RUN_ID),
        build_shared_table(make_table(0, url=url), shared_by="U1", thread_link=None).blocks,
    ):
        assert ids.OPEN_TABLE not in [e["action_id"] for e in elements(Message("x", blocks))]
        assert url not in str(blocks)


def test_open_in_origami_on_the_configured_app() -> None:
    def open_url(url: str, **app: str) -> str | None:
        card = build_table_card(make_table(0, url=url), run_id=RUN_ID, **app)
        found = [e for e in elements(Message("x", card)) if e["action_id"] == ids.OPEN_TABLE]
        return found[0]["url"] if found else None

    assert open_url("https://ORIGAMI.chat/w?table=t#top") == "https://ORIGAMI.chat/w?table=t#top"
    assert open_url("https://origami.chat:443/w") == "https://origami.chat:443/w"
    assert open_url(" https://origami.chat ") == "https://origami.chat"
    staging = {"app_url": "https://staging.origami.chat:8443/"}
    assert open_url("https://staging.origami.chat:8443/w", **staging) == (
        "https://staging.origami.chat:8443/w"
    )
    assert open_url("https://origami.chat/w", **staging) is None
    assert open_url("https://origami.chat/w", app_url="http://origami.chat") is None
    message = build_result(
        make_run(tables=[make_table(0, url="https://evil.example/t")]),
        app_url="https://evil.example",
    )
    assert ids.OPEN_TABLE in [e["action_id"] for m in message for e in elements(m)]
    shared = build_shared_table(
        make_table(0, url="https://app.example/t"),
        shared_by="U1",
        thread_link=None,
        app_url="https://app.example",
    )
    assert [e["action_id"] for e in elements(shared)] == [ids.OPEN_TABLE]


def test_build_table_card_clips_long_names() -> None:
    [card] = build_table_card(make_table(0, name="N&" * 200), run_id=RUN_ID)
    title = card["title"]["text"]
    assert len(title) <= MAX_CARD_TITLE
    assert title.endswith("…") and title.startswith("N&amp;N&amp;")


def test_build_shared_table() -> None:
    message = build_shared_table(
        make_table(1),
        shared_by="U042ABC",
        thread_link="https://acme.slack.com/archives/C1/p123",
        run_id=RUN_ID,
    )
    assert_valid(message)
    by = "Shared by <@U042ABC> from <https://acme.slack.com/archives/C1/p123|this thread>"
    assert by in list(text_fields(message.blocks))
    assert [e["action_id"] for e in elements(message)] == [ids.OPEN_TABLE, ids.EXPORT_CSV]
    assert message.text == "Shared by <@U042ABC> from this thread: Table Table 1: 21 leads"
    bare = build_shared_table(make_table(1), shared_by="U042ABC", thread_link=None)
    assert "Shared by <@U042ABC>" in list(text_fields(bare.blocks))
    assert [e["action_id"] for e in elements(bare)] == [ids.OPEN_TABLE]


# -- questions ----------------------------------------------------------------------------------


def q(
    text: str, answers: Sequence[str] = ("Yes", "No"), kind: str = "single-choice"
) -> PendingQuestion:
    return PendingQuestion(type=kind, question=text, suggested_answers=list(answers))


def test_build_questions_single_question() -> None:
    message = build_questions([q("Which region?", ["US", "EU"])], run_id=RUN_ID, answers={})
    assert_valid(message)
    assert message.text == "I have a question for you. Which region?"
    assert message.blocks[0]["text"]["text"] == "Which region?"
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in elements(message)] == [
        ("answer:0:0", f"{RUN_ID}:0:0", "US"),
        ("answer:0:1", f"{RUN_ID}:0:1", "EU"),
        ("answer_other:0", f"{RUN_ID}:0", "Or something else"),
    ]


def test_build_questions_several_with_an_answer() -> None:
    questions = [q("Which region?", ["US", "EU"]), q("Go ahead?", ["Confirm"], "confirm")]
    message = build_questions(questions, run_id=RUN_ID, answers={0: Answer("U999", "EU")})
    assert_valid(message)
    assert message.blocks[0]["text"]["text"] == "*1.* Which region?\n✅ <@U999> answered: *EU*"
    assert message.blocks[1]["text"]["text"] == "*2.* Go ahead?"
    ids_ = [e["action_id"] for e in elements(message)]
    assert ids_ == ["answer:1:0", "answer_other:1", ids.SEND_ANSWERS]
    confirm = elements(message)[0]
    assert confirm["style"] == "primary"
    send = elements(message)[-1]
    assert (send["value"], send["text"]["text"]) == (RUN_ID, "Send answers")
    assert texts.QUESTIONS_HINT in list(text_fields(message.blocks))


def test_build_questions_send_answers_only_once_something_is_answered() -> None:
    questions = [q("A?"), q("B?")]
    none = build_questions(questions, run_id=RUN_ID, answers={})
    assert ids.SEND_ANSWERS not in [e["action_id"] for e in elements(none)]
    both = build_questions(
        questions, run_id=RUN_ID, answers={0: Answer("U1A", "Yes"), 1: Answer("U2B", "No")}
    )
    assert [e["action_id"] for e in elements(both)] == [ids.SEND_ANSWERS]
    assert texts.QUESTIONS_HINT not in list(text_fields(both.blocks))


def test_build_questions_long_labels_are_listed_in_full() -> None:
    long = "Only companies with 50-200 employees that raised a seed round in 2024 & are hiring"
    message = build_questions([q("Who?", [long, "Anyone"])], run_id=RUN_ID, answers={})
    assert f"• {escape(long)}" in message.blocks[0]["text"]["text"]
    label = elements(message)[0]["text"]["text"]
    assert len(label) <= 75 and label.endswith("…")


def test_build_questions_closed() -> None:
    message = build_questions_closed(
        [q("Which region?"), q("Size?")], answers={1: Answer("U999", "11-50 <!here>")}
    )
    assert_valid(message)
    assert elements(message) == []
    assert message.blocks[0]["text"]["text"] == "*1.* Which region?\n_(no answer)_"
    assert (
        message.blocks[1]["text"]["text"]
        == "*2.* Size?\n✅ <@U999> answered: *11-50 &lt;!here&gt;*"
    )
    assert message.blocks[-1]["elements"][0]["text"] == "Answers sent to Origami."


def test_build_freeform_modal() -> None:
    view = build_freeform_modal(question="Which *region*? <!here>", private_metadata='{"q":0}')
    assert view_errors(view) == []
    assert view["type"] == "modal"
    assert view["callback_id"] == ids.FREEFORM_MODAL == "freeform_answer"
    assert view["private_metadata"] == '{"q":0}'
    assert view["title"]["text"] == "Your answer"
    assert (view["submit"]["text"], view["close"]["text"]) == ("Send", "Cancel")
    assert view["blocks"][0]["text"]["text"] == "Which _region_? &lt;!here&gt;"
    block = view["blocks"][1]
    assert block["block_id"] == ids.FREEFORM_BLOCK == "answer"
    element = block["element"]
    assert element["action_id"] == ids.FREEFORM_INPUT == "answer_text"
    assert element["multiline"] is True
    assert (element["min_length"], element["max_length"]) == (1, 3000)
    assert "initial_value" not in element


def test_build_freeform_modal_limits() -> None:
    view = build_freeform_modal(
        question="Q" * 5000, private_metadata="m" * 3000, initial="x" * 9999
    )
    assert view_errors(view) == []
    assert len(view["blocks"][0]["text"]["text"]) <= 3000
    with pytest.raises(ValueError):
        build_freeform_modal(question="Q", private_metadata="m" * 3001)


# -- problems and notes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "phrases", "button"),
    [
        (
            Problem(ProblemKind.BAD_API_KEY),
            ["Origami rejected the API key", "ORIGAMI_API_KEY", "Settings → Developers", "restart"],
            None,
        ),
        (
            Problem(
                ProblemKind.OUT_OF_CREDITS, fix_url="https://origami.chat/billing", detail="2 of 5"
            ),
            ["out of credits", "You have 2 credits; a run needs at least 5.", "Top up credits"],
            "Top up credits",
        ),
        (
            Problem(ProblemKind.PLAN_REQUIRED, fix_url="https://origami.chat/plans"),
            ["plan doesn't include API access"],
            "Upgrade plan",
        ),
        (
            Problem(ProblemKind.BUDGET_EXCEEDED, fix_url="https://o.chat/b", detail="Q3 <!here>"),
            ["budget in Origami is used up (Q3 &lt;!here&gt;)", "Topping up won't help"],
            "Review budgets",
        ),
        (
            Problem(
                ProblemKind.ACCOUNT_BLOCKED, fix_url="https://o.chat/f", detail="payment_failed"
            ),
            ["because a payment failed", "fix billing"],
            "Fix billing",
        ),
        (
            Problem(ProblemKind.AGENT_NOT_FOUND),
            ["no longer exists", "Start a new thread with @Origami"],
            None,
        ),
        (
            Problem(ProblemKind.UNREACHABLE),
            ["Origami didn't answer", "*not* sent", "Try again in a minute"],
            None,
        ),
        (Problem(ProblemKind.RATE_LIMITED), ["too many requests", "Try again in a minute"], None),
        (
            Problem(ProblemKind.PROMPT_TOO_LONG, detail="12345"),
            ["12,345 characters", "at most 10,000"],
            None,
        ),
        (Problem(ProblemKind.PROMPT_EMPTY), ["Your message was empty"], None),
        (
            Problem(ProblemKind.INTERNAL),
            ["Something went wrong on our side", "nothing was sent", "Try again"],
            None,
        ),
    ],
)
def test_build_problem(problem: Problem, phrases: list[str], button: str | None) -> None:
    message = build_problem(problem)
    assert_valid(message)
    text = message.blocks[0]["text"]["text"]
    # The notification is the same sentence without mrkdwn's marks.
    assert message.text == plain_preview(text)
    for phrase in phrases:
        assert phrase in text
    links = elements(message)
    if button is None:
        assert links == []
    else:
        [link] = links
        assert (link["text"]["text"], link["url"], link["action_id"]) == (
            button,
            problem.fix_url,
            ids.OPEN_LINK,
        )


def test_every_problem_kind_has_a_message() -> None:
    seen = set()
    for kind in ProblemKind:
        message = build_problem(Problem(kind, fix_url="https://origami.chat/x", detail="d"))
        assert_valid(message)
        seen.add(message.text)
    assert len(seen) == len(ProblemKind)


def test_build_problem_unreachable_when_retrying_and_unsafe_urls() -> None:
    retrying = build_problem(Problem(ProblemKind.UNREACHABLE), retrying=True)
    assert "I'll try again by myself" in retrying.text
    unsafe = build_problem(Problem(ProblemKind.OUT_OF_CREDITS, fix_url="javascript:alert(1)"))
    assert elements(unsafe) == []


def test_notes() -> None:
    assert "@Origami find 20 seed-stage SaaS founders in Austin" in build_usage_hint().text
    assert build_note(texts.note("expired")).text == (
        "These buttons are no longer active. Reply in the thread to keep going."
    )
    assert build_already_answered(Answer("U999", "EU & US")).text == (
        "This question was already answered by <@U999>: EU &amp; US"
    )
    assert build_note(texts.note("already_shared")).text == texts.ALREADY_SHARED
    for message in (
        build_usage_hint(),
        build_note(texts.note("expired")),
    ):
        assert_valid(message)


def test_build_queued() -> None:
    message = build_queued(position=1, run_id=RUN_ID)
    assert message.text == (
        "I'm still working on the last message. Yours is queued and will be sent when it finishes."
    )
    [stop] = elements(message)
    assert (stop["action_id"], stop["value"], stop["text"]["text"]) == (
        ids.STOP_RUN,
        RUN_ID,
        "Stop current run",
    )
    assert "3 messages are queued and will be sent, in order" in (
        build_queued(position=3, run_id=None).text
    )
    assert elements(build_queued(position=3, run_id=None)) == []


def test_build_waiting_for_slot() -> None:
    message = build_waiting_for_slot(busy=3, limit=3, retry_after_s=30)
    assert message.text == (
        "⏳ All 3 run slots on your Origami plan are busy. Your request will start by itself "
        "as soon as one frees up (next check in about 30s)."
    )
    unknown = build_waiting_for_slot(busy=None, limit=None, retry_after_s=None)
    assert unknown.text.startswith("⏳ All your Origami run slots are busy.")


def test_with_context_note_keeps_blocks_and_a_unique_id() -> None:
    kept = [{"type": "section", "block_id": "note", "text": {"type": "mrkdwn", "text": "Hi"}}]
    message = with_context_note(kept, texts.choice_made("U999", "Find <more>"), fallback="Hi")
    assert message.blocks[0] == kept[0]
    assert message.blocks[1]["block_id"] == "note:2"
    assert message.blocks[1]["elements"][0]["text"] == "<@U999> chose *Find &lt;more&gt;*"
    full = with_context_note([dict(kept[0], block_id=f"b{n}") for n in range(60)], "x", fallback="")
    assert_valid(full)


# -- limits by construction, with many sizes ----------------------------------------------------


def _words(n_chars: int) -> str:
    words = ["founder", "SaaS", "Austin.", "leads", "growth!", "seed", "pipeline?", "CEO"]
    out: list[str] = []
    size = 0
    n = 0
    while size < n_chars:
        word = words[n % len(words)] + (str(n) if n % 7 == 0 else "")
        out.append(word)
        size += len(word) + 1
        n += 1
        if n % 40 == 0:
            out.append("\n\n" if n % 80 == 0 else "\n")
    return " ".join(out)[:n_chars]


@pytest.mark.parametrize("text_len", [0, 1, 2_999, 3_000, 3_001, 12_000, 100_000])
@pytest.mark.parametrize(("n_tables", "n_actions"), [(0, 0), (1, 3), (60, 40)])
def test_build_result_respects_limits_and_drops_nothing(
    text_len: int, n_tables: int, n_actions: int
) -> None:
    text = _words(text_len)
    tables = [make_table(n, name=f"Leads batch {n} " + "x" * 180) for n in range(n_tables)]
    labels = [f"Next step {n}: " + "do more " * 25 for n in range(n_actions)]
    run = make_run("step_cap_hit", text=text or None, tables=tables, next_actions=labels)
    messages = build_result(run, elapsed_s=100)
    assert_valid(*messages)
    blocks = blocks_of(messages)

    text_ids = [b.get("block_id", "") for b in blocks if b.get("block_id", "").startswith("text:")]
    text_blocks = [
        b["text"]["text"] for b in blocks if re.fullmatch(r"text:\d+", b.get("block_id", ""))
    ]
    overflow = result_overflow(run)
    if overflow is None:  # all of it shown
        assert "text:cut" not in text_ids
        assert squash("".join(text_blocks)) == squash(markdown_to_mrkdwn(text))
    else:  # its beginning shown, in at most five messages, and all of it for a file
        assert text_len > 40_000
        assert overflow == text
        assert text_ids[-1] == "text:cut"
        assert squash(markdown_to_mrkdwn(text)).startswith(squash("".join(text_blocks)))
        assert len("".join(text_blocks)) > 30_000
        with_text = [
            m for m in messages if any(b.get("block_id", "").startswith("text:") for b in m.blocks)
        ]
        assert len(with_text) <= 5

    titles = [card["title"]["text"] for card in cards(blocks)]
    assert len(titles) == n_tables
    values = {e.get("value") for m in messages for e in elements(m)}
    for n in range(n_tables):
        assert titles[n].startswith(f"Leads batch {n} ")
        assert f"{RUN_ID}:tbl_{n}" in values

    listing = "\n".join(s for m in messages for s in text_fields(m.blocks))
    for n, label in enumerate(labels):
        assert f"{n + 1}. {' '.join(label.split())}" in listing
        assert f"{RUN_ID}:{n}" in values
    assert f"{RUN_ID}" in values  # Continue


@pytest.mark.parametrize("status", ["completed", "cancelled", "step_cap_hit"])
@pytest.mark.parametrize("text_len", [45_000, 1_000_000])
def test_a_huge_answer_is_cut_to_five_messages_and_given_whole_for_a_file(
    status: str, text_len: int
) -> None:
    text = _words(text_len)
    run = make_run(status, text=text, tables=[make_table(0)], next_actions=["More"])
    messages = build_result(run, elapsed_s=3)
    assert_valid(*messages)
    with_text = [m for m in messages if any(b["block_id"].startswith("text:") for b in m.blocks)]
    assert len(with_text) == 5
    [cut] = [b for b in blocks_of(messages) if b["block_id"] == "text:cut"]
    assert cut["text"]["text"] == texts.RESULT_CUT
    assert "attached" in texts.RESULT_CUT
    # The note ends the text; the table card, next steps and footer still follow.
    ids_ = [b["block_id"] for b in blocks_of(messages)]
    assert ids_.index("text:cut") < ids_.index("table:0:tbl_0")
    assert any(e["action_id"] == "next_action:0" for m in messages for e in elements(m))
    assert result_overflow(run) == text


def test_an_answer_that_fits_has_no_overflow() -> None:
    text = _words(30_000)
    run = make_run(text=text)
    assert result_overflow(run) is None
    assert "text:cut" not in [b["block_id"] for b in blocks_of(build_result(run))]
    assert result_overflow(make_run(text=None)) is None
    assert result_overflow(make_run("running", text=None)) is None


def test_the_overflow_is_the_answer_without_its_control_characters() -> None:
    text = "Row\x00 \u202eone\n" * 40_000
    run = make_run(text=text)
    assert result_overflow(run) == "Row one\n" * 40_000
    assert all("\x00" not in s and "\u202e" not in s for s in readable(build_result(run)))


@pytest.mark.parametrize("n_questions", [1, 2, 10])
@pytest.mark.parametrize("n_suggestions", [0, 1, 24, 25, 30])
@pytest.mark.parametrize("label_len", [5, 200])
def test_build_questions_respects_limits(
    n_questions: int, n_suggestions: int, label_len: int
) -> None:
    questions = [
        q(
            f"Question {n}: which segment should I target first?",
            [f"{n}.{a} " + "o" * label_len for a in range(n_suggestions)],
        )
        for n in range(n_questions)
    ]
    answers = {0: Answer("U999", "a" * 3000)} if n_questions > 1 else {}
    message = build_questions(questions, run_id=RUN_ID, answers=answers)
    assert_valid(message)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    buttons = {e["action_id"]: e for e in elements(message)}
    for n, question in enumerate(questions):
        assert any(question.question in s for s in sections)
        if n in answers:
            continue
        for a, answer in enumerate(question.suggested_answers):
            button = buttons[f"answer:{n}:{a}"]
            assert button["value"] == f"{RUN_ID}:{n}:{a}"
            assert answer.startswith(button["text"]["text"].rstrip("…"))
        assert buttons[f"answer_other:{n}"]["value"] == f"{RUN_ID}:{n}"
    closed = build_questions_closed(questions, answers=answers)
    assert_valid(closed)


def test_many_questions_and_suggestions_still_fit() -> None:
    questions = [q(f"Q{n} " + "why " * 700, ["s" * 200] * 60) for n in range(40)]
    message = build_questions(questions, run_id=RUN_ID, answers={})
    assert_valid(message)
    assert "more questions" in "".join(text_fields(message.blocks))
    assert_valid(build_questions_closed(questions, answers={}))


# -- agent text never reaches Slack raw ------------------------------------------------------------


def test_agent_text_is_escaped_everywhere() -> None:
    table = make_table(0, name=EVIL)
    run = make_run(
        "unknown",
        text=f"# {EVIL}\n**{EVIL}** [{EVIL}](https://x.com)\n| {EVIL} |\n|---|\n| {EVIL} |\n"
        f"```\n{EVIL}\n```\n- {EVIL}",
        tables=[table],
        next_actions=[EVIL, EVIL * 5],
    )
    messages = build_result(run)
    questions = [
        PendingQuestion(question=EVIL, suggested_answers=[EVIL, EVIL * 4], freeform_option=EVIL),
        q(EVIL),
    ]
    answers = {1: Answer("U999", EVIL)}
    messages += [
        build_questions(questions, run_id=RUN_ID, answers=answers),
        build_questions_closed(questions, answers=answers),
        build_shared_table(table, shared_by="U999", thread_link=None, run_id=RUN_ID),
        build_already_answered(Answer("U999", EVIL)),
        with_context_note([], texts.choice_made("U999", EVIL), fallback=escape(EVIL)),
    ]
    messages += [build_problem(Problem(kind, detail=EVIL)) for kind in ProblemKind]
    assert_valid(*messages)
    strings = readable(messages)
    strings += list(text_fields(build_freeform_modal(question=EVIL, private_metadata="{}")))
    assert_no_raw_agent_markup(strings)
    assert any("&lt;!channel&gt;" in s for s in strings)


def test_random_results_always_validate() -> None:
    rng = random.Random(7)
    pieces = ["**", "_", "`", "```", "\n", "\n\n", "# ", "- ", "| a |\n|---|\n", "[x](", ")"]
    pieces += [EVIL, "lead ", "x" * 400, "https://x.com/?a=1&b=2 ", "&", "<", "… ", "🚀"]
    statuses = [s.value for s in RunStatus] + ["brand_new_status"]
    for _ in range(150):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 400)))
        tables = [
            make_table(
                n,
                id=rng.choice([f"tbl_{n}", f"bad id {n}", "d290f1ee-6c54-4b01-90e6-d701748f0851"]),
                name=rng.choice(["", " ", EVIL, "n" * 300]),
                url=rng.choice([None, "", "https://o.chat/t", "ftp://x", "https://" + "u" * 3000]),
                cells={"running": rng.randint(0, 3), "errored": 0},
            )
            for n in range(rng.randint(0, 15))
        ]
        labels = [rng.choice(["Go", EVIL, "l" * 300, " "]) for _ in range(rng.randint(0, 30))]
        run = make_run(
            rng.choice(statuses),
            text=text or None,
            tables=tables,
            next_actions=labels,
            run_id=rng.choice([RUN_ID, "bad:run"]),
        )
        messages = build_result(run, elapsed_s=rng.choice([None, 0.0, 59.9, 1e6]))
        assert_valid(*messages)
        assert_no_raw_agent_markup(readable(messages))


def test_blank_suggestions_get_no_button_but_keep_indexes() -> None:
    [message] = build_result(make_run(text=None, next_actions=[" ", "Find more"]))
    [only] = build_result(make_run(text=None, next_actions=["  "]))
    assert [(e["action_id"], e["value"]) for e in elements(message)] == [
        ("next_action:1", f"{RUN_ID}:1")
    ]
    assert only.blocks[0]["text"]["text"] == texts.NOTHING_TO_SHOW
    questions = build_questions([q("Pick", ["", "B"])], run_id=RUN_ID, answers={})
    assert [e["action_id"] for e in elements(questions)] == ["answer:0:1", "answer_other:0"]
