"""Every flow a user walks through, against the app process started like the README says:
real Bolt request path, signed requests, real HTTP to the fake Slack and fake Origami."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import SIGNING_SECRET, AppProcess, wait_readyz
from tests.fakes import payloads
from tests.fakes.origami import RunScript, make_table, next_action, single_choice
from tests.fakes.signing import signed_headers, stale_timestamp

CHANNEL = payloads.CHANNEL_ID
FINAL_MARKS = ("✅ Finished", "💬 Needs your input", "⏹️ Stopped after", "⚠️", "❌ Failed", "Ended")


def texts_of(message: dict[str, Any]) -> str:
    """All visible text of a stored message: fallback text and every block's text."""
    parts = [str(message.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    parts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.get("blocks", []))
    return "\n".join(parts)


def bot_replies(app: AppProcess, thread_ts: str, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in app.slack.messages(channel, thread_ts) if m.get("bot_id")]


def thread_text(app: AppProcess, thread_ts: str, channel: str = CHANNEL) -> str:
    return "\n".join(texts_of(m) for m in bot_replies(app, thread_ts, channel))


def finals(app: AppProcess, thread_ts: str, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [
        m
        for m in bot_replies(app, thread_ts, channel)
        if str(m.get("text", "")).startswith(FINAL_MARKS)
    ]


async def wait_finished(
    app: AppProcess, thread_ts: str, count: int = 1, channel: str = CHANNEL
) -> None:
    """Until ``count`` runs of the thread were delivered (their progress line is final)."""
    await app.slack.wait_for(lambda s: len(finals(app, thread_ts, channel)) >= count, timeout=15)


def find_message(app: AppProcess, thread_ts: str, action_id: str) -> dict[str, Any]:
    for message in reversed(bot_replies(app, thread_ts)):
        if action_id in payloads.action_ids(message):
            return message
    raise AssertionError(f"no message with {action_id} in {thread_text(app, thread_ts)}")


async def mention(app: AppProcess, text: str, **kwargs: Any) -> str:
    event = payloads.app_mention(text, **kwargs)
    app.slack.add_message(
        event["channel"], event["text"], ts=event["ts"], thread_ts=kwargs.get("thread_ts")
    )
    response = await app.post_event(event)
    assert response.status_code == 200
    return str(event["ts"])


async def reply(app: AppProcess, thread_ts: str, text: str, **kwargs: Any) -> str:
    event = payloads.thread_reply(text, thread_ts=thread_ts, **kwargs)
    app.slack.add_message(event["channel"], text, ts=event["ts"], thread_ts=thread_ts)
    assert (await app.post_event(event)).status_code == 200
    return str(event["ts"])


async def click(app: AppProcess, thread_ts: str, action_id: str, **kwargs: Any) -> httpx.Response:
    message = find_message(app, thread_ts, action_id)
    payload = payloads.click(message, action_id, channel=CHANNEL, **kwargs)
    response = await app.post_interactive(payload)
    assert response.status_code == 200
    return response


def follow_ups(app: AppProcess) -> list[Any]:
    return [r for r in app.origami.requests("POST") if r.path.endswith("/runs") and r.status == 202]


async def test_mention_progress_result_with_table_cards(app: AppProcess) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=120, running_cells=3)
    app.origami.script(
        RunScript(
            polls=2,
            text="Found **20** founders. <!channel> see <https://evil.example|this> & more",
            tables=[table],
            next_actions=[next_action("Find 20 more like these", "find_more_leads")],
        )
    )
    thread_ts = await mention(app, "find 20 seed-stage SaaS founders in Austin")
    # The acknowledgement is posted before Origami has answered anything.
    ack = await app.slack.wait_for_call(
        "chat.postMessage", match=lambda a: a.get("thread_ts") == thread_ts, timeout=2
    )
    assert "On it" in ack.args["text"]
    # Progress: the thread's status shows the steps, and the acknowledgement is not made a
    # second progress line (tests/e2e/test_agent_platform.py has the fallbacks).
    status = await app.slack.wait_for_call(
        "assistant.threads.setStatus",
        match=lambda a: any("Step" in m for m in a.get("loading_messages") or []),
        timeout=10,
    )
    assert status.args["thread_ts"] == thread_ts
    await wait_finished(app, thread_ts)
    ack_updates = [c for c in app.slack.calls("chat.update") if c.args["ts"] == ack.response["ts"]]
    assert not any("▰" in str(c.args) or "▱" in str(c.args) for c in ack_updates)
    (create,) = app.origami.requests("POST", "/agents")
    assert create.body["prompt"] == "find 20 seed-stage SaaS founders in Austin"
    everything = thread_text(app, thread_ts)
    assert "Found *20* founders." in everything  # Markdown bold became mrkdwn bold
    assert "&lt;!channel&gt;" in everything and "&amp; more" in everything
    assert "Austin SaaS founders" in everything
    # A card per table, which says what this run did; enrichment told in leads.
    assert "20 leads · 14 qualified" in everything
    assert "New table · 120 credits used" in everything
    assert "3 leads are still being enriched" in everything
    [card] = [
        b for m in bot_replies(app, thread_ts) for b in m.get("blocks") or [] if b["type"] == "card"
    ]
    assert [(e["text"]["text"], e["accessibility_label"]) for e in card["actions"]] == [
        ("Open", "Open Austin SaaS founders in Origami"),
        ("Share", "Share Austin SaaS founders to the channel"),
        ("CSV", "Export Austin SaaS founders as a CSV file"),
    ]
    assert "Find 20 more like these" in everything
    assert app.slack.pings() == []
    # Every message carries a plain-text fallback.
    assert all(m.get("text") for m in bot_replies(app, thread_ts))


async def test_reply_in_thread_is_a_follow_up_run(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=1), RunScript(polls=1, text="Dallas too: 12 more."))
    thread_ts = await mention(app, "find founders in Austin")
    await wait_finished(app, thread_ts)
    await reply(app, thread_ts, "now do Dallas")
    await wait_finished(app, thread_ts, 2)
    (follow,) = follow_ups(app)
    agent_id = next(iter(app.origami.agents))
    assert follow.path == f"/agents/{agent_id}/runs"
    assert follow.body["prompt"] == "now do Dallas"
    assert "Dallas too: 12 more." in thread_text(app, thread_ts)
    assert len(app.origami.agents) == 1


async def test_a_mention_inside_a_thread_reaches_the_app_twice_and_is_handled_once(
    app: AppProcess,
) -> None:
    app.origami.script(RunScript(polls=1), RunScript(polls=1))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    ts = payloads.new_ts()
    text = f"<@{payloads.BOT_USER_ID}> and in Houston"
    message = payloads.thread_reply(text, thread_ts=thread_ts, ts=ts)
    mention_event = payloads.app_mention(text, thread_ts=thread_ts, ts=ts)
    assert (await app.post_event(message)).status_code == 200
    assert (await app.post_event(mention_event)).status_code == 200
    await wait_finished(app, thread_ts, 2)
    (follow,) = follow_ups(app)
    assert follow.body["prompt"] == "and in Houston"


async def test_question_buttons_answer_once(app: AppProcess) -> None:
    app.origami.script(
        RunScript(
            polls=1,
            status="needs_input",
            pending_questions=[single_choice("Which stage?", ["Pre-seed", "Seed", "Series A"])],
        ),
        RunScript(polls=1),
    )
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    questions = find_message(app, thread_ts, "answer:0:1")
    assert "Which stage?" in texts_of(questions)
    assert "Or something else" in texts_of(questions)
    await click(app, thread_ts, "answer:0:1", user="U0BOB")
    await app.slack.wait_for(lambda s: len(follow_ups(app)) == 1, timeout=5)
    assert follow_ups(app)[0].body["prompt"] == "Seed"
    # The question message now says who answered what, and has no buttons left.
    updated = await app.slack.wait_for(
        lambda s: (m := s.message(CHANNEL, questions["ts"])) and "answered" in texts_of(m) and m,
        timeout=5,
    )
    assert "<@U0BOB>" in texts_of(updated) and "Seed" in texts_of(updated)
    assert not [b for b in updated["blocks"] if b.get("type") == "actions"]
    # A second click, from the old message, by someone else: nothing sent, a private note.
    stale = payloads.click(questions, "answer:0:0", channel=CHANNEL, user="U0CAROL")
    assert (await app.post_interactive(stale)).status_code == 200
    await app.slack.wait_for(lambda s: s.ephemerals(user="U0CAROL"), timeout=5)
    await wait_finished(app, thread_ts, 2)
    assert len(follow_ups(app)) == 1


async def test_freeform_answer_opens_a_modal_and_sends_what_was_typed(app: AppProcess) -> None:
    app.origami.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[single_choice("Which city?", ["Austin", "Dallas"])],
        ),
        RunScript(polls=1),
    )
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    await click(app, thread_ts, "answer_other:0", trigger_id=app.slack.issue_trigger_id())
    await app.slack.wait_for(lambda s: s.views("freeform_answer"), timeout=3)
    (view,) = app.slack.views("freeform_answer")
    assert "Which city?" in texts_of(view)
    # An empty answer is refused inside the modal, under the field.
    empty = payloads.view_submission(
        {"answer": {"answer_text": payloads.input_value("  ")}}, view=view
    )
    refused = await app.post_interactive(empty)
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"answer": refused.json()["errors"]["answer"]},
    }
    assert follow_ups(app) == []
    typed = payloads.view_submission(
        {"answer": {"answer_text": payloads.input_value("San Antonio, and only B2B")}}, view=view
    )
    accepted = await app.post_interactive(typed)
    assert accepted.status_code == 200 and not accepted.content
    await app.slack.wait_for(lambda s: len(follow_ups(app)) == 1, timeout=5)
    assert follow_ups(app)[0].body["prompt"] == "San Antonio, and only B2B"


async def test_next_action_click_sends_its_label_once(app: AppProcess) -> None:
    app.origami.script(
        RunScript(
            polls=0,
            next_actions=[
                next_action("Find 20 more", "find_more_leads"),
                next_action("Draft intro emails"),
            ],
        ),
        RunScript(polls=1),
    )
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    await click(app, thread_ts, "next_action:1")
    await app.slack.wait_for(lambda s: len(follow_ups(app)) == 1, timeout=5)
    assert follow_ups(app)[0].body["prompt"] == "Draft intro emails"
    # The clicked message lost its buttons: nobody can send a next step twice.
    clicked = [m for m in bot_replies(app, thread_ts) if "Draft intro emails" in texts_of(m)]
    assert all("next_action:" not in str(m.get("blocks")) for m in clicked)
    assert any("chose" in texts_of(m) for m in clicked)
    await wait_finished(app, thread_ts, 2)
    assert len(follow_ups(app)) == 1


async def test_continue_after_step_cap_and_retry_after_error(app: AppProcess) -> None:
    app.origami.script(
        RunScript(polls=0, status="step_cap_hit"),
        RunScript(polls=0, status="errored"),
        RunScript(polls=0),
    )
    thread_ts = await mention(app, "find founders in Austin")
    await wait_finished(app, thread_ts)
    assert "used all 50 steps" in thread_text(app, thread_ts)
    await click(app, thread_ts, "continue_run")
    await wait_finished(app, thread_ts, 2)
    assert follow_ups(app)[0].body["prompt"] == "Please continue where you left off."
    assert "couldn't finish" in thread_text(app, thread_ts)
    await click(app, thread_ts, "retry_run")
    await wait_finished(app, thread_ts, 3)
    # Retry resends the prompt of the run that failed.
    assert follow_ups(app)[1].body["prompt"] == "Please continue where you left off."
    assert len(follow_ups(app)) == 2


async def test_stop_cancels_the_run_and_shows_what_was_built(app: AppProcess) -> None:
    # A workspace without Slack's agent sessions: the run shows our own Stop button.
    app.slack.agents.declared = False
    app.origami.script(RunScript(polls=None, tables=[make_table("Partial list", 4)]))
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(
        lambda s: any("stop_run" in str(m.get("blocks")) for m in bot_replies(app, thread_ts)),
        timeout=10,
    )
    await click(app, thread_ts, "stop_run", user="U0BOB")
    await wait_finished(app, thread_ts)
    (cancel,) = [r for r in app.origami.requests("POST") if r.path.endswith("/cancel")]
    assert cancel.headers["idempotency-key"].startswith("stop:")
    text = thread_text(app, thread_ts)
    assert "Stopped" in text and "Partial list" in text


async def test_share_to_channel_and_export_csv(app: AppProcess) -> None:
    table = make_table("Austin founders", 3)
    app.origami.script(RunScript(polls=0, tables=[table]))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    await click(app, thread_ts, "share_table", user="U0BOB")
    shared = await app.slack.wait_for_call(
        "chat.postMessage",
        match=lambda a: "thread_ts" not in a and "Austin founders" in str(a),
        timeout=5,
    )
    assert "<@U0BOB>" in texts_of(shared.args) and "fake.slack" in texts_of(shared.args)
    # Sharing the same table again adds nothing; it says so privately.
    await click(app, thread_ts, "share_table", user="U0CAROL")
    await app.slack.wait_for(lambda s: s.ephemerals(user="U0CAROL"), timeout=5)
    top_level = [
        m for m in app.slack.messages(CHANNEL) if m.get("bot_id") and not m.get("thread_ts")
    ]
    assert len(top_level) == 1
    await click(app, thread_ts, "export_csv")
    await app.slack.wait_for(lambda s: [f for f in s.files() if f.completed], timeout=5)
    (csv_file,) = app.slack.files()
    assert csv_file.thread_ts == thread_ts
    content = csv_file.content.decode()
    assert content.splitlines()[0].startswith("Name")
    assert len(content.strip().splitlines()) == 1 + 3


async def test_direct_messages_start_and_continue_a_conversation(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0), RunScript(polls=0))
    event = payloads.im_message("find 5 founders in Boston")
    assert (await app.post_event(event)).status_code == 200
    dm, ts = payloads.DM_CHANNEL_ID, event["ts"]
    await wait_finished(app, ts, channel=dm)
    reply_event = payloads.im_message("and in Cambridge", thread_ts=ts)
    assert (await app.post_event(reply_event)).status_code == 200
    await wait_finished(app, ts, 2, channel=dm)
    assert app.origami.requests("POST", "/agents")[0].body["prompt"] == "find 5 founders in Boston"
    assert follow_ups(app)[0].body["prompt"] == "and in Cambridge"


async def test_ignored_messages_reach_origami_never(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    before = len(app.origami.requests())
    sent = [
        payloads.bot_message("a bot talking", thread_ts=thread_ts),
        payloads.bot_message("this app itself", thread_ts=thread_ts, user=payloads.BOT_USER_ID),
        payloads.message_changed(
            payloads.thread_reply("old", thread_ts=thread_ts), new_text="edited"
        ),
        payloads.message_deleted(payloads.thread_reply("gone", thread_ts=thread_ts)),
        payloads.channel_join(),
        payloads.message_event("top-level chatter without a mention"),
        payloads.thread_reply("a reply in a thread with no agent", thread_ts=payloads.new_ts()),
    ]
    for event in sent:
        assert (await app.post_event(event)).status_code == 200
    # A last real reply proves the app kept working and the ones above were skipped.
    app.origami.script(RunScript(polls=0))
    await reply(app, thread_ts, "one more")
    await wait_finished(app, thread_ts, 2)
    new = app.origami.requests()[before:]
    assert [r.body["prompt"] for r in new if r.method == "POST"] == ["one more"]


async def test_a_file_whose_url_is_not_slacks_is_not_read_but_the_text_is_sent(
    app: AppProcess,
) -> None:
    # Files that are Slack's are read and sent (tests/e2e/test_files.py); the bot token
    # goes to Slack's own hosts only, and this URL is on none of the app's.
    app.origami.script(RunScript(polls=0), RunScript(polls=0))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    event = payloads.thread_reply(
        "use this list", thread_ts=thread_ts, files=[payloads.file_object()]
    )
    assert (await app.post_event(event)).status_code == 200
    await wait_finished(app, thread_ts, 2)
    assert follow_ups(app)[0].body["prompt"] == "use this list"
    assert app.slack.downloads() == [] and app.origami.uploads() == []
    notes = "\n".join(texts_of(e) for e in app.slack.ephemerals())
    assert "`leads.csv`: I can't open it" in notes


async def test_empty_mention_gets_a_usage_hint(app: AppProcess) -> None:
    thread_ts = await mention(app, "")
    await app.slack.wait_for(lambda s: bot_replies(app, thread_ts), timeout=5)
    assert "@Origami" in thread_text(app, thread_ts)
    assert app.origami.requests() == []


async def test_origami_errors_are_explained_in_the_thread(app: AppProcess) -> None:
    app.origami.billing_error("INSUFFICIENT_CREDITS")
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(lambda s: "credits" in thread_text(app, thread_ts).lower(), timeout=5)
    text = thread_text(app, thread_ts)
    assert "https://origami.chat/settings/billing?source=api" in str(bot_replies(app, thread_ts))
    assert "Traceback" not in text and "INSUFFICIENT" not in text
    app.origami.billing_error(None)
    app.origami.revoke_key()
    other = await mention(app, "find more founders")
    await app.slack.wait_for(lambda s: "ORIGAMI_API_KEY" in thread_text(app, other), timeout=5)


async def test_slack_retries_of_one_event_create_one_agent(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0))
    event = payloads.app_mention("find founders")
    event_id = payloads.new_event_id()
    for retry in (None, 1, 2, 3):
        response = await app.post_event(event, event_id=event_id, retry_num=retry)
        assert response.status_code == 200
    await wait_finished(app, str(event["ts"]))
    assert len(app.origami.requests("POST", "/agents")) == 1
    acks = [
        c for c in app.slack.calls("chat.postMessage") if c.args.get("thread_ts") == event["ts"]
    ]
    assert len([c for c in acks if "On it" in str(c.args.get("text"))]) == 1


async def test_bad_and_stale_signatures_are_refused(app: AppProcess) -> None:
    body = payloads.to_event_body(payloads.events_api(payloads.app_mention("find founders")))
    forged = signed_headers("not-the-secret", body)
    r1 = await app.http.post(f"{app.url}/slack/events", content=body, headers=forged)
    stale = signed_headers(SIGNING_SECRET, body, timestamp=stale_timestamp())
    r2 = await app.http.post(f"{app.url}/slack/events", content=body, headers=stale)
    assert (r1.status_code, r2.status_code) == (401, 401)
    assert app.origami.requests() == []


async def test_probes(app: AppProcess) -> None:
    # Liveness: this process answers, and says what it runs.
    response = await app.http.get(f"{app.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "role": app.role or "all"}
    # Readiness: Redis answers and a worker (in this process, or the one beside the web)
    # beats; its first heartbeat may land a moment after the process answers.
    ready = await wait_readyz(app, 200)
    assert ready == {"ok": True, "role": app.role or "all", "redis": "up", "workers": 1}


async def test_the_acknowledgement_does_not_wait_for_origami(app: AppProcess) -> None:
    app.origami.delay_next(1, 3.0, path_prefix="/agents", method="POST", after_execute=False)
    app.origami.script(RunScript(polls=0))
    thread_ts = await mention(app, "find founders")
    ack = await app.slack.wait_for_call(
        "chat.postMessage", match=lambda a: a.get("thread_ts") == thread_ts, timeout=2
    )
    # Posted while Origami was still holding the create request.
    assert app.origami.requests("POST", "/agents") == [] or all(
        r.time > ack.timestamp for r in app.origami.requests("POST", "/agents")
    )
    await wait_finished(app, thread_ts)


async def test_slack_rate_limits_are_waited_out_not_lost(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0, text="Rate limited but delivered"))
    app.slack.rate_limit("chat.postMessage", times=2, retry_after=1)
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    assert "Rate limited but delivered" in thread_text(app, thread_ts)
    assert [c.status for c in app.slack.calls("chat.postMessage")][:3] == [429, 429, 200]


async def test_origami_unreachable_keeps_the_prompt_and_sends_it_later(app: AppProcess) -> None:
    # Enough failures to outlast the client's quick retries, then Origami is back.
    app.origami.fail_next(4, status=503, path_prefix="/agents", method="POST")
    app.origami.script(RunScript(polls=0, text="Made it after all"))
    thread_ts = await mention(app, "find founders")
    await app.slack.wait_for(lambda s: "*not* sent yet" in thread_text(app, thread_ts), timeout=20)
    await wait_finished(app, thread_ts, count=1)
    assert "Made it after all" in thread_text(app, thread_ts)
    # Every try carried the same Idempotency-Key: a try that got through can't be doubled.
    creates = app.origami.requests("POST", "/agents")
    assert len({r.headers["idempotency-key"] for r in creates}) == 1
    assert [r.status for r in creates] == [503, 503, 503, 503, 202]
    assert len(app.origami.agents) == 1
