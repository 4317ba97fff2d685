"""Schedules held to the workspace's settings, black box: a schedule starts agents on its
own, so a person the settings leave out cannot make one (the Schedule button says why in
the intake's words, and a forged or stale submission is refused), nor can anyone make one
that posts in a channel the admins left out; nothing reaches Origami."""

from __future__ import annotations

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import CHANNEL, click, texts_of
from tests.e2e.test_schedules import (  # noqa: F401 - the fixture
    OTHER_CHANNEL,
    finished_result,
    open_modal,
    sched_app,
    submit,
    values,
)
from tests.e2e.test_workspace_settings import ADMIN, change_settings, saved, values_of
from tests.fakes import payloads

MEMBER = "U0IN"
PROMPT = "find founders in Austin"


async def test_a_schedule_is_refused_to_a_person_or_a_channel_the_settings_leave_out(
    sched_app: AppProcess,  # noqa: F811
) -> None:
    app, slack = sched_app, sched_app.slack
    slack.add_user(ADMIN, is_admin=True)
    slack.add_usergroup("S0SALES", [MEMBER, ADMIN], name="Sales")
    thread_ts = await finished_result(app, PROMPT)
    stale = await open_modal(app, thread_ts)  # opened while everyone was allowed
    opened = len(slack.views("schedule"))
    limited = values_of([CHANNEL], audience="groups", groups=["S0SALES"])
    assert saved(await change_settings(app, ADMIN, limited))

    # The modal opened before: its submission by someone in none of the groups is refused
    # in place of the modal, in the intake's words.
    ack = await submit(app, stale, values(PROMPT, "mondays", CHANNEL))
    assert ack["response_action"] == "update"
    assert "you're not in one of them" in texts_of({"blocks": ack["view"]["blocks"]})
    # The button now opens no modal for them: a private note in the thread instead.
    await open_modal_refused(app, thread_ts)
    assert len(slack.views("schedule")) == opened
    # A member of the group may, but not into a channel the admins left out: said under
    # the channel picked.
    ack = await submit(app, stale, values(PROMPT, "mondays", OTHER_CHANNEL), user=MEMBER)
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"schedule_channel"}
    assert "I don't answer in this channel" in ack["errors"]["schedule_channel"]
    assert app.origami.requests("POST", "/scheduled-agents") == []
    assert app.origami.schedules.live() == []
    # Into an allowed channel: made.
    assert await submit(app, stale, values(PROMPT, "mondays", CHANNEL), user=MEMBER) is None
    await app.origami.wait_for(lambda: len(app.origami.schedules.live()) == 1, timeout=5)


async def open_modal_refused(app: AppProcess, thread_ts: str) -> None:
    """Click Schedule as the default user; wait for the private note that refuses it."""
    await click(app, thread_ts, "schedule_run", trigger_id=app.slack.issue_trigger_id())
    notes = await app.slack.wait_for(
        lambda s: [
            e
            for e in s.ephemerals(CHANNEL, payloads.USER_ID)
            if "you're not in one of them" in texts_of(e)
        ],
        timeout=5,
    )
    assert notes[0]["thread_ts"] == thread_ts
