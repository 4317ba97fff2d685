"""A schedule whose channel the app is not in, black box: its runs wait, quietly (a warning
at each try, no traceback, no search of a channel Slack would refuse to show), its maker
is told once in the app's DM, and each run is posted once the app is invited."""

from __future__ import annotations

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import texts_of, wait_finished
from tests.e2e.test_schedules import (  # noqa: F401 - the fixture
    OTHER_CHANNEL,
    finished_result,
    fire,
    open_modal,
    run_threads,
    sched_app,
    submit,
    values,
)
from tests.fakes import payloads

PROMPT = "find founders in Austin"


async def test_runs_wait_quietly_for_a_channel_the_app_is_not_in(
    sched_app: AppProcess,  # noqa: F811
) -> None:
    app, slack, origami = sched_app, sched_app.slack, sched_app.origami
    thread_ts = await finished_result(app, PROMPT)
    slack.leave(OTHER_CHANNEL)
    view = await open_modal(app, thread_ts)
    assert await submit(app, view, values(PROMPT, "mondays", OTHER_CHANNEL)) is None
    await origami.wait_for(lambda: len(origami.schedules.live()) == 1, timeout=5)
    schedule_id = origami.schedules.live()[0].id
    await fire(app, schedule_id, "Monday's founders")
    # Tried at each read, and refused each time.
    refused = len(slack.calls("chat.postMessage"))
    await slack.wait_for(lambda s: len(s.calls("chat.postMessage")) >= refused + 3, timeout=10)
    assert run_threads(app, OTHER_CHANNEL) == []
    assert slack.calls("conversations.history") == []
    # Its maker is told once, in the app's DM.
    (told,) = slack.messages(slack.dm_of(payloads.USER_ID))
    assert "is waiting" in texts_of(told) and f"<#{OTHER_CHANNEL}>" in texts_of(told)
    # Invited: posted once, and it runs its course there.
    slack.join(OTHER_CHANNEL)
    await slack.wait_for(lambda s: len(run_threads(app, OTHER_CHANNEL)) == 1, timeout=10)
    await wait_finished(app, run_threads(app, OTHER_CHANNEL)[0]["ts"], channel=OTHER_CHANNEL)
    assert len(run_threads(app, OTHER_CHANNEL)) == 1
