"""The agent's next steps by type, clicked in Slack: ``export_csv`` exports the table it
names, ``upload_csv`` asks for a file, ``schedule_play`` opens the schedule modal
(tests/e2e/test_schedules.py goes on from there), the rest send their label as the next
run."""

from __future__ import annotations

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import click, follow_ups, mention, texts_of, wait_finished
from tests.fakes.origami import RunScript, make_table, next_action

STEPS = [
    next_action("Find 25 more leads like these", "find_more_leads"),
    next_action("Export the table as CSV", "export_csv", "austin-founders"),
    next_action("Upload your account list as a CSV", "upload_csv"),
    next_action("Run this every Monday", "schedule_play"),
    next_action("Teleport the leads", "teleport"),  # a type this app does not know
]


async def _finished(app: AppProcess) -> str:
    tables = [make_table("Austin founders", 3), make_table("Denver founders", 2)]
    app.origami.script(RunScript(polls=0, tables=tables, next_actions=STEPS), RunScript(polls=0))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    return thread_ts


async def test_export_csv_exports_the_named_table_and_upload_csv_asks_for_a_file(
    app: AppProcess,
) -> None:
    thread_ts = await _finished(app)
    await click(app, thread_ts, "next_action:1")
    await app.slack.wait_for(lambda s: [f for f in s.files() if f.completed], timeout=5)
    (csv_file,) = app.slack.files()
    assert csv_file.thread_ts == thread_ts and csv_file.filename == "Austin-founders.csv"
    assert csv_file.content is not None
    assert len(csv_file.content.decode().strip().splitlines()) == 1 + 3  # Austin's 3 rows
    await click(app, thread_ts, "next_action:2", user="U0BOB")
    await app.slack.wait_for(lambda s: s.ephemerals(user="U0BOB"), timeout=5)
    (note,) = app.slack.ephemerals(user="U0BOB")
    assert "Share the file in this thread" in texts_of(note)
    assert note["thread_ts"] == thread_ts
    # Neither sent anything to the agent, nor closed the other steps.
    assert follow_ups(app) == []
    await click(app, thread_ts, "next_action:1")  # a second export, as the card's button
    await app.slack.wait_for(lambda s: len([f for f in s.files() if f.completed]) == 2, 5)


async def test_schedule_play_opens_the_modal_and_unknown_types_are_follow_up_prompts(
    app: AppProcess,
) -> None:
    thread_ts = await _finished(app)
    await click(app, thread_ts, "next_action:3", trigger_id=app.slack.issue_trigger_id())
    (modal,) = await app.slack.wait_for(lambda s: s.views("schedule"), timeout=5)
    prompt = next(b for b in modal["blocks"] if b["block_id"] == "schedule_prompt")
    assert prompt["element"]["initial_value"] == "find founders"
    assert follow_ups(app) == []
    await click(app, thread_ts, "next_action:4")
    await app.slack.wait_for(lambda s: len(follow_ups(app)) == 1, timeout=5)
    assert follow_ups(app)[0].body["prompt"] == "Teleport the leads"
    await wait_finished(app, thread_ts, 2)
    assert app.slack.files() == []
