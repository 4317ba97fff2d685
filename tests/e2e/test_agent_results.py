"""A finished run as a person sees it, through the real app against the fakes: the lead
preview table, the cards, feedback, stale buttons closed by a newer run, credit alerts.
The ``app`` fixture asserts afterwards that the fake Slack refused no call (its Block Kit
checks include the agent platform's blocks) and that nothing pinged anyone."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import (
    CHANNEL,
    bot_replies,
    click,
    find_message,
    follow_ups,
    mention,
    reply,
    wait_finished,
)
from tests.e2e.test_operate import scrape, total
from tests.fakes import payloads
from tests.fakes.origami import RunScript, make_table, single_choice


def blocks_of(app: AppProcess, thread_ts: str, kind: str) -> list[dict[str, Any]]:
    return [
        b for m in bot_replies(app, thread_ts) for b in m.get("blocks") or [] if b["type"] == kind
    ]


async def test_a_finished_run_shows_a_lead_preview_within_limits(app: AppProcess) -> None:
    big = make_table("Austin SaaS founders", 240, qualified=30)
    small = make_table("Dallas SaaS founders", 4)
    app.origami.script(RunScript(polls=1, tables=[big, small]))
    thread_ts = await mention(app, "find SaaS founders in Austin and Dallas")
    await wait_finished(app, thread_ts)
    # The rows were read once per table, a few leads each.
    reads = app.origami.requests("GET", path_prefix="/tables/")
    assert sorted(r.path for r in reads) == sorted(f"/tables/{t['id']}/rows" for t in (big, small))
    assert {r.query["limit"] for r in reads} == {"5"}
    # Two tables: their cards in a carousel, each preview in a message of its own.
    [carousel] = blocks_of(app, thread_ts, "carousel")
    titles = [card["title"]["text"] for card in carousel["elements"]]
    assert titles == ["Austin SaaS founders", "Dallas SaaS founders"]
    tables = blocks_of(app, thread_ts, "table")
    assert len(tables) == 2
    for message in bot_replies(app, thread_ts):
        assert sum(b["type"] == "table" for b in message.get("blocks") or []) <= 1
    first, second = tables
    assert [c["text"] for c in first["rows"][0]] == ["Name", "Company", "Title", "Fit", "Link"]
    assert len(first["rows"]) == 1 + 5 and len(second["rows"]) == 1 + 4
    assert all(len(row) <= 20 for row in first["rows"])
    lead = app.origami.table_rows(big["id"])[0]
    assert first["rows"][1][0] == {"type": "raw_text", "text": lead["name"]}
    [link] = first["rows"][1][4]["elements"][0]["elements"]
    assert link["url"] == lead["linkedin_url"]
    # Every message still has a text fallback for notifications, without mrkdwn marks.
    for message in bot_replies(app, thread_ts):
        assert message["text"] and "*" not in message["text"]


async def test_a_feedback_click_is_counted_once(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    result = find_message(app, thread_ts, "feedback")
    assert "AI agent" in str(result["blocks"])
    for user, positive in (("U0BOB", True), ("U0BOB", True), ("U0BOB", False), ("U0ANN", False)):
        payload = payloads.click_feedback(result, positive=positive, channel=CHANNEL, user=user)
        assert (await app.post_interactive(payload)).status_code == 200
    await app.slack.wait_for(
        lambda s: len(s.ephemerals(user="U0BOB")) == 3 and s.ephemerals(user="U0ANN"), timeout=5
    )
    bob = [e["text"] for e in app.slack.ephemerals(user="U0BOB")]
    assert bob[0].startswith("Thanks for the feedback! Glad")
    assert all("already gave feedback" in text for text in bob[1:])
    [ann] = app.slack.ephemerals(user="U0ANN")
    assert "tell me what to change" in ann["text"]
    figures = [await scrape(app.http, p.url) for p in (app, *app.workers)]
    assert total(figures, "feedback_clicks_total", verdict="good") == 1
    assert total(figures, "feedback_clicks_total", verdict="bad") == 1
    # A forged value naming no run of this thread counts nothing.
    forged = payloads.click_feedback(result, channel=CHANNEL, user="U0EVE")
    forged["actions"][0]["value"] = "v2_run-someone-else:good"
    assert (await app.post_interactive(forged)).status_code == 200
    await app.slack.wait_for(lambda s: s.ephemerals(user="U0EVE"), timeout=5)
    figures = [await scrape(app.http, p.url) for p in (app, *app.workers)]
    assert total(figures, "feedback_clicks_total") == 2


async def test_a_newer_run_closes_the_last_results_next_steps(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0), RunScript(polls=0))
    thread_ts = await mention(app, "find founders in Austin")
    await wait_finished(app, thread_ts)
    first = find_message(app, thread_ts, "next_action:0")
    assert "export_csv" in payloads.action_ids(first)
    await reply(app, thread_ts, "now do Dallas")
    await app.slack.wait_for(lambda s: len(follow_ups(app)) == 1, timeout=5)
    closed = await app.slack.wait_for(
        lambda s: (m := s.message(CHANNEL, first["ts"])) and "moved on" in str(m["blocks"]) and m,
        timeout=5,
    )
    ids = payloads.action_ids(closed)
    assert not [i for i in ids if i.startswith("next_action")]
    # Their title goes with them: it would head nothing.
    assert "Suggested next steps" not in str(closed["blocks"])
    # The cards keep their buttons, and feedback stays open.
    assert {"share_table", "export_csv", "feedback"} <= set(ids)
    await wait_finished(app, thread_ts, 2)
    # The newer result's own next steps are live.
    assert find_message(app, thread_ts, "next_action:0")["ts"] != first["ts"]


async def test_a_credit_problem_is_an_alert(app: AppProcess) -> None:
    app.origami.billing_error("INSUFFICIENT_CREDITS")
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(lambda s: blocks_of(app, thread_ts, "alert"), timeout=10)
    [alert] = blocks_of(app, thread_ts, "alert")
    assert alert["level"] == "warning"
    assert "out of credits" in alert["text"]["text"]
    assert "Top up credits" in str(find_message(app, thread_ts, "open_link")["blocks"])
    assert await click(app, thread_ts, "open_link")


async def test_a_run_that_asks_is_one_message_and_keeps_its_text_when_answered(
    app: AppProcess,
) -> None:
    question = single_choice("Which stage?", ["Pre-seed", "Seed"])
    text = "Before I search I need **one** detail."
    app.origami.script(
        RunScript(polls=0, status="needs_input", text=text, pending_questions=[question]),
        RunScript(polls=0),
    )
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    # The progress line, then one message: the text, the question, the AI note, feedback.
    _progress, asked = bot_replies(app, thread_ts)
    assert [b.get("block_id") for b in asked["blocks"]] == [
        "intro",
        "q:0",
        "q:0:answers",
        "ai_note",
        "feedback",
    ]
    assert "Before I search I need *one* detail." in str(asked["blocks"])
    await click(app, thread_ts, "answer:0:1", user="U0BOB")
    answered = await app.slack.wait_for(
        lambda s: (m := s.message(CHANNEL, asked["ts"])) and "answered" in str(m["blocks"]) and m,
        timeout=5,
    )
    # Answered: the text is still there, the buttons are gone, feedback stays.
    assert "Before I search I need *one* detail." in str(answered["blocks"])
    assert payloads.action_ids(answered) == ["feedback"]
    await wait_finished(app, thread_ts, 2)
    assert follow_ups(app)[0].body["prompt"] == "Seed"


async def test_show_steps_lists_the_tool_calls_once(app: AppProcess) -> None:
    app.origami.script(
        RunScript(polls=0, tables=[make_table("Austin founders", 3)]), RunScript(polls=0)
    )
    thread_ts = await mention(app, "find founders in Austin")
    await wait_finished(app, thread_ts)
    await click(app, thread_ts, "show_steps", user="U0BOB")
    steps = await app.slack.wait_for(
        lambda s: (p := blocks_of(app, thread_ts, "plan")) and p[0], timeout=5
    )
    [read] = [r for r in app.origami.requests("GET") if r.query.get("include") == "transcript"]
    assert read.path.endswith(f"/runs/{next(iter(app.origami.runs))}")
    assert steps["title"] == "What I did"
    [task] = steps["tasks"]
    assert (task["title"], task["status"]) == ("Made a plan", "complete")
    assert "find founders in Austin" in str(task["details"])
    # A second click, by anyone: the steps are in the thread already.
    await click(app, thread_ts, "show_steps", user="U0ANN")
    await app.slack.wait_for(lambda s: s.ephemerals(user="U0ANN"), timeout=5)
    assert "already in the thread" in app.slack.ephemerals(user="U0ANN")[0]["text"]
    assert len(blocks_of(app, thread_ts, "plan")) == 1
    # A newer run closes the old next steps, but Show steps stays.
    first = find_message(app, thread_ts, "share_table")
    await reply(app, thread_ts, "now Dallas")
    await wait_finished(app, thread_ts, 2)
    await app.slack.wait_for(
        lambda s: "moved on" in str((s.message(CHANNEL, first["ts"]) or {}).get("blocks")), 5
    )
    closed = app.slack.message(CHANNEL, first["ts"])
    assert closed is not None and "show_steps" in payloads.action_ids(closed)
