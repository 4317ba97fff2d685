"""Agents on a schedule, as a person uses them: the Schedule button (or a ``schedule_play``
step) opens the modal, its submission creates an enabled Origami scheduled agent, each run
Origami makes is posted once as a new thread in the chosen channel and continues there
like any conversation, and App Home and ``/origami schedules`` list them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RedisTarget
from tests.e2e.conftest import (
    AppProcess,
    flush,
    start_app,
    start_deployment,
    stop_app,
)
from tests.e2e.test_commands import command, private_text
from tests.e2e.test_conversations import (
    CHANNEL,
    click,
    follow_ups,
    mention,
    reply,
    texts_of,
    thread_text,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript, make_table, next_action
from tests.fakes.slack import FakeSlack
from tests.fakes.slack_views import view_ack_errors

# Each schedule's runs are read this often in these tests (the default is minutes).
PACE = {"SCHEDULE_POLL_SECONDS": "0.3"}
OTHER_CHANNEL = "C0LEADS"
ADMIN = "U0ADMIN"
MEMBER = "U0BOB"


@pytest.fixture
async def sched_app(
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
    deployment: str,
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    flush(redis_target)
    running = await start_deployment(deployment, slack, origami, redis_target.url, http, **PACE)
    try:
        yield running
    finally:
        log = await stop_app(running)
        print(f"--- app log ---\n{log}")
        assert slack.rejections == [], slack.rejections
        assert "Traceback" not in log, log
        assert slack.pings() == []


def top_level(app: AppProcess, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in app.slack.messages(channel) if m.get("bot_id") and not m.get("thread_ts")]


def run_threads(app: AppProcess, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The top messages of scheduled runs' threads."""
    return [m for m in top_level(app, channel) if "a scheduled run" in texts_of(m)]


def values(
    prompt: str | None, when: str | None, channel: str | None, cron: str | None = None
) -> dict[str, dict[str, Any]]:
    """The modal's ``state.values`` as Slack sends them."""
    option = {"text": {"type": "plain_text", "text": when}, "value": when} if when else None
    return {
        "schedule_prompt": {"prompt": payloads.input_value(prompt or "")},
        "schedule_when": {"when": {"type": "static_select", "selected_option": option}},
        "schedule_cron": {"cron": {"type": "plain_text_input", "value": cron}},
        "schedule_channel": {
            "channel": {"type": "conversations_select", "selected_conversation": channel}
        },
    }


async def open_modal(app: AppProcess, thread_ts: str, action_id: str = "schedule_run") -> Any:
    opened = len(app.slack.views("schedule"))
    await click(app, thread_ts, action_id, trigger_id=app.slack.issue_trigger_id())
    return await app.slack.wait_for(
        lambda s: len(s.views("schedule")) > opened and s.views("schedule")[-1], timeout=5
    )


async def submit(
    app: AppProcess, view: dict[str, Any], state: dict[str, Any], user: str = payloads.USER_ID
) -> Any:
    """Submit the modal; the ack's JSON (None when empty), checked as Slack would."""
    response = await app.post_interactive(payloads.view_submission(state, view=view, user=user))
    assert response.status_code == 200
    ack = response.json() if response.content else None
    assert view_ack_errors(view, ack) == [], ack
    return ack


async def finished_result(app: AppProcess, prompt: str, **script: Any) -> str:
    app.origami.script(RunScript(polls=0, tables=[make_table("Austin founders", 3)], **script))
    thread_ts = await mention(app, prompt)
    await wait_finished(app, thread_ts)
    return thread_ts


async def schedule_from_result(
    app: AppProcess, prompt: str = "find seed-stage SaaS founders in Austin"
) -> str:
    """A result, its Schedule button, the modal submitted as it opened (every Monday, this
    channel); the schedule's id."""
    thread_ts = await finished_result(app, prompt)
    view = await open_modal(app, thread_ts)
    before = len(app.origami.schedules.live())
    assert await submit(app, view, values(prompt, "mondays", CHANNEL)) is None
    await app.origami.wait_for(lambda: len(app.origami.schedules.live()) > before, timeout=5)
    return app.origami.schedules.live()[-1].id


async def fire(app: AppProcess, schedule_id: str, text: str) -> str:
    """The cron's time came: Origami starts a run (it ends at its second poll)."""
    app.origami.script(RunScript(polls=1, text=text))
    run = app.origami.schedules.fire(schedule_id)
    assert run is not None
    return run.id


async def test_a_schedule_from_the_modal_posts_two_runs_as_two_threads_that_continue(
    sched_app: AppProcess,
) -> None:
    app = sched_app
    prompt = "find seed-stage SaaS founders in Austin"
    thread_ts = await finished_result(app, prompt)
    view = await open_modal(app, thread_ts)
    # The modal opens with the run's prompt, and this channel as where to post.
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["schedule_prompt"]["element"]["initial_value"] == prompt
    assert blocks["schedule_channel"]["element"]["initial_conversation"] == CHANNEL
    assert blocks["schedule_when"]["element"]["initial_option"]["value"] == "mondays"

    submission = payloads.view_submission(values(prompt, "mondays", CHANNEL), view=view)
    first = await app.post_interactive(submission)
    assert first.status_code == 200 and not first.content
    # The same submission again (a retry): no second schedule, no second confirmation.
    again = await app.post_interactive(submission)
    assert again.status_code == 200 and not again.content
    (made,) = app.origami.schedules.live()
    assert (made.prompt, made.cron, made.enabled) == (prompt, "0 9 * * 1", True)
    creations = app.origami.requests("POST", "/scheduled-agents")
    assert len(creations) == 2 and creations[1].replayed
    assert creations[0].headers["Idempotency-Key"] == creations[1].headers["Idempotency-Key"]
    await app.slack.wait_for(lambda s: any("Scheduled:" in texts_of(m) for m in top_level(app)))
    confirmations = [m for m in top_level(app) if "Scheduled:" in texts_of(m)]
    assert len(confirmations) == 1
    assert "Every Monday morning (9:00 UTC)" in texts_of(confirmations[0])

    # Two runs, two threads, each with its own result.
    first_run = await fire(app, made.id, "Monday: 5 new founders")
    await app.slack.wait_for(lambda s: len(run_threads(app)) == 1, timeout=10)
    (opener_1,) = run_threads(app)
    await wait_finished(app, opener_1["ts"])
    assert "Monday: 5 new founders" in thread_text(app, opener_1["ts"])
    second_run = await fire(app, made.id, "Next Monday: 7 founders")
    await app.slack.wait_for(lambda s: len(run_threads(app)) == 2, timeout=10)
    opener_2 = run_threads(app)[1]
    await wait_finished(app, opener_2["ts"])
    assert "Next Monday: 7 founders" in thread_text(app, opener_2["ts"])
    assert "Monday: 5 new founders" not in thread_text(app, opener_2["ts"])
    # Polled like any run: at the run's own agent.
    agents: dict[str, str] = {}
    for run_id in (first_run, second_run):
        agent = app.origami.runs[run_id].agent_id
        agents[run_id] = agent
        assert app.origami.requests("GET", f"/agents/{agent}/runs/{run_id}")

    # A reply in each thread continues that run's agent.
    app.origami.script(RunScript(polls=0, text="Only B2B ones"), RunScript(polls=0, text="Done"))
    await reply(app, opener_1["ts"], "only B2B please")
    await wait_finished(app, opener_1["ts"], 2)
    await reply(app, opener_2["ts"], "and in Dallas")
    await wait_finished(app, opener_2["ts"], 2)
    sent = [(r.path, r.body["prompt"]) for r in follow_ups(app)]
    assert sent == [
        (f"/agents/{agents[first_run]}/runs", "only B2B please"),
        (f"/agents/{agents[second_run]}/runs", "and in Dallas"),
    ]
    # Read again and again since: still one thread a run.
    reads = len(app.origami.requests("GET", f"/scheduled-agents/{made.id}/runs"))
    await app.origami.wait_for(
        lambda: len(app.origami.requests("GET", f"/scheduled-agents/{made.id}/runs")) > reads + 3,
        timeout=10,
    )
    assert len(run_threads(app)) == 2
    # The runs' list is read at a poll's priority, under the workspace's key.
    (read, *_) = app.origami.requests("GET", f"/scheduled-agents/{made.id}/runs")
    assert read.headers["Authorization"] == f"Bearer {app.origami.api_key}"


async def test_schedule_play_opens_the_modal_and_origami_refusals_are_field_errors(
    sched_app: AppProcess,
) -> None:
    app = sched_app
    steps = [next_action("Run this every Monday", "schedule_play")]
    thread_ts = await finished_result(app, "find founders in Denver", next_actions=steps)
    view = await open_modal(app, thread_ts, "next_action:0")
    assert follow_ups(app) == []  # the step opened the modal; it sent nothing to the agent
    prompt = "find founders in Denver"
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["schedule_prompt"]["element"]["initial_value"] == prompt

    # Checked before Origami: a custom choice with no cron, an empty prompt, no channel.
    ack = await submit(app, view, values("  ", "custom", None, cron=" "))
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"schedule_prompt", "schedule_cron", "schedule_channel"}
    ack = await submit(app, view, values(prompt, "custom", CHANNEL, cron="every monday"))
    assert "five fields" in ack["errors"]["schedule_cron"]
    assert app.origami.requests("POST", "/scheduled-agents") == []
    # Origami's refusals, under the cron.
    ack = await submit(app, view, values(prompt, "custom", CHANNEL, cron="61 9 * * *"))
    assert ack == {
        "response_action": "errors",
        "errors": {"schedule_cron": ack["errors"]["schedule_cron"]},
    }
    assert "can't read this cron" in ack["errors"]["schedule_cron"]
    ack = await submit(app, view, values(prompt, "custom", CHANNEL, cron="*/10 * * * *"))
    assert "at most once an hour" in ack["errors"]["schedule_cron"]
    assert app.origami.schedules.live() == []
    # Fixed: made, as typed.
    assert await submit(app, view, values(prompt, "custom", CHANNEL, cron="30 8 * * 1-5")) is None
    await app.origami.wait_for(lambda: len(app.origami.schedules.live()) == 1, timeout=5)
    assert app.origami.schedules.live()[0].cron == "30 8 * * 1-5"


async def test_other_failures_are_a_plain_message_and_a_closed_channel_is_said(
    sched_app: AppProcess,
) -> None:
    app = sched_app
    thread_ts = await finished_result(app, "find founders in Boston")
    view = await open_modal(app, thread_ts)
    refusal = {"error": "Plan required", "code": "SUBSCRIPTION_REQUIRED"}
    app.origami.fail_next(status=402, method="POST", path_prefix="/scheduled-agents", body=refusal)
    ack = await submit(app, view, values("find founders in Boston", "daily", CHANNEL))
    assert ack["response_action"] == "update"
    assert "can't run scheduled agents" in texts_of({"blocks": ack["view"]["blocks"]})
    assert "Traceback" not in str(ack)
    # A channel the app is not in: made, and its maker is told, privately, to invite it.
    app.slack.leave(OTHER_CHANNEL)
    view = await open_modal(app, thread_ts)
    assert (
        await submit(app, view, values("find founders in Boston", "daily", OTHER_CHANNEL)) is None
    )
    await app.slack.wait_for(lambda s: s.ephemerals(user=payloads.USER_ID), timeout=5)
    (note,) = app.slack.ephemerals(user=payloads.USER_ID)
    assert "invite me" in texts_of(note) and note["thread_ts"] == thread_ts
    assert len(app.origami.schedules.live()) == 1


def home_click(view: dict[str, Any], action_id: str, user: str, trigger_id: str) -> dict[str, Any]:
    """A click on a button of a published home tab, as Slack sends it (a view container)."""
    found = [
        e
        for b in view["blocks"]
        for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("action_id") == action_id
    ]
    assert found, f"no {action_id} in the home view"
    action = payloads.button_action(action_id, value=found[0]["value"])
    body = payloads.block_actions(action, user=user, trigger_id=trigger_id)
    for key in ("message", "channel"):
        body.pop(key)
    body["container"] = {"type": "view", "view_id": view["id"]}
    body["view"] = view
    return body


async def open_home(app: AppProcess, user: str) -> dict[str, Any]:
    before = app.slack.home_view(user)
    await app.post_event(payloads.app_home_opened(tab="home", user=user))
    return await app.slack.wait_for(
        lambda s: (v := s.home_view(user)) is not None and v != before and v, timeout=5
    )


def home_actions(view: dict[str, Any]) -> list[str]:
    return [
        str(e["action_id"])
        for b in view["blocks"]
        for e in b.get("elements", [])
        if isinstance(e, dict) and str(e.get("action_id", "")).startswith("schedule_")
    ]


async def test_app_home_lists_schedules_and_only_its_maker_or_an_admin_changes_one(
    sched_app: AppProcess,
) -> None:
    app = sched_app
    app.slack.add_user(ADMIN, is_admin=True)
    app.slack.add_user(MEMBER)
    schedule_id = await schedule_from_result(app)
    mine = await open_home(app, payloads.USER_ID)
    shown = texts_of({"blocks": mine["blocks"]})
    assert "find seed-stage SaaS founders in Austin" in shown
    assert "Every Monday morning (9:00 UTC)" in shown and f"<#{CHANNEL}>" in shown
    assert "running" in shown and "next run <!date^" in shown
    assert home_actions(mine) == ["schedule_pause", "schedule_delete"]
    # Another member sees it without buttons, and a forged click changes nothing.
    theirs = await open_home(app, MEMBER)
    assert home_actions(theirs) == [] and "find seed-stage" in texts_of(
        {"blocks": theirs["blocks"]}
    )
    forged = home_click(mine, "schedule_pause", MEMBER, app.slack.issue_trigger_id())
    assert (await app.post_interactive(forged)).status_code == 200
    await app.slack.wait_for(lambda s: any("Only the person" in texts_of(v) for v in s.views()))
    forged = home_click(mine, "schedule_delete", MEMBER, app.slack.issue_trigger_id())
    assert (await app.post_interactive(forged)).status_code == 200
    await app.slack.wait_for(
        lambda s: len([v for v in s.views() if "Only the person" in texts_of(v)]) == 2
    )
    assert app.origami.requests("POST", f"/scheduled-agents/{schedule_id}/disable") == []
    assert app.origami.requests("DELETE") == []
    # An admin pauses it: Origami is told, and the admin's home shows it paused.
    admin_home = await open_home(app, ADMIN)
    assert home_actions(admin_home) == ["schedule_pause", "schedule_delete"]
    before = app.slack.home_view(ADMIN)
    click_ = home_click(admin_home, "schedule_pause", ADMIN, app.slack.issue_trigger_id())
    assert (await app.post_interactive(click_)).status_code == 200
    paused = await app.slack.wait_for(
        lambda s: (v := s.home_view(ADMIN)) != before and v, timeout=5
    )
    assert app.origami.requests("POST", f"/scheduled-agents/{schedule_id}/disable")
    assert not app.origami.schedules.items[schedule_id].enabled
    assert "paused" in texts_of({"blocks": paused["blocks"]})
    assert home_actions(paused) == ["schedule_resume", "schedule_delete"]
    # A paused schedule does not run.
    assert app.origami.schedules.fire(schedule_id) is None
    # Its maker resumes it, then deletes it.
    mine = await open_home(app, payloads.USER_ID)
    before = app.slack.home_view(payloads.USER_ID)
    click_ = home_click(mine, "schedule_resume", payloads.USER_ID, app.slack.issue_trigger_id())
    await app.post_interactive(click_)
    resumed = await app.slack.wait_for(
        lambda s: (v := s.home_view(payloads.USER_ID)) != before and v, timeout=5
    )
    assert app.origami.schedules.items[schedule_id].enabled
    assert home_actions(resumed) == ["schedule_pause", "schedule_delete"]
    click_ = home_click(resumed, "schedule_delete", payloads.USER_ID, app.slack.issue_trigger_id())
    await app.post_interactive(click_)
    gone = await app.slack.wait_for(
        lambda s: (v := s.home_view(payloads.USER_ID)) != resumed and v, timeout=5
    )
    assert app.origami.requests("DELETE", f"/scheduled-agents/{schedule_id}")
    assert app.origami.schedules.live() == []
    assert "No schedules yet" in texts_of({"blocks": gone["blocks"]})


async def test_origami_schedules_lists_the_workspaces_schedules(sched_app: AppProcess) -> None:
    app = sched_app
    await schedule_from_result(app)
    shown = private_text(await command(app, "schedules"))
    assert "This workspace's schedules" in shown
    assert "find seed-stage SaaS founders in Austin" in shown
    assert "Every Monday morning (9:00 UTC)" in shown and f"<#{CHANNEL}>" in shown
    assert "running" in shown and "Home tab" in shown


async def test_a_scheduled_run_is_posted_once_by_two_workers_and_after_a_restart(
    fakes: tuple[FakeSlack, FakeOrigami], redis_target: RedisTarget, http: httpx.AsyncClient
) -> None:
    if redis_target.url is None:
        pytest.skip("two workers share a real Redis")
    slack, origami = fakes
    flush(redis_target)
    app = await start_deployment("web+worker", slack, origami, redis_target.url, http, **PACE)
    app.workers.append(await start_app(slack, origami, redis_target.url, http, "worker", **PACE))
    try:
        schedule_id = await schedule_from_result(app)
        for n in range(3):
            await fire(app, schedule_id, f"Run {n} found founders")
            await slack.wait_for(lambda s, n=n: len(run_threads(app)) == n + 1, timeout=10)
            await wait_finished(app, run_threads(app)[-1]["ts"])
        reads = len(origami.requests("GET", f"/scheduled-agents/{schedule_id}/runs"))
        await origami.wait_for(
            lambda: (
                len(origami.requests("GET", f"/scheduled-agents/{schedule_id}/runs")) > reads + 4
            ),
            timeout=10,
        )
        assert len(run_threads(app)) == 3
    finally:
        log = await stop_app(app)
    assert "Traceback" not in log, log
    # Restarted: the runs already posted are not posted again; a new one is.
    app = await start_deployment("web+worker", slack, origami, redis_target.url, http, **PACE)
    try:
        reads = len(origami.requests("GET", f"/scheduled-agents/{schedule_id}/runs"))
        await origami.wait_for(
            lambda: (
                len(origami.requests("GET", f"/scheduled-agents/{schedule_id}/runs")) > reads + 3
            ),
            timeout=10,
        )
        assert len(run_threads(app)) == 3
        await fire(app, schedule_id, "After the restart")
        await slack.wait_for(lambda s: len(run_threads(app)) == 4, timeout=10)
        await wait_finished(app, run_threads(app)[-1]["ts"])
        assert "After the restart" in thread_text(app, run_threads(app)[-1]["ts"])
    finally:
        log = await stop_app(app)
    assert "Traceback" not in log, log
    assert slack.rejections == []
