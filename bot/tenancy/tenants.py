"""The two ways to serve Slack, built from the settings: one workspace, or many."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.origami.client import OrigamiClient
from bot.stores.budget import OrganizationBudgets
from bot.tenancy.connections import Connections
from bot.tenancy.database import Database, open_database
from bot.tenancy.origami import OneKey, OrigamiFor, WorkspaceKeys
from bot.tenancy.secrets import SecretBox
from bot.tenancy.slack import InstalledWorkspaces, OneWorkspace, SlackFor


@dataclass
class Tenants:
    """Who the app serves. ``database``, ``oauth`` and ``connections`` only with many
    workspaces."""

    slack: SlackFor
    origami: OrigamiFor
    database: Database | None = None
    oauth: AsyncOAuthSettings | None = None
    connections: Connections | None = None

    async def start(self) -> None:
        if self.database is not None:
            await self.database.create_tables()

    async def aclose(self) -> None:
        if self.database is not None:
            await self.database.aclose()


def one_workspace(slack: AsyncWebClient, origami: OrigamiClient) -> Tenants:
    return Tenants(slack=OneWorkspace(slack), origami=OneKey(origami))


def many_workspaces(
    settings: Settings,
    origami: OrigamiClient,
    make_client: Callable[[str], AsyncWebClient],
    forget_state: Callable[[str], Awaitable[int]],
    budgets: OrganizationBudgets,
) -> Tenants:
    """``origami``: the shared client, with no key of its own; ``make_client``: a Slack
    client for a bot token; ``forget_state``: deletes a workspace's Redis state;
    ``budgets``: each Origami organisation's request budget."""
    assert settings.slack_client_id is not None
    assert settings.slack_client_secret is not None
    assert settings.secrets_key is not None
    database = open_database(
        settings.database_url.get_secret_value(),
        client_id=settings.slack_client_id,
        box=SecretBox(settings.secrets_key.get_secret_value()),
    )
    keys = WorkspaceKeys(
        origami, database.origami_keys, gate_for=budgets.gate, opened=budgets.remember
    )
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=settings.scopes,
        installation_store=database.installations,
        # Only the bot token is used: no user token is asked for or kept.
        installation_store_bot_only=True,
        state_store=database.states,
    )
    return Tenants(
        slack=InstalledWorkspaces(database.installations, make_client),
        origami=keys,
        database=database,
        oauth=oauth,
        connections=Connections(database, keys, forget_state),
    )
