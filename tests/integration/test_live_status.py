"""What a thread shows while its run works, over real HTTP (fake Origami) and a real
Redis, with a recording agent surface: one progress indicator a run, and a workspace's
refusal learnt once."""

from __future__ import annotations

from bot.agent_platform import AgentFeature, SessionStatus
from tests.fakes.origami import RunScript
from tests.integration.harness import THREAD, Harness, prompt


async def test_where_the_status_shows_the_progress_line_is_not_updated(h: Harness) -> None:
    h.surface.allowed = frozenset(AgentFeature)
    h.fake.script(RunScript(polls=3))
    await h.start(THREAD, prompt("find 20 founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("progress_final")))
    statuses = [a.data["progress"] for a in h.surface.of("status")]
    # "Starting" first, then each running poll's steps.
    assert statuses[0] is None and len(statuses) == 4
    assert [p.steps_completed for p in statuses[1:]] == sorted(
        p.steps_completed for p in statuses[1:]
    )
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
