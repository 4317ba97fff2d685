"""The use cases of a workspace's connection to Origami (App Home), and of its uninstall.

Who may change the key: a workspace admin or owner (the caller reads ``users.info``), or
the person who installed the app. A key is saved only once Origami accepted it
(``GET /account``), and only ever sealed; what is shown is its last 4 characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from bot.origami import errors
from bot.tenancy.database import Database
from bot.tenancy.origami import WorkspaceKeys
from bot.tenancy.origami_keys import Connection, now
from bot.tenancy.workspace import Workspace

log = logging.getLogger(__name__)

# A modal's submission is answered within Slack's 3 s: the key's check gets this long.
CHECK_TIMEOUT_S = 2.5
# An Origami key is og_live_ and 40 characters; anything far off that is not one.
KEY_MAX_CHARS = 200


class KeyRefused(StrEnum):
    """Why a pasted key was not saved (each has its sentence in ``bot.slack.home_texts``)."""

    MALFORMED = "malformed"  # empty, too long, spaces or controls inside
    REJECTED = "rejected"  # 401: not a key, or revoked
    NO_API = "no_api"  # the plan has no API access
    UNCHECKED = "unchecked"  # Origami did not answer in time: nothing saved, try again


class KeyNotSaved(Exception):
    def __init__(self, reason: KeyRefused) -> None:
        super().__init__(reason.value)
        self.reason = reason


class Connections:
    def __init__(
        self,
        database: Database,
        keys: WorkspaceKeys,
        forget_state: Callable[[str], Awaitable[int]],
    ) -> None:
        self._db = database
        self._keys = keys
        self._forget_state = forget_state

    async def status(self, team: str) -> Connection | None:
        return await self._db.origami_keys.connection(team)

    async def is_installer(self, team: str, user_id: str) -> bool:
        workspace = Workspace.parse(team)
        if workspace is None:
            return False
        installation = await self._db.installations.async_find_installation(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            is_enterprise_install=workspace.is_enterprise_install,
        )
        return installation is not None and installation.user_id == user_id

    async def connect(self, team: str, user_id: str, pasted: str) -> Connection:
        """Check ``pasted`` with Origami and store it for ``team``; raises ``KeyNotSaved``.
        The caller has checked that ``user_id`` may."""
        api_key = pasted.strip()
        if not api_key or len(api_key) > KEY_MAX_CHARS or not api_key.isprintable():
            raise KeyNotSaved(KeyRefused.MALFORMED)
        if any(c.isspace() for c in api_key):
            raise KeyNotSaved(KeyRefused.MALFORMED)
        # Its organisation is not known before Origami answers: the check counts in a
        # window of the key's own (one request), not in any organisation's.
        checking = self._keys.bound(api_key, own_organization(api_key))
        try:
            account, _ = await asyncio.wait_for(checking.get_account(), CHECK_TIMEOUT_S)
        except errors.Unauthorized:
            raise KeyNotSaved(KeyRefused.REJECTED) from None
        except errors.PaymentRequired:
            raise KeyNotSaved(KeyRefused.NO_API) from None
        except (TimeoutError, errors.OrigamiError):
            raise KeyNotSaved(KeyRefused.UNCHECKED) from None
        if account.can_use_api is False:
            raise KeyNotSaved(KeyRefused.NO_API)
        # Without the organisation's id (a malformed answer), the key stands for its own
        # organisation: its budget is then its own.
        organization = account.organization_id or own_organization(api_key)
        connection = Connection(
            workspace=team,
            last4=api_key[-4:],
            organization_id=organization[:64],
            organization_name=(account.organization_name or "")[:200],
            plan_name=account.plan_name[:200],
            set_by=user_id[:32],
            set_at=now(),
        )
        await self._db.origami_keys.save(connection, api_key)
        self._keys.forget(team)
        log.info("origami key connected", extra={"last4": connection.last4})
        return connection

    async def disconnect(self, team: str) -> bool:
        removed = await self._db.origami_keys.delete(team)
        self._keys.forget(team)
        log.info("origami key removed", extra={"removed": removed})
        return removed

    async def uninstall(self, workspace: Workspace) -> None:
        """The app was uninstalled (or its tokens revoked): forget the installation, the
        Origami key and every conversation; runs in flight are no longer watched."""
        team = workspace.key
        await self._db.installations.async_delete_all(
            enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
        )
        await self.disconnect(team)
        removed = await self._forget_state(team)
        log.info("workspace uninstalled", extra={"redis_keys": removed})


def own_organization(api_key: str) -> str:
    """What a key stands for when its organisation is not known: itself."""
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
