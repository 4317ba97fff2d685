"""What a thread shows while its run works, over real HTTP (fake Origami) and a real
Redis, with a recording agent surface: one progress indicator a run, and a workspace's
refusal learnt once."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.agent_platform import AgentFeature, SessionStatus
from tests.fakes.origami import RunScript
from tests.integration.harness import THREAD, Harness, prompt


async def test_where_the_status_shows_the_progress_line_is_not_updated(h: Harness) -> None:
    h.surface.allowed = frozenset(AgentFeature)
    h.fake.script(RunScript(polls=3))
    await h.start(THREAD, prompt("find 20 founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("progress_final")))
    statuses = [a.data["progress"] for a in h.surface.of("status")]
    # Each running poll's steps; none before the first poll, as the "On it" message just
    # posted says it starts.
    assert len(statuses) == 3 and all(p is not None for p in statuses)
    assert [p.steps_completed for p in statuses] == sorted(p.steps_completed for p in statuses)
    assert h.presenter.of("progress") == []
    sessions = [a.data["status"] for a in h.surface.of("session")]
    assert sessions == [SessionStatus.PROCESSING, SessionStatus.ACTIVE]
    assert h.surface.of("session")[0].data["title"] == "find 20 founders"
    assert h.surface.of("stop_button") == []


async def test_a_refusing_workspace_is_asked_once_then_gets_the_fallbacks(h: Harness) -> None:
    # The recording surface refuses both features by default.
    h.fake.script(RunScript(polls=2), RunScript(polls=2))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: len(h.presenter.of("progress_final")) == 1)
    await h.reply(THREAD, prompt("and in Dallas", "C1:2.0"))
    await h.drive(lambda: len(h.presenter.of("progress_final")) == 2)
    assert len(h.surface.of("session")) == 1 and len(h.surface.of("status")) == 1
    assert len(h.presenter.of("progress")) == 4  # every running poll, as before
    # Each run's "On it" message got our Stop button, since Slack's is not there.
    assert len(h.surface.of("stop_button")) == 2
    assert await h.stores.workspaces.refused(THREAD.team) == frozenset(AgentFeature)
    registry = h.core.sender.metrics.registry
    for feature in AgentFeature:
        name = "origami_slack_agent_feature_refusals_total"
        assert registry.get_sample_value(name, {"feature": feature.value}) == 1


def _cancels(h: Harness) -> list[Any]:
    return [r for r in h.fake.requests("POST") if r.path.endswith("/cancel")]


async def _running(h: Harness) -> None:
    h.fake.script(RunScript(polls=None))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    state = await h.thread_state()
    assert state is not None and state.busy is not None and state.busy.run_id


async def test_slacks_stop_and_the_stop_button_together_cancel_once(h: Harness) -> None:
    await _running(h)
    state = await h.thread_state()
    assert state is not None and state.busy is not None
    sessions = h.core.conversations.sessions
    await asyncio.gather(
        sessions.stopped(THREAD, "U1"),
        sessions.stopped(THREAD, "U2"),
        h.buttons.stop(THREAD, state.busy.id, "U3", "1.1"),
    )
    assert len(_cancels(h)) == 1
    said = len(h.surface.of("stopped")) + len(h.presenter.of("stopping"))
    assert said == 1


async def test_a_stop_origami_cannot_take_is_reported_not_announced(h: Harness) -> None:
    await _running(h)
    h.fake.fail_next(3, 503, method="POST", path_prefix="/agents/")
    await h.core.conversations.sessions.stopped(THREAD, "U1")
    assert h.presenter.of("problem")  # the thread hears it could not be stopped
    assert h.surface.of("stopped") == []


async def test_a_stop_with_nothing_in_flight_does_nothing(h: Harness) -> None:
    await h.core.conversations.sessions.stopped(THREAD, "U1")
    assert _cancels(h) == [] and h.surface.asked == [] and h.presenter.shown == []
