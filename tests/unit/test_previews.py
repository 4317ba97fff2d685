"""Lead previews (``bot.previews``) and the agent platform's blocks built for a result
(cards, carousels, the preview table, alerts, feedback), checked against the fake Slack's
validator, with generated input (hypothesis) where the input is untrusted."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.origami.models import Run, Table
from bot.previews import LeadField, LeadPreview, cell_link, cell_text, pick_columns, to_preview
from bot.slack import actions as ids
from bot.slack.blocks import build_feedback, build_preview, build_result, build_table_cards
from bot.slack.blocks.common import Message
from tests.fakes.origami import lead_rows, make_table
from tests.fakes.slack import MAX_UPDATE_TEXT, message_errors

RUN_ID = "v2_run-7f3a"
PROPERTY = settings(max_examples=50, deadline=None)
EVIL = "<!channel> <@U123> <https://evil|click> &amp; \u202e\x00"


def table_of(data: dict[str, Any]) -> Table:
    return Table.model_validate(data)


def run_with(tables: list[Table], text: str | None = "Found them.") -> Run:
    return Run.model_validate(
        {
            "id": RUN_ID,
            "status": "completed",
            "response": {
                "text": text,
                "actions": [],
                "tables": [t.model_dump(by_alias=True) for t in tables],
            },
            "todo": {"nextActions": [{"label": "Find more"}]},
        }
    )


def assert_valid(messages: list[Message]) -> None:
    for message in messages:
        assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
        assert message.text.strip()
        assert sum(1 for b in message.blocks if b["type"] == "table") <= 1


# -- which columns, which cells ------------------------------------------------------------


def test_pick_columns_of_a_lead_table() -> None:
    table = table_of(make_table("Austin founders", 3))
    assert pick_columns(table.columns) == {
        LeadField.NAME: "name",
        LeadField.COMPANY: "company",
        LeadField.TITLE: "title",
        LeadField.QUALIFICATION: "fit_score",
        LeadField.LINK: "linkedin_url",
    }


def test_pick_columns_by_words_and_never_a_company_name_as_the_name() -> None:
    columns = table_of(
        {
            "columns": [
                {"name": "Company name", "slug": "company_name", "kind": "input"},
                {"name": "Full name", "slug": "person", "kind": "input"},
                {"name": "Job title", "slug": "job_title", "kind": "input"},
                {"name": "Website", "slug": "site", "kind": "input"},
                {"name": "Notes", "slug": "notes", "kind": "input"},
                {"name": "No slug", "slug": None, "kind": "input"},
            ]
        }
    ).columns
    assert pick_columns(columns) == {
        LeadField.NAME: "person",
        LeadField.COMPANY: "company_name",
        LeadField.TITLE: "job_title",
        LeadField.LINK: "site",
    }
    assert pick_columns([]) == {}


def test_cell_text_is_one_bounded_line() -> None:
    assert cell_text({"type": "scalar", "value": "  Renée \n Patel\t"}) == "Renée Patel"
    assert cell_text({"type": "value", "value": 87}) == "87"
    assert cell_text(0.5) == "0.5"
    assert cell_text(True) == "yes"
    assert cell_text("x\u202ey\x00z") == "x y z"
    long = cell_text("w" * 500)
    assert long is not None and len(long) == 80 and long.endswith("…")
    for nothing in (None, "", "   ", float("nan"), float("inf"), [1], {"type": "sequence"}):
        assert cell_text(nothing) is None


def test_cell_link_only_for_plain_http_urls() -> None:
    assert cell_link({"value": " https://www.linkedin.com/in/renee "}) == (
        "https://www.linkedin.com/in/renee"
    )
    for bad in (
        "javascript:alert(1)",
        "https://a b.com",
        "https://x.com/<!channel>",
        "https://x.com/a|b",
        "https://x.com/\u202e",
        "ftp://x.com",
        "https://" + "a" * 1000 + ".com",
        "https://localhost",
        42,
        None,
    ):
        assert cell_link(bad) is None, bad


def test_to_preview_from_the_fakes_rows() -> None:
    data = make_table("Austin founders", 25)
    rows = [
        {slug: {"type": "scalar", "value": v} for slug, v in r.items()} for r in lead_rows(data)
    ]
    preview = to_preview(table_of(data), rows, total=25)
    assert preview.fields == tuple(LeadField)
    assert len(preview.rows) == 5 and preview.total == 25
    first = preview.rows[0]
    assert first[0] == "Renée " + first[0].split(" ", 1)[1]
    assert first[1] == 'Acme, Inc. ("the good one")'
    assert first[4] is not None and first[4].startswith("https://www.linkedin.com/in/")


# -- blocks ----------------------------------------------------------------------------------


def test_build_preview_is_a_table_with_a_header_row() -> None:
    preview = LeadPreview(
        table_id="t1",
        fields=(LeadField.NAME, LeadField.LINK),
        rows=(("Ann", "https://x.com/ann"), (None, None)),
        total=40,
    )
    note, block = build_preview(preview, "Austin <founders>", 0)
    assert note["elements"][0]["text"] == (
        "The first 2 of 40 leads in *Austin &lt;founders&gt;*. Export CSV for all of them."
    )
    assert block["type"] == "table"
    header, ann, empty = block["rows"]
    assert header == [{"type": "raw_text", "text": "Name"}, {"type": "raw_text", "text": "Link"}]
    assert ann[0] == {"type": "raw_text", "text": "Ann"}
    [section] = ann[1]["elements"]
    assert section["elements"] == [{"type": "link", "url": "https://x.com/ann", "text": "Profile"}]
    assert empty == [{"type": "raw_text", "text": "–"}, {"type": "raw_text", "text": "–"}]
    assert_valid([Message("x", [note, block])])
    assert build_preview(LeadPreview("t", (), (), 0), "x", 0) == []


def test_a_run_with_previews_puts_one_table_in_a_message() -> None:
    tables = [table_of(make_table(f"Table {n}", 12, table_id=f"tbl-{n}")) for n in range(3)]
    previews = {t.id: to_preview(t, [{"name": f"Lead {i}"} for i in range(12)], 12) for t in tables}
    messages = build_result(run_with(tables), elapsed_s=5, previews=previews)
    assert_valid(messages)
    assert [sum(b["type"] == "table" for b in m.blocks) for m in messages] == [1, 1, 1]
    first = [b["type"] for b in messages[0].blocks]
    assert first == ["section", "carousel", "context", "table"]
    # The next steps, the AI note and the feedback buttons close the run's last message.
    last = [b["type"] for b in messages[-1].blocks]
    assert last[-5:] == ["section", "actions", "actions", "context", "context_actions"]


def test_feedback_buttons_carry_the_run_and_the_verdict() -> None:
    note, actions = build_feedback(RUN_ID)
    assert "AI" in note["elements"][0]["text"]
    [buttons] = actions["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == ids.FEEDBACK
    good = ids.parse_feedback(buttons["positive_button"]["value"])
    bad = ids.parse_feedback(buttons["negative_button"]["value"])
    assert (good.run_id, good.verdict.value, bad.verdict.value) == (RUN_ID, "good", "bad")
    assert build_feedback("not a run id!") == [note]
    assert_valid([Message("x", [note, actions])])


# -- generated input -----------------------------------------------------------------------

_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(list(EVIL)),
    max_size=400,
)
_cell = st.one_of(
    st.none(), _text, st.integers(), st.floats(), st.booleans(), st.dictionaries(_text, _text)
)


@st.composite
def _tables(draw: st.DrawFn) -> list[Table]:
    count = draw(st.integers(min_value=1, max_value=14))
    return [
        table_of(
            make_table(
                draw(_text),
                draw(st.integers(min_value=0, max_value=10**7)),
                running_cells=draw(st.integers(min_value=0, max_value=50)),
                qualified=draw(st.none() | st.integers(min_value=0, max_value=10)),
                table_id=f"tbl-{n}",
            )
        )
        for n in range(count)
    ]


@PROPERTY
@given(tables=_tables(), cells=st.lists(st.dictionaries(_text, _cell), max_size=12), text=_text)
def test_any_result_with_previews_is_valid_and_pings_nobody(
    tables: list[Table], cells: list[dict[str, Any]], text: str
) -> None:
    slugs = ["name", "company", "title", "fit_score", "linkedin_url"]
    rows = [{slug: row.get(key) for slug, key in zip(slugs, row, strict=False)} for row in cells]
    previews = {t.id: to_preview(t, rows, None) for t in tables}
    messages = build_result(run_with(tables, text or None), elapsed_s=1, previews=previews)
    assert_valid(messages)
    for message in messages:
        for block in message.blocks:
            if block["type"] == "table":
                assert len(block["rows"]) <= 100
                assert all(len(row) <= 20 for row in block["rows"])
    shown = str([m.blocks for m in messages])
    assert "<!channel>" not in shown and "<@U123>" not in shown


@PROPERTY
@given(tables=_tables(), run_id=st.sampled_from([RUN_ID, "bad:id", "r" * 128]))
def test_any_set_of_cards_is_valid(tables: list[Table], run_id: str) -> None:
    blocks = build_table_cards(tables, run_id=run_id)
    assert_valid([Message("x", blocks)])
    carousels = [b for b in blocks if b["type"] == "carousel"]
    assert sum(len(c["elements"]) for c in carousels) == (len(tables) if len(tables) > 1 else 0)


# -- a run that asks: its text and its questions in one message ------------------------------


def test_a_run_that_only_asks_is_one_message_with_its_text_and_feedback() -> None:
    from bot.domain import Answer, questions_intro
    from bot.slack.blocks import build_questions, build_questions_closed

    run = Run.model_validate(
        {
            "id": RUN_ID,
            "status": "needs_input",
            "response": {"text": "Before I search I need **one** detail.", "tables": []},
            "todo": {
                "pendingQuestions": [
                    {"question": "Which stage?", "suggestedAnswers": ["Seed", "Series A"]}
                ]
            },
        }
    )
    intro = questions_intro(run)
    assert intro == "Before I search I need **one** detail."
    # The result itself shows nothing more: its text goes with the questions.
    assert build_result(run, with_text=False) == []
    questions = list(run.todo.pending_questions)
    message = build_questions(questions, run_id=RUN_ID, answers={}, intro=intro)
    assert_valid([message])
    kinds = [b.get("block_id") for b in message.blocks]
    assert kinds == ["intro", "q:0", "q:0:answers", "ai_note", "feedback"]
    assert message.blocks[0]["text"]["text"] == "Before I search I need *one* detail."
    assert message.text == "I have a question for you. Before I search I need one detail."
    closed = build_questions_closed(
        questions, answers={0: Answer("U1", "Seed")}, intro=intro, run_id=RUN_ID
    )
    assert_valid([closed])
    assert [b.get("block_id") for b in closed.blocks] == [
        "intro",
        "q:0",
        "q:sent",
        "ai_note",
        "feedback",
    ]
    # Long texts, or runs that also built tables or suggest next steps, keep their result.
    long = run.model_copy(update={"response": run.response.model_copy(update={"text": "x" * 2001})})
    assert questions_intro(long) == ""
    with_table = run_with([table_of(make_table("T", 2))])
    assert questions_intro(with_table) == ""


@PROPERTY
@given(intro=_text, question=_text, answers=st.lists(_text, max_size=30))
def test_any_questions_with_an_intro_are_valid(
    intro: str, question: str, answers: list[str]
) -> None:
    from bot.origami.models import PendingQuestion
    from bot.slack.blocks import build_questions

    pending = [PendingQuestion(question=question, suggested_answers=answers)] * 3
    message = build_questions(pending, run_id=RUN_ID, answers={}, intro=intro)
    assert_valid([message])


def test_the_low_credits_alert() -> None:
    from bot.slack.blocks import build_low_credits

    message = build_low_credits(123.0)
    assert_valid([message])
    [alert] = message.blocks
    assert (alert["type"], alert["level"]) == ("alert", "warning")
    assert alert["text"]["text"].startswith("Your Origami workspace has 123 credits left.")
    assert message.text == alert["text"]["text"]
