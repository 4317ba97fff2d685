"""App Home's Pause / Resume / Delete: who may is asked of Slack only when the person is
not the schedule's maker, and the republished tab is told what was learnt (so a click
costs at most one users.info)."""

from __future__ import annotations

from typing import Any

from bot.schedules.manage import Changed
from bot.schedules.records import Change, ScheduleRecord
from bot.slack import schedule_actions as ids
from bot.slack.listeners.schedules.home import build_handle_schedule_change

SCHEDULE = "0b7c1a52-5d0e-4d7a-9d43-1f2e3a4b5c6d"


class Records:
    def __init__(self, record: ScheduleRecord) -> None:
        self.record = record

    async def get(self, team: str, schedule_id: str) -> ScheduleRecord | None:
        ok = (team, schedule_id) == (self.record.team, self.record.schedule_id)
        return self.record if ok else None


class Stores:
    def __init__(self, record: ScheduleRecord) -> None:
        self.schedules = Records(record)


class Schedules:
    def __init__(self, record: ScheduleRecord) -> None:
        self.stores = Stores(record)
        self.changes: list[tuple[str, bool]] = []

    async def change(
        self, team: str, user_id: str, schedule_id: str, change: Change, *, admin: bool, cause: str
    ) -> Changed:
        self.changes.append((user_id, admin))
        return Changed.DONE


class Tab:
    def __init__(self, admins: set[str]) -> None:
        self.admins = admins
        self.asked: list[str] = []
        self.published: list[bool | None] = []

    async def may_manage(self, client: Any, team: str, user_id: str) -> bool:
        self.asked.append(user_id)
        return user_id in self.admins

    async def publish(
        self, client: Any, team: str, user_id: str, manage: bool | None = None
    ) -> None:
        self.published.append(manage)


async def _ack() -> None:
    return None


def _click(user: str) -> dict[str, Any]:
    return {
        "team": {"id": "T1"},
        "user": {"id": user},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": ids.PAUSE_SCHEDULE, "value": SCHEDULE, "action_ts": "1.0"}],
    }


async def test_its_maker_is_not_asked_about_and_an_admin_is_asked_once() -> None:
    record = ScheduleRecord("T1", SCHEDULE, "C1", "U0MAKER", "Weekly", "0 9 * * 1", "find")
    schedules, tab = Schedules(record), Tab({"U0ADMIN"})
    handle = build_handle_schedule_change(schedules, tab)  # type: ignore[arg-type]
    await handle(_ack, _click("U0MAKER"), client=None)
    assert tab.asked == [] and schedules.changes == [("U0MAKER", False)]
    await handle(_ack, _click("U0ADMIN"), client=None)
    assert tab.asked == ["U0ADMIN"] and schedules.changes[-1] == ("U0ADMIN", True)
    # The maker's tab asks for itself; the admin's is told.
    assert tab.published == [None, True]
