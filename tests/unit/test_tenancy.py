"""The workspace key (Bolt's enterprise/team keying), sealed secrets, and the two modes'
settings."""

from __future__ import annotations

from typing import Any, cast

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.config import MANIFEST_BOT_SCOPES, SettingsProblem, Tenancy, load_settings
from bot.slack import payloads as slack_payloads
from bot.tenancy.secrets import SecretBox, SecretUnreadable
from bot.tenancy.slack import INSTALLATION_CACHE_S, InstalledWorkspaces, WorkspaceGone
from bot.tenancy.workspace import Workspace
from tests.fakes import payloads
from tests.fakes.slack import manifest_bot_scopes

_IDS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=31)


@settings(max_examples=50)
@given(enterprise=st.none() | _IDS.map(lambda s: "E" + s), team=st.none() | _IDS.map("T".__add__))
def test_a_workspace_key_names_its_installation_and_round_trips(
    enterprise: str | None, team: str | None
) -> None:
    workspace = Workspace(enterprise_id=enterprise, team_id=team)
    if enterprise is None and team is None:
        assert workspace.key == "T0"
        return
    assert Workspace.parse(workspace.key) == workspace
    assert "|" not in workspace.key and ":" not in workspace.key


@settings(max_examples=50)
@given(st.text(max_size=80))
def test_a_key_of_any_other_shape_names_no_installation(raw: str) -> None:
    parsed = Workspace.parse(raw)
    if parsed is not None:
        assert parsed.key == raw


def test_payloads_are_keyed_as_bolt_keys_installations() -> None:
    event = payloads.events_api(payloads.app_mention("hi", team="T0AAA"), team_id="T0AAA")
    assert slack_payloads.to_team(event) == "T0AAA"
    # A workspace of a Grid organisation installed on its own: enterprise and team.
    grid = payloads.events_api(
        payloads.app_mention("hi", team="T0BBB"),
        team_id="T0BBB",
        authorizations=[
            {"enterprise_id": "E0ORG", "team_id": "T0BBB", "is_enterprise_install": False}
        ],
    )
    assert slack_payloads.to_team(grid) == "E0ORG.T0BBB"
    # An org-wide install: one installation (the enterprise) for all its workspaces.
    org_wide = payloads.events_api(
        payloads.app_mention("hi", team="T0CCC"),
        team_id="T0CCC",
        authorizations=[{"enterprise_id": "E0ORG", "team_id": None, "is_enterprise_install": True}],
    )
    assert slack_payloads.to_team(org_wide) == "E0ORG"
    assert Workspace.parse("E0ORG") == Workspace("E0ORG", None)
    # Ids from a payload are untrusted: one that is not of Slack's shape is no key part.
    forged = payloads.events_api(payloads.app_mention("hi"), team_id="T0|x:*")
    assert slack_payloads.to_team({**forged, "authorizations": []}) == "T0"


def test_a_sealed_secret_opens_only_with_its_keys_and_rotates() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox(old).seal("og_live_secret")
    assert b"og_live_secret" not in sealed
    with pytest.raises(SecretUnreadable):
        SecretBox(new).open(sealed)
    both = SecretBox(f"{new},{old}")
    assert both.open(sealed) == "og_live_secret"
    rotated = both.rotate(sealed)
    assert SecretBox(new).open(rotated) == "og_live_secret"


MULTI = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "SECRETS_KEY": Fernet.generate_key().decode(),
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
}


def test_many_workspaces_mode_and_its_defaults() -> None:
    s = load_settings(_env_file=None, **MULTI)
    assert s.tenancy is Tenancy.MULTI
    assert s.scopes == list(MANIFEST_BOT_SCOPES)
    # The manifests and this list change together (a new scope in one, not the other,
    # would install the app without it).
    assert set(MANIFEST_BOT_SCOPES) == set(manifest_bot_scopes())
    assert s.database_url.get_secret_value() == "sqlite+aiosqlite:///origami-slack.db"
    assert MULTI["SECRETS_KEY"] in s.secrets() and "client-secret" in s.secrets()
    pg = load_settings(_env_file=None, **MULTI, DATABASE_URL="postgres://u:p@db/x")
    assert pg.database_url.get_secret_value() == "postgresql+asyncpg://u:p@db/x"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {**MULTI, "SECRETS_KEY": ""},
            "many workspaces (SLACK_BOT_TOKEN is unset) needs SECRETS_KEY",
        ),
        ({**MULTI, "SECRETS_KEY": "not-a-fernet-key"}, "SECRETS_KEY must be Fernet keys"),
        ({**MULTI, "SLACK_CLIENT_SECRET": ""}, "needs SLACK_CLIENT_SECRET"),
        ({**MULTI, "DATABASE_URL": "mysql://x"}, "DATABASE_URL must be a postgresql"),
        (
            {**MULTI, "SLACK_BOT_TOKEN": "xoxb-1-2", "ORIGAMI_API_KEY": "og_live_x"},
            "are both set",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "s"},
            "one workspace (SLACK_BOT_TOKEN is set) needs ORIGAMI_API_KEY",
        ),
    ],
)
def test_each_mode_says_what_it_lacks(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsProblem, match=None) as info:
        load_settings(_env_file=None, **env)
    assert says in str(info.value)
    assert "client-secret" not in str(info.value)


class _CountingInstallations:
    """An installation store of one workspace's bot, counting its reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.token: str | None = "xoxb-1"

    async def async_find_bot(self, **_: Any) -> Bot | None:
        self.reads += 1
        if self.token is None:
            return None
        return Bot(bot_token=self.token, bot_id="B1", bot_user_id="U1", installed_at=0.0)


async def test_an_installation_is_read_once_a_while_and_forgotten_at_an_uninstall() -> None:
    now = [0.0]
    store = _CountingInstallations()
    slack = InstalledWorkspaces(
        cast(Any, store), lambda token: AsyncWebClient(token=token), clock=lambda: now[0]
    )
    first = await slack.for_team("T0A")
    assert first.token == "xoxb-1" and store.reads == 1
    # Every Slack call of a result asks; only the first in a while reads the database.
    for _ in range(5):
        assert await slack.for_team("T0A") is first
    assert store.reads == 1
    now[0] += INSTALLATION_CACHE_S + 0.1
    assert await slack.for_team("T0A") is first and store.reads == 2
    # Uninstalled: the process that handled it forgets at once, and nothing is kept of it.
    store.token = None
    slack.forget("T0A")
    for _ in range(2):
        with pytest.raises(WorkspaceGone):
            await slack.for_team("T0A")
    assert store.reads == 4
    with pytest.raises(WorkspaceGone):
        await slack.for_team("not a workspace key")


def _refusing_client(token: str, error: str, calls: list[str]) -> AsyncWebClient:
    """A client whose every call Slack answers with ``error`` (as it answers a revoked
    token: HTTP 200, ``ok: false``)."""
    client = AsyncWebClient(token=token)

    async def api_call(api_method: str, **kwargs: Any) -> Any:
        calls.append(api_method)
        response = AsyncSlackResponse(
            client=client,
            http_verb="POST",
            api_url=f"https://slack.test/api/{api_method}",
            req_args={},
            data={"ok": False, "error": error},
            headers={},
            status_code=200,
        )
        raise SlackApiError(f"The request to the Slack API failed. ({error})", response)

    client.api_call = api_call  # type: ignore[method-assign]
    return client


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
async def test_a_process_that_did_not_see_the_uninstall_stops_at_slacks_first_refusal(
    error: str,
) -> None:
    """The uninstall event reaches one process; a worker keeping the installation learns
    it from Slack's first refusal of the token: that call raises ``WorkspaceGone`` (still
    a ``SlackApiError`` with Slack's error), and the next asks the database again."""
    store, calls = _CountingInstallations(), []
    slack = InstalledWorkspaces(
        cast(Any, store), lambda token: _refusing_client(token, error, calls), clock=lambda: 0.0
    )
    client = await slack.for_team("T0A")
    store.token = None  # uninstalled, in another process
    with pytest.raises(WorkspaceGone) as refused:
        await client.chat_postMessage(channel="C1", text="hi")
    assert isinstance(refused.value, SlackApiError)
    assert refused.value.response["error"] == error
    assert calls == ["chat.postMessage"] and store.reads == 1
    # Well within the cache's time, yet the database is asked, and says it is gone.
    with pytest.raises(WorkspaceGone):
        await slack.for_team("T0A")
    assert store.reads == 2


async def test_other_slack_errors_leave_the_installation_kept() -> None:
    store, calls = _CountingInstallations(), []
    slack = InstalledWorkspaces(
        cast(Any, store),
        lambda t: _refusing_client(t, "channel_not_found", calls),
        clock=lambda: 0.0,
    )
    client = await slack.for_team("T0A")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C1", text="hi")
    assert not isinstance(refused.value, WorkspaceGone)
    assert await slack.for_team("T0A") is client and store.reads == 1
