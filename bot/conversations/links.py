"""Table links pasted anywhere the app is: each table read fresh, under the workspace's
own Origami key and budget, and unfurled with its live figures.

A table the key cannot see (another organisation's, a deleted one, an id that is no
table) unfurls as nothing, exactly as a link the app never looked at: no error card, no
hint that it exists. Slack sends a link again when it is pasted again; each paste is
unfurled once (its message is claimed), however often Slack retries the event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.domain import PastedLinks
from bot.origami import errors
from bot.origami.client import OrigamiClient
from bot.origami.links import to_table_id
from bot.origami.models import Table
from bot.ports import Presenter
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


class Links:
    def __init__(
        self, stores: Stores, origami: OrigamiFor, presenter: Presenter, app_url: str
    ) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter
        # Only links on the Origami app's host name a table.
        self.app_url = app_url

    async def _origami(self, team: str) -> OrigamiClient:
        return await self.origami.for_team(team)

    async def unfurl(self, pasted: PastedLinks, urls: Sequence[str]) -> None:
        """The links of one paste (each once, at most a few)."""
        links = [(url, to_table_id(url, self.app_url)) for url in urls]
        if not any(table_id for _, table_id in links):
            return
        if not await self.stores.claims.claim_event(pasted.team, f"unfurl:{pasted.identity}"):
            return
        tables: dict[str, Table] = {}
        for url, table_id in links:
            table = await self._table(pasted.team, table_id) if table_id else None
            if table is not None:
                tables[url] = table
        if tables:
            await self.presenter.unfurl(pasted, tables)

    async def _table(self, team: str, table_id: str) -> Table | None:
        try:
            table = await (await self._origami(team)).get_table(table_id)
        except (errors.NotFound, errors.Forbidden, errors.InvalidRequest):
            return None  # not this organisation's to show: nothing, and nothing said
        except errors.OrigamiError:
            # Origami down or out of budget: a link without a preview loses nothing.
            log.warning("table link not unfurled: origami did not answer")
            return None
        # A table that comes back under another id is not the one the link names.
        return table if table.id == table_id else None
