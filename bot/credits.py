"""The low-credits alert: after a run, when the Origami workspace's balance has fallen
below ``LOW_CREDITS_WARNING``, the thread says so (an ``alert``), before runs start failing
with 402.

The balance is read (``GET /account/credits``) at most once every 10 minutes per Slack
team, whichever process delivers, and the alert is said at most once a day per team: the
two claims are Redis keys (``ClaimStore``). A balance that cannot be read says nothing.
"""

from __future__ import annotations

import logging

from bot.domain import ThreadRef
from bot.ports import Presenter
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


class CreditWatch:
    def __init__(
        self, stores: Stores, origami: OrigamiFor, presenter: Presenter, threshold: int
    ) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter
        # 0: off (the default; see LOW_CREDITS_WARNING).
        self.threshold = threshold

    async def after_run(self, thread: ThreadRef) -> None:
        """Never fails the caller: a warning that cannot be given is only logged."""
        if self.threshold <= 0:
            return
        try:
            if not await self.stores.claims.claim_credits_check(thread.team):
                return
            origami = await self.origami.for_team(thread.team)
            credits, _ = await origami.get_credits()
            balance = credits.balance
            if balance is None or balance >= self.threshold:
                return
            if not await self.stores.claims.claim_credits_warning(thread.team):
                return
            await self.presenter.low_credits(thread, balance)
            log.info("low credits said", extra={"balance": balance})
        except Exception as exc:
            log.warning("could not check the credits", extra={"error": type(exc).__name__})
