"""``app_uninstalled`` and ``tokens_revoked``: the workspace is gone for the app. Its
installation, Origami key and every conversation are forgotten, and its runs in flight
stop being watched (Bolt delivers both events without authorizing them: the tokens are
already dead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.tenancy.connections import Connections
from bot.tenancy.workspace import Workspace


def build_handle_app_uninstalled(connections: Connections) -> Callable[..., Awaitable[None]]:
    async def handle_app_uninstalled(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens, which the app never keeps: the bot still works
        workspace = Workspace.of_body(body)
        if workspace.enterprise_id is None and workspace.team_id is None:
            return  # no workspace named: nothing of anyone's is touched
        await connections.uninstall(workspace)

    return handle_app_uninstalled
