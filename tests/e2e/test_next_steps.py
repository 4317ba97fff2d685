"""The agent's next steps by type, clicked in Slack: ``export_csv`` exports the table it
names, ``upload_csv`` asks for a file, ``schedule_play`` opens the schedule modal
(tests/e2e/test_schedules.py goes on from there), the rest send their label as the next
run."""

from __future__ import annotations

import copy
from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import (
    CHANNEL,
    click,
    find_message,
    follow_ups,
    mention,
    texts_of,
    wait_finished,
)
from tests.fakes import payloads
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


async def test_export_csv_is_the_cards_button_alone_and_upload_csv_asks_for_a_file(
    app: AppProcess,
) -> None:
    thread_ts = await _finished(app)
    result = find_message(app, thread_ts, "next_action:0")
    # The card of the table the export_csv step names has its own Export CSV: the step
    # is not shown beside it; the others keep their index (a click names it).
    shown = [a for a in payloads.action_ids(result) if a.startswith("next_action:")]
    assert shown == ["next_action:0", "next_action:2", "next_action:3", "next_action:4"]
    assert "Export the table as CSV" not in texts_of(result)
    # A result posted before the step was dropped still has it: it exports the named table.
    old = _with_step_button(result, 1)
    payload = payloads.click(old, "next_action:1", channel=CHANNEL)
    assert (await app.post_interactive(payload)).status_code == 200
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
    assert (await app.post_interactive(payload)).status_code == 200  # again, as the card's
    await app.slack.wait_for(lambda s: len([f for f in s.files() if f.completed]) == 2, 5)


def _with_step_button(message: dict[str, Any], index: int) -> dict[str, Any]:
    """``message`` as a result posted with next step ``index``'s button had it."""
    old = copy.deepcopy(message)
    [actions] = [b for b in old["blocks"] if b.get("block_id") == "next_actions"]
    run_id = actions["elements"][0]["value"].rpartition(":")[0]
    actions["elements"].append(
        {
            "type": "button",
            "action_id": f"next_action:{index}",
            "text": {"type": "plain_text", "text": "Export the table as CSV"},
            "value": f"{run_id}:{index}",
        }
    )
    return old


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
