"""App Home as a person opens it, black box (``python -m bot``, one workspace, both ways
to deploy): their recent conversations with where each stands, the tables each made with
their lead counts and the thread's link; the Origami account's plan and credits, and a
plain line when Origami does not answer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import CHANNEL, mention, texts_of, wait_finished
from tests.fakes import payloads
from tests.fakes.origami import RunScript, make_table, single_choice


async def open_home(app: AppProcess, user: str = payloads.USER_ID) -> dict[str, Any]:
    before = app.slack.home_view(user)
    event = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    assert (await app.post_event(event)).status_code == 200
    view = await app.slack.wait_for(
        lambda s: (v := s.home_view(user)) is not None and v != before and v, timeout=15
    )
    # Slack took it as it is (the fake checks views.publish's limits; the fixture asserts
    # it refused nothing).
    return dict(view)


def conversation_blocks(view: dict[str, Any]) -> dict[str, str]:
    """The listed conversations' text, by block id, in the order shown."""
    return {
        str(b["block_id"]): texts_of(b)
        for b in view["blocks"]
        if str(b.get("block_id", "")).startswith("recent:")
    }


async def test_home_lists_recent_conversations_with_status_tables_and_links(
    app: AppProcess,
) -> None:
    origami = app.origami
    question = single_choice("Which stage?", ["Seed", "Series A"])
    origami.script(
        RunScript(polls=0, text="Found them", tables=[make_table("Austin founders", 20)]),
        RunScript(polls=0, status="needs_input", pending_questions=[question]),
        RunScript(polls=None, text="never finished here"),
    )
    answered = await mention(app, "find founders in Austin")
    await wait_finished(app, answered)
    asked = await mention(app, "find investors in Boston")
    await wait_finished(app, asked)
    working = await mention(app, "find CTOs in Denver")
    await origami.wait_for(lambda: len(origami.requests("POST", "/agents")) == 3, timeout=10)

    view = await open_home(app)
    listed = list(conversation_blocks(view).values())
    assert len(listed) == 3
    # Newest first, each with its link, its status, its tables and its last activity.
    denver, boston, austin = listed
    assert "find CTOs in Denver" in denver and "working" in denver
    assert "find investors in Boston" in boston and "needs your answer" in boston
    assert "find founders in Austin" in austin and "answered" in austin
    assert "Austin founders (20 leads)" in austin
    assert "no tables yet" in denver
    for text in listed:
        assert "last activity" in text
    link = f"https://{payloads.TEAM_DOMAIN}.slack.com/archives/{CHANNEL}/p"
    assert f"{link}{answered.replace('.', '')}|" in austin
    assert f"{link}{working.replace('.', '')}|" in denver
    # The account, read under the key: its plan and credits.
    shown = texts_of({"blocks": view["blocks"]})
    assert "Pro" in shown and "5,000" in shown and "credits left" in shown

    # The running one is stopped: the next opening says so.
    (run,) = origami.active_runs()
    origami.finish(run.id, "cancelled")
    await wait_finished(app, working)
    view = await open_home(app)
    denver = next(iter(conversation_blocks(view).values()))
    assert "find CTOs in Denver" in denver and "stopped" in denver
    assert "working" not in denver


async def test_home_says_plainly_when_origami_does_not_answer(app: AppProcess) -> None:
    app.origami.fail_next(50, status=503, path_prefix="/account")
    view = await open_home(app)
    shown = texts_of({"blocks": view["blocks"]})
    assert "Origami didn't answer just now" in shown
    assert "You haven't started a conversation lately" in shown
    assert app.origami.requests("POST") == []
