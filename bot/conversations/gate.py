"""Whether the app may answer a person where they wrote: the workspace's settings (the
channels it answers in, who may start agents), checked once per message at the intake,
before anything is kept, so a refused message reaches Origami never.

On the hot path it costs no round trip: the settings come from the process's short copy
(``SettingsStore``), and a group's members from this process's copy of Slack's answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bot.ports import GroupMembers
from bot.stores import Stores
from bot.workspace_settings import Audience, NotAllowed

# A group's members change rarely; a person added to one may wait this long, per process.
MEMBERS_KEPT_S = 300.0
# Slack did not say: asked again soon, not at every message.
MEMBERS_FAILURE_KEPT_S = 15.0
_KEPT = 10_000


class Gate:
    def __init__(
        self,
        stores: Stores,
        groups: GroupMembers | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stores = stores
        self.groups = groups
        self._clock = clock
        self._members: dict[tuple[str, str], tuple[float, frozenset[str] | None]] = {}

    async def refusal(self, team: str, channel: str, user_id: str) -> NotAllowed | None:
        settings = await self.stores.settings.get(team)
        refused = settings.refusal_where(channel)
        if refused is not None or settings.audience is not Audience.GROUPS:
            return refused
        return settings.refusal_of(await self._in_groups(team, settings.groups, user_id))

    async def _in_groups(self, team: str, groups: tuple[str, ...], user_id: str) -> bool | None:
        """Whether ``user_id`` is in one of ``groups``; None when in none Slack answered
        for and Slack did not say for another (refused rather than guessed: an admin
        chose to limit who may). No union is built: a group may have 100,000 members, and
        this runs at every message."""
        found = await asyncio.gather(*(self._group(team, g) for g in groups))
        if any(user_id in members for members in found if members is not None):
            return True
        return None if any(members is None for members in found) else False

    async def _group(self, team: str, group: str) -> frozenset[str] | None:
        kept = self._members.get((team, group))
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        members = await self.groups.members(team, group) if self.groups is not None else None
        ttl = MEMBERS_KEPT_S if members is not None else MEMBERS_FAILURE_KEPT_S
        if len(self._members) >= _KEPT:
            self._members.clear()
        self._members[(team, group)] = (self._clock() + ttl, members)
        return members
