"""``/origami`` as a person types it: a signed slash command through the real Bolt path,
answered privately (in the ack, or through the fake's response_url), and ``new`` starting a
conversation in the channel like a mention."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import (
    CHANNEL,
    follow_ups,
    mention,
    reply,
    texts_of,
    thread_text,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import RunScript
from tests.fakes.slack import message_errors


async def command(app: AppProcess, text: str, **kwargs: Any) -> dict[str, Any]:
    """Type ``/origami <text>``; the ack's JSON body (empty when it carries no reply)."""
    payload = payloads.slash_command(
        "/origami", text, response_url=app.slack.response_url(), **kwargs
    )
    response = await app.post_body(payloads.to_command_body(payload))
    assert response.status_code == 200
    return dict(response.json()) if response.content else {}


def private_text(answer: dict[str, Any]) -> str:
    assert answer.get("response_type") == "ephemeral", answer
    # Slack would take it as it is: blocks and text within its limits.
    assert message_errors(answer.get("blocks"), answer.get("text")) == []
    return texts_of(answer)


def openers(app: AppProcess) -> list[dict[str, Any]]:
    """Top-level messages the app posted in the channel."""
    return [m for m in app.slack.messages(CHANNEL) if m.get("bot_id") and not m.get("thread_ts")]


async def test_origami_help_and_an_unknown_verb_answer_privately(app: AppProcess) -> None:
    for text in ("", "help", "HELP"):
        shown = private_text(await command(app, text))
        assert "/origami new" in shown and "/origami list" in shown
    shown = private_text(await command(app, "frobnicate <!channel>"))
    assert "I don't know `/origami frobnicate`" in shown
    assert "/origami new" in shown
    assert app.origami.requests("POST") == []
    assert app.slack.pings() == []


async def test_origami_schedules_with_none_says_how_to_make_one(app: AppProcess) -> None:
    shown = private_text(await command(app, "schedules"))
    assert "No schedules yet" in shown and "*Schedule* under a result" in shown
    # Nothing to read: Origami is not asked (tests/e2e/test_schedules.py lists some).
    assert app.origami.requests() == []


async def test_origami_new_without_a_prompt_says_what_to_type(app: AppProcess) -> None:
    shown = private_text(await command(app, "new   "))
    assert "Tell me what to look for after `new`" in shown
    assert openers(app) == [] and app.origami.requests("POST") == []


async def test_origami_new_starts_a_conversation_that_continues_and_is_listed(
    app: AppProcess,
) -> None:
    app.origami.script(RunScript(polls=1, text="Found 20 founders"))
    assert await command(app, "new find 20 seed-stage SaaS founders in Austin") == {}
    await app.slack.wait_for(lambda s: len(openers(app)) == 1, timeout=10)
    (opener,) = openers(app)
    assert "find 20 seed-stage SaaS founders in Austin" in texts_of(opener)
    assert "alice" in texts_of(opener)  # who typed it, named without a ping
    thread_ts = str(opener["ts"])
    await wait_finished(app, thread_ts)
    (create,) = app.origami.requests("POST", "/agents")
    assert create.body["prompt"] == "find 20 seed-stage SaaS founders in Austin"
    assert "Found 20 founders" in thread_text(app, thread_ts)
    # A reply in its thread is the agent's next run, as in any conversation.
    app.origami.script(RunScript(polls=0, text="Here are 20 more"))
    await reply(app, thread_ts, "20 more please")
    await wait_finished(app, thread_ts, count=2)
    assert [r.body["prompt"] for r in follow_ups(app)] == ["20 more please"]
    # The person who started it finds it in their list, linked; someone else does not.
    listed = private_text(await command(app, "list"))
    permalink = thread_ts.replace(".", "")
    link = f"https://{payloads.TEAM_DOMAIN}.slack.com/archives/{CHANNEL}/p{permalink}"
    assert f"<{link}|find 20 seed-stage SaaS founders in Austin>" in listed
    other = private_text(await command(app, "list", user="U0OTHER", user_name="bob"))
    assert "You haven't started any conversation lately" in other
    assert app.slack.pings() == []


async def test_a_mention_is_listed_too_newest_first(app: AppProcess) -> None:
    app.origami.default_script = RunScript(polls=0, text="ok")
    first = await mention(app, "find founders in Austin")
    await wait_finished(app, first)
    await command(app, "new find founders in Denver")
    await app.slack.wait_for(lambda s: len(openers(app)) == 1, timeout=10)
    await wait_finished(app, str(openers(app)[0]["ts"]))
    listed = private_text(await command(app, "list"))
    assert listed.index("Denver") < listed.index("Austin")


async def test_origami_new_where_the_app_is_not_invited_says_so(app: AppProcess) -> None:
    app.slack.leave(CHANNEL)
    assert await command(app, "new find founders") == {}
    await app.slack.wait_for(lambda s: len(s.responses()) == 1, timeout=10)
    (answer,) = app.slack.responses()
    assert "Invite me first" in private_text(answer)
    assert app.origami.requests("POST") == []
    assert openers(app) == []
