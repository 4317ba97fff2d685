"""What App Home shows a person: their recent conversations (with where each stands), the
workspace's Origami account (plan, credits) and its settings (changed by its admins).
Read only when the Home tab is opened.

The account is read under the workspace's own key (``GET /account`` and
``GET /account/credits``, a person's requests under the budget) and kept briefly per
process: a person opening the tab again, or a Home republished after a change, costs no
request. A failure is kept too, shorter, and shown as a plain line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.origami import errors
from bot.stores import Stores
from bot.summaries import AccountFacts, AccountState, RecentConversation
from bot.tenancy.origami import OrigamiFor
from bot.workspace_settings import WorkspaceSettings

log = logging.getLogger(__name__)

# How many of a person's conversations the Home tab lists.
HOME_LIST_MAX = 10
ACCOUNT_KEPT_S = 60.0
ACCOUNT_FAILURE_KEPT_S = 10.0
# The event was acked long ago; this only bounds how long the tab waits for Origami.
ACCOUNT_TIMEOUT_S = 5.0
_TEAMS_KEPT = 10_000


class Home:
    def __init__(
        self,
        stores: Stores,
        origami: OrigamiFor,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stores = stores
        self.origami = origami
        self._clock = clock
        self._accounts: dict[str, tuple[float, AccountFacts]] = {}

    async def recent(self, team: str, user_id: str) -> list[RecentConversation]:
        """The newest conversations ``user_id`` started that are still remembered, each
        with its summary: two round trips, whatever their number."""
        started = await self.stores.started.newest(team, user_id, HOME_LIST_MAX)
        listed = await self.stores.summaries.read([s.thread(team) for s in started])
        by_thread = {item.thread: item.summary for item in listed}
        return [
            RecentConversation(s, by_thread[s.thread(team)])
            for s in started
            if s.thread(team) in by_thread
        ]

    async def account(self, team: str) -> AccountFacts:
        kept = self._accounts.get(team)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        facts = await self._read_account(team)
        ttl = ACCOUNT_KEPT_S if facts.state is AccountState.READ else ACCOUNT_FAILURE_KEPT_S
        if len(self._accounts) >= _TEAMS_KEPT:
            self._accounts.clear()
        self._accounts[team] = (self._clock() + ttl, facts)
        return facts

    async def settings(self, team: str) -> WorkspaceSettings:
        return await self.stores.settings.get(team)

    async def save_settings(self, team: str, settings: WorkspaceSettings) -> None:
        """The caller checked that the person may (an admin, or whoever installed it)."""
        await self.stores.settings.save(team, settings)
        log.info(
            "workspace settings changed",
            extra={
                "channels": len(settings.channels),
                "audience": settings.audience.value,
                "groups": len(settings.groups),
                "prompts": len(settings.prompts),
            },
        )

    def forget_account(self, team: str) -> None:
        """The workspace's key changed: read its account again at the next opening."""
        self._accounts.pop(team, None)

    async def _read_account(self, team: str) -> AccountFacts:
        try:
            origami = await self.origami.for_team(team)
            async with asyncio.timeout(ACCOUNT_TIMEOUT_S):
                (account, _), (credits, _) = await asyncio.gather(
                    origami.get_account(), origami.get_credits()
                )
        except errors.NotConnected:
            return AccountFacts(AccountState.NOT_CONNECTED)
        except (TimeoutError, errors.OrigamiError) as exc:
            error = type(exc).__name__
            log.warning("the Origami account could not be read", extra={"error": error})
            return AccountFacts(AccountState.UNAVAILABLE)
        return AccountFacts(
            AccountState.READ,
            organization=(account.organization_name or "")[:200],
            plan=account.plan_name[:200],
            balance=credits.balance,
        )
