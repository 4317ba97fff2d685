"""Table actions on a result: Share to channel and Export CSV (most teammates have no
Origami login). A table id from a click is untrusted: it must be one the run showed."""

from __future__ import annotations

from bot.conversations.buttons import run_here
from bot.domain import Note, ThreadRef
from bot.origami.models import Table
from bot.ports import Presenter
from bot.problems import report
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor


class Tables:
    def __init__(self, stores: Stores, origami: OrigamiFor, presenter: Presenter) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter

    async def share(self, thread: ThreadRef, run_id: str, table_id: str, user_id: str) -> None:
        table = await self._run_table(thread, run_id, table_id, user_id)
        if table is None:
            return
        if not await self.stores.claims.claim_action(
            thread.team, f"share:{thread.channel}:{table_id}"
        ):
            await self.presenter.note(thread, user_id, Note.ALREADY_SHARED)
            return
        ts = await self.presenter.share_table(thread, table, run_id, user_id)
        await self.stores.runs.add_shared_card(thread.team, thread.channel, ts, run_id)

    async def export_csv(self, thread: ThreadRef, run_id: str, table_id: str, user_id: str) -> None:
        table = await self._run_table(thread, run_id, table_id, user_id)
        if table is None:
            return
        try:
            origami = await self.origami.for_team(thread.team)
            content = await origami.table_rows_csv(table_id)
        except Exception as exc:
            await report(self.presenter, thread, exc, None, agent_call=False)
            return
        await self.presenter.upload_csv(thread, table, content, user_id)

    async def _run_table(
        self, thread: ThreadRef, run_id: str, table_id: str, user_id: str
    ) -> Table | None:
        """The table, fresh from Origami, if the run really showed it, in this thread."""
        if await run_here(self.stores, self.presenter, thread, run_id, user_id) is None:
            return None
        outcome = await self.stores.deliveries.outcome(thread.team, run_id)
        if outcome is None or table_id not in outcome.table_ids:
            await self.presenter.note(thread, user_id, Note.TABLE_UNKNOWN)
            return None
        try:
            origami = await self.origami.for_team(thread.team)
            return await origami.get_table(table_id)
        except Exception as exc:
            await report(self.presenter, thread, exc, None, agent_call=False)
            return None
