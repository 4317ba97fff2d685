"""App Home's summaries and the settings' gate, on the use cases wired as in the app
(real Redis, the fake Origami over HTTP, a recording presenter): how a conversation's
status follows its runs, and that a message the settings leave out is never kept."""

from __future__ import annotations

import json

from bot.conversations.gate import Gate
from bot.domain import ThreadRef
from bot.slack.blocks.home_settings import build_settings_modal, build_settings_section
from bot.slack.settings_form import parse_settings
from bot.stores import Stores, keys
from bot.summaries import ConversationStatus, TableCount
from bot.workspace_settings import Audience, NotAllowed, WorkspaceSettings
from tests.fakes.origami import RunScript, make_table
from tests.fakes.slack import view_errors
from tests.integration.harness import THREAD, Harness, prompt


async def test_the_status_follows_the_runs_and_a_lost_run_keeps_the_tables(h: Harness) -> None:
    home = h.core.conversations.home
    h.fake.script(
        RunScript(polls=1, text="Found them", tables=[make_table("Austin founders", 20)]),
        RunScript(polls=None),
    )
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    (working,) = await home.recent("T1", "U1")
    assert working.summary is not None and working.summary.status is ConversationStatus.WORKING
    await h.drive(lambda: bool(h.presenter.of("result")))
    (answered,) = await home.recent("T1", "U1")
    assert answered.summary is not None
    assert answered.summary.status is ConversationStatus.ANSWERED
    assert answered.summary.tables == (TableCount("Austin founders", 20),)
    assert answered.started.title == "find founders"

    # The next run is lost in Origami: failed, and the tables stay the conversation's.
    await h.reply(THREAD, prompt("and Dallas", "C1:2.0"))
    await h.drive(lambda: len(h.fake.requests("POST")) == 2)
    h.fake.agents.clear()
    h.fake.runs.clear()
    await h.drive(lambda: bool(h.presenter.of("problem")))
    (lost,) = await home.recent("T1", "U1")
    assert lost.summary is not None and lost.summary.status is ConversationStatus.FAILED
    assert lost.summary.tables == (TableCount("Austin founders", 20),)
    assert lost.summary.at >= answered.summary.at
    # Someone else's list is their own.
    assert await home.recent("T1", "U2") == []


class Members:
    def __init__(self, members: dict[str, frozenset[str] | None]) -> None:
        self.known = members
        self.asked: list[str] = []

    async def members(self, team: str, group_id: str) -> frozenset[str] | None:
        self.asked.append(group_id)
        return self.known.get(group_id)


async def test_a_message_left_out_is_never_kept_and_its_author_is_told(h: Harness) -> None:
    intake = h.core.conversations.intake
    await h.stores.settings.save("T1", WorkspaceSettings(channels=("C9",)))
    await intake.take(THREAD, prompt("find founders", "C1:1.0"), may_start=True, event="m1")
    await intake.take(THREAD, prompt("find founders", "C1:1.0"), may_start=True, event="m1")
    (note,) = h.presenter.of("not_allowed")
    assert note.data == {"user": "U1", "why": NotAllowed.CHANNEL}
    # A reply in a thread that is not ours: no note.
    other = ThreadRef("T1", "C1", "1700000000.000900")
    await intake.take(other, prompt("hello", "C1:3.0"), may_start=False, event="m2")
    assert len(h.presenter.of("not_allowed")) == 1
    await h.core.watcher.tick()
    assert await h.stores.threads.get(THREAD) is None
    assert await h.stores.schedule.count() == 0 and h.fake.requests() == []
    # Another workspace with the same channel ids is not concerned.
    h.fake.script(RunScript(polls=0, text="done"))
    await h.start(ThreadRef("T2", "C1", THREAD.thread_ts), prompt("find founders", "C1:1.0"))
    assert len(h.fake.requests("POST", "/agents")) == 1


async def test_the_gate_asks_slack_for_groups_only_when_limited_and_keeps_the_answer(
    stores: Stores,
) -> None:
    members = Members({"S1": frozenset({"U0IN"}), "S2": None})
    gate = Gate(stores, members)
    assert await gate.refusal("T1", "C1", "U0ANY") is None
    assert members.asked == []
    await stores.settings.save(
        "T1", WorkspaceSettings(audience=Audience.GROUPS, groups=("S1", "S2"))
    )
    assert await gate.refusal("T1", "C1", "U0IN") is None  # in S1: S2's silence is moot
    assert await gate.refusal("T1", "C1", "U0OUT") is NotAllowed.UNCHECKED
    await stores.settings.save("T1", WorkspaceSettings(audience=Audience.GROUPS, groups=("S1",)))
    assert await gate.refusal("T1", "D1", "U0OUT") is NotAllowed.GROUP
    # Each group asked once, then kept.
    assert sorted(members.asked) == ["S1", "S2"]


async def test_a_channel_left_out_is_refused_before_slack_is_asked_for_any_group(
    stores: Stores,
) -> None:
    members = Members({"S1": frozenset({"U0IN"}), "S2": frozenset({"U0TWO"})})
    gate = Gate(stores, members)
    limited = WorkspaceSettings(channels=("C9",), audience=Audience.GROUPS, groups=("S1", "S2"))
    await stores.settings.save("T1", limited)
    assert await gate.refusal("T1", "C1", "U0IN") is NotAllowed.CHANNEL
    assert members.asked == []
    assert await gate.refusal("T1", "C9", "U0TWO") is None  # in the second group
    assert await gate.refusal("T1", "C9", "U0OUT") is NotAllowed.GROUP


async def _store_raw(stores: Stores, team: str, raw: str) -> None:
    await stores.settings.redis.set(keys.workspace_settings(team), raw)
    stores.settings.forget(team)


async def test_settings_another_version_wrote_keep_their_limits(stores: Stores) -> None:
    """A rolling deploy: a newer process stored fields this one does not know."""
    record = {
        "channels": ["C9"],
        "audience": "groups",
        "groups": ["S1"],
        "prompts": [{"title": "Austin", "message": "find founders", "icon": "star"}],
        "updated_by": "U0ADMIN",
        "updated_at": 5.0,
        "answer_in_threads_only": True,
        "unreadable": True,  # never a stored field: not taken from a record either
    }
    await _store_raw(stores, "T1", json.dumps(record))
    settings = await stores.settings.get("T1")
    assert settings.channels == ("C9",) and settings.groups == ("S1",)
    assert settings.audience is Audience.GROUPS and not settings.unreadable
    assert settings.prompts[0].title == "Austin"
    gate = Gate(stores, Members({"S1": frozenset({"U0IN"})}))
    assert await gate.refusal("T1", "C1", "U0IN") is NotAllowed.CHANNEL
    assert await gate.refusal("T1", "C9", "U0OUT") is NotAllowed.GROUP


async def test_settings_that_do_not_read_refuse_everyone_until_an_admin_saves_them(
    stores: Stores,
) -> None:
    members = Members({"S1": frozenset({"U0IN"})})
    gate = Gate(stores, members)
    for raw in ('{"audience": "groups", "groups": []}', "not json", '["C9"]'):
        await _store_raw(stores, "T1", raw)
        assert await gate.refusal("T1", "D1", "U0IN") is NotAllowed.UNREADABLE
        assert await gate.refusal("T1", "C1", "U0IN") is NotAllowed.UNREADABLE
    assert members.asked == []
    # The admin still sees why and can save them again: a view Slack takes, and after
    # the save everyone is answered as the settings now say.
    current = await stores.settings.get("T1")
    assert "couldn't be read" in str(build_settings_section(current, may_manage=True))
    modal = build_settings_modal(current, None)
    assert view_errors(modal) == [] and "couldn't be read" in str(modal["blocks"])
    submitted = {"state": {"values": {}}}
    repaired = parse_settings(submitted, "U0ADMIN", 1.0, current)
    assert isinstance(repaired, WorkspaceSettings) and not repaired.unreadable
    await stores.settings.save("T1", repaired)
    stores.settings.forget("T1")
    assert await gate.refusal("T1", "C1", "U0OUT") is None
