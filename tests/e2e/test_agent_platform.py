"""Slack's agent platform, end to end: the app process, signed requests, real HTTP to the
fake Slack (which enforces the methods' limits and errors) and the fake Origami.

A run's session is processing while it works (Slack shows its own Stop) and active when it
ends; the thread's status shows its steps; Slack's Stop cancels it once; the Messages tab
gets suggested prompts and, once, an onboarding. Where a workspace refuses sessions or
the status, runs fall back to the Stop button and the progress line, learnt once.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import (
    CHANNEL,
    bot_replies,
    finals,
    mention,
    reply,
    thread_text,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import RunScript, make_table
from tests.fakes.slack import SlackCall


def _has_stop_button(message: dict[str, Any]) -> bool:
    return "stop_run" in str(message.get("blocks"))


def _cancels(app: AppProcess) -> list[Any]:
    return [r for r in app.origami.requests("POST") if r.path.endswith("/cancel")]


def _session_calls(app: AppProcess) -> list[SlackCall]:
    return app.slack.calls("agents.sessions.setStatus")


async def wait_processing(app: AppProcess, thread_ts: str, channel: str = CHANNEL) -> None:
    """Until the thread's agent session is processing (a run is in flight)."""
    await app.slack.wait_for(
        lambda s: (
            (session := s.agents.session(channel, thread_ts)) is not None
            and session.status == "processing"
        ),
        timeout=10,
    )


async def test_the_status_is_not_set_again_while_its_text_is_unchanged(app: AppProcess) -> None:
    # A run stuck on its first step for six polls: its status says the same each time.
    app.origami.script(RunScript(polls=6, steps_max=2), RunScript(polls=2))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    polls = [r for r in app.origami.requests("GET") if "/runs/" in r.path]
    assert len(polls) == 7
    [status] = app.slack.calls("assistant.threads.setStatus")
    assert status.ok and status.args["loading_messages"][0] == "Step 1"
    # The next run of the thread (the result cleared the status) sets its own.
    await reply(app, thread_ts, "and in Dallas")
    await wait_finished(app, thread_ts, 2)
    assert len(app.slack.calls("assistant.threads.setStatus")) >= 2
    # The session is set once a change: processing, then active, each run (the last
    # after the delivery).
    await app.slack.wait_for(lambda s: len(_session_calls(app)) >= 4, timeout=5)
    assert [c.args["status"] for c in _session_calls(app)] == [
        "processing",
        "active",
        "processing",
        "active",
    ]


async def test_a_mention_runs_with_the_session_processing_then_active(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=3, tables=[make_table("Austin founders", 5)]))
    thread_ts = await mention(app, "find 20 seed-stage SaaS founders in Austin\nwith emails")
    await wait_processing(app, thread_ts)
    session = app.slack.agents.session(CHANNEL, thread_ts)
    assert session is not None
    # Created with the prompt's first line as its title, and who started it.
    assert session.title == "find 20 seed-stage SaaS founders in Austin"
    assert session.initiator == payloads.USER_ID
    # The status shows the steps while the run works.
    status = await app.slack.wait_for_call(
        "assistant.threads.setStatus",
        match=lambda a: any(m.startswith("Step ") for m in a.get("loading_messages") or []),
        timeout=10,
    )
    assert status.args["channel_id"] == CHANNEL and status.args["thread_ts"] == thread_ts
    assert any(m.startswith("Working for ") for m in status.args["loading_messages"])
    await wait_finished(app, thread_ts)
    await app.slack.wait_for(
        lambda s: s.agents.session(CHANNEL, thread_ts).history[-1:] == ["active"], timeout=5
    )
    assert session.history[0] == "processing" and "active" in session.history
    assert set(app.slack.agents.session(CHANNEL, thread_ts).history) == {"processing", "active"}
    # Slack's Stop stood in for ours, and the result cleared the status.
    assert not any(_has_stop_button(m) for m in bot_replies(app, thread_ts))
    assert app.slack.agents.status(CHANNEL, thread_ts) is None
    assert "Austin founders" in thread_text(app, thread_ts)
    # Only the session's first call names its title and initiator.
    later = _session_calls(app)[1:]
    assert later and all("title" not in c.args and "initiator_user_id" not in c.args for c in later)


async def test_slacks_stop_cancels_the_run_once(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=None, tables=[make_table("Partial list", 4)]))
    thread_ts = await mention(app, "find founders")
    await wait_processing(app, thread_ts)
    stop = payloads.agent_session_stopped(thread_ts=thread_ts, user="U0BOB")
    first = payloads.events_api(stop)
    # Slack's retry of the event, and a second press by someone else.
    assert (await app.post_body(payloads.to_event_body(first))).status_code == 200
    retry = payloads.to_event_body(first)
    assert (await app.post_body(retry, retry_num=1)).status_code == 200
    again = payloads.agent_session_stopped(thread_ts=thread_ts, user="U0CAROL")
    assert (await app.post_event(again)).status_code == 200
    await wait_finished(app, thread_ts)
    (cancel,) = _cancels(app)
    assert cancel.headers["idempotency-key"].startswith("stop:")
    text = thread_text(app, thread_ts)
    said = [m for m in bot_replies(app, thread_ts) if "stopped this run" in str(m)]
    assert len(said) == 1 and "<@U0BOB>" in said[0]["text"]
    assert "U0CAROL" not in text
    assert "Stopped" in text and "Partial list" in text


async def test_slacks_stop_in_another_thread_cancels_nothing(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=None))
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(lambda s: s.agents.session(CHANNEL, thread_ts) is not None, 10)
    elsewhere = payloads.agent_session_stopped(thread_ts=payloads.new_ts())
    assert (await app.post_event(elsewhere)).status_code == 200
    malformed = {**payloads.agent_session_stopped(thread_ts=thread_ts), "user": "<!channel>"}
    assert (await app.post_event(malformed)).status_code == 200
    # A real press afterwards is the only one that acts.
    stop = payloads.agent_session_stopped(thread_ts=thread_ts)
    assert (await app.post_event(stop)).status_code == 200
    await wait_finished(app, thread_ts)
    assert len(_cancels(app)) == 1
    assert app.slack.pings(["channel"]) == []


async def test_the_messages_tab_gets_suggested_prompts_and_an_onboarding_once(
    app: AppProcess,
) -> None:
    dm = payloads.DM_CHANNEL_ID
    for _ in range(2):
        opened = payloads.app_home_opened(tab="messages", channel=dm)
        assert (await app.post_event(opened)).status_code == 200
        await app.slack.wait_for_call("assistant.threads.setSuggestedPrompts", timeout=5)
    await app.slack.wait_for(
        lambda s: len(s.calls("assistant.threads.setSuggestedPrompts")) == 2, timeout=5
    )
    for call in app.slack.calls("assistant.threads.setSuggestedPrompts"):
        # Under agent_view: no thread_ts, or Slack silently ignores the call.
        assert "thread_ts" not in call.args and call.ok
    assert app.slack.agents.ignored == []
    suggested = app.slack.agents.suggested[dm]
    assert suggested["title"] == "Try one of these"
    assert 1 <= len(suggested["prompts"]) <= 4
    assert all(p["title"] and p["message"].startswith("Find ") for p in suggested["prompts"])
    await app.slack.wait_for(lambda s: s.messages(dm), timeout=5)
    # The Home tab is not this app's Messages tab: nothing happens for it.
    home = payloads.app_home_opened(tab="home", channel=dm)
    assert (await app.post_event(home)).status_code == 200
    # A different person gets their own onboarding; it proves the events above were handled.
    other = payloads.app_home_opened(tab="messages", user="U0BOB", channel="D0BOB")
    assert (await app.post_event(other)).status_code == 200
    await app.slack.wait_for(lambda s: s.messages("D0BOB"), timeout=5)
    (onboarding,) = app.slack.messages(dm)
    assert "Welcome, <@U0USER>!" in str(onboarding["blocks"])
    assert "*" not in onboarding["text"]  # the notification preview
    assert len(app.slack.calls("assistant.threads.setSuggestedPrompts")) == 3


async def test_a_dm_from_the_messages_tab_starts_and_continues_a_conversation(
    app: AppProcess,
) -> None:
    app.origami.script(RunScript(polls=1), RunScript(polls=1))
    dm = payloads.DM_CHANNEL_ID
    event = payloads.im_message("Find 20 founders of seed-stage B2B SaaS companies in Austin")
    app.slack.add_message(dm, event["text"], ts=event["ts"])
    assert (await app.post_event(event)).status_code == 200
    ts = event["ts"]
    await wait_finished(app, ts, channel=dm)
    reply_event = payloads.im_message("only the ones hiring", thread_ts=ts)
    app.slack.add_message(dm, reply_event["text"], ts=reply_event["ts"], thread_ts=ts)
    assert (await app.post_event(reply_event)).status_code == 200
    await wait_finished(app, ts, 2, channel=dm)
    assert len(app.origami.agents) == 1
    session = app.slack.agents.session(dm, ts)
    assert session is not None and session.history.count("processing") == 2
    assert app.slack.calls("assistant.threads.setStatus")
    assert all(c.ok for c in app.slack.calls("assistant.threads.setStatus"))


async def test_sessions_refused_fall_back_to_the_stop_button_learnt_once(
    app: AppProcess,
) -> None:
    app.slack.agents.declared = False  # an app not declared as an agent here
    app.origami.script(RunScript(polls=2), RunScript(polls=2))
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(
        lambda s: any(_has_stop_button(m) for m in bot_replies(app, thread_ts)), timeout=10
    )
    await wait_finished(app, thread_ts)
    await reply(app, thread_ts, "and in Dallas")
    await app.slack.wait_for(
        lambda s: (
            sum(_has_stop_button(m) for m in bot_replies(app, thread_ts)) == 1
            and len(finals(app, thread_ts)) == 1
        ),
        timeout=10,
    )
    await wait_finished(app, thread_ts, 2)
    # Refused once: the second run did not ask again.
    calls = _session_calls(app)
    assert [c.error for c in calls] == ["not_allowed"]
    # The status still showed the steps; the Stop button sat on the "On it" message alone.
    assert any(
        any(m.startswith("Step ") for m in c.args.get("loading_messages") or [])
        for c in app.slack.calls("assistant.threads.setStatus")
    )
    assert not any("▰" in str(m.get("blocks")) for m in bot_replies(app, thread_ts))


async def test_status_refused_falls_back_to_the_progress_line_learnt_once(
    app: AppProcess,
) -> None:
    app.slack.fail("assistant.threads.setStatus", times=5, error="missing_scope")
    app.origami.script(RunScript(polls=3), RunScript(polls=3))
    thread_ts = await mention(app, "find founders")
    progress = await app.slack.wait_for_call(
        "chat.update", match=lambda a: "Step " in str(a.get("text")), timeout=10
    )
    # In the first person, steps taken without a bar against the maximum.
    assert "I'm working on it" in str(progress.args["blocks"])
    assert "▰" not in str(progress.args["blocks"]) and "/50" not in str(progress.args["blocks"])
    await wait_finished(app, thread_ts)
    await reply(app, thread_ts, "and in Dallas")
    await wait_finished(app, thread_ts, 2)
    assert len(app.slack.calls("assistant.threads.setStatus")) == 1
    # Sessions still work here: Slack's Stop, so no button of ours.
    session = app.slack.agents.session(CHANNEL, thread_ts)
    assert session is not None and session.history.count("processing") == 2
    assert not any(_has_stop_button(m) for m in bot_replies(app, thread_ts))


async def test_a_conversation_whose_agent_is_gone_closes_its_session(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=None))
    thread_ts = await mention(app, "find founders")
    await wait_processing(app, thread_ts)
    app.origami.fail_next(5, 404, method="GET", path_prefix="/agents/")
    await app.slack.wait_for(
        lambda s: s.agents.session(CHANNEL, thread_ts).status == "closed", timeout=10
    )
