"""Many workspaces, part by part, on the real databases (SQLite and PostgreSQL) and the
real Redis: the stored keys, the key lookup, the uninstall's forgetting, App Home's views
as the fake Slack checks them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import load_settings
from bot.domain import Prompt, ThreadRef
from bot.origami import errors
from bot.origami.client import OrigamiClient, build_http_client
from bot.slack import blocks
from bot.stores import Stores
from bot.tenancy.database import Database, open_database
from bot.tenancy.origami import WorkspaceKeys
from bot.tenancy.origami_keys import Connection
from bot.tenancy.secrets import SecretBox
from tests import databases
from tests.fakes.origami import FakeOrigami
from tests.fakes.slack import view_errors
from tests.integration.harness import Harness

KEY = Fernet.generate_key().decode()


@pytest.fixture(params=databases.KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with databases.database_url(str(request.param), tmp_path) as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    # The URL as the settings turn it (the async driver added).
    settings = load_settings(
        _env_file=None,
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
        SECRETS_KEY=KEY,
        SLACK_SIGNING_SECRET="x",
        DATABASE_URL=database_url,
    )
    db = open_database(
        settings.database_url.get_secret_value(), client_id="1.2", box=SecretBox(KEY)
    )
    await db.create_tables()
    await db.create_tables()  # a second start finds them there
    try:
        yield db
    finally:
        await db.aclose()


def _connection(team: str, last4: str) -> Connection:
    return Connection(team, last4, "org-1", "Acme", "Pro", "U1", datetime.now(UTC))


async def test_a_stored_key_is_sealed_per_workspace_and_only_its_last_4_shown(
    database: Database,
) -> None:
    keys = database.origami_keys
    await keys.save(_connection("T0A", "aaaa"), "og_live_" + "a" * 36 + "aaaa")
    await keys.save(_connection("E0ORG", "bbbb"), "og_live_" + "b" * 36 + "bbbb")
    assert await keys.key_for("T0A") == ("og_live_" + "a" * 36 + "aaaa", "org-1")
    status = await keys.connection("T0A")
    assert status is not None and status.last4 == "aaaa" and status.set_at.tzinfo is not None
    assert "og_live_" not in repr(status)
    # Replacing a key keeps one row; removing one leaves the other workspace's.
    await keys.save(_connection("T0A", "cccc"), "og_live_" + "c" * 40)
    assert (await keys.key_for("T0A")) == ("og_live_" + "c" * 40, "org-1")
    assert await keys.delete("T0A") is True
    assert await keys.key_for("T0A") is None and await keys.connection("T0A") is None
    assert await keys.key_for("E0ORG") is not None


async def test_the_key_lookup_binds_each_workspace_to_its_own_key(database: Database) -> None:
    async with FakeOrigami() as fake:
        key_b = fake.add_org("Org B")
        shared = OrigamiClient(build_http_client(fake.url, None))
        lookup = WorkspaceKeys(shared, database.origami_keys)
        try:
            with pytest.raises(errors.NotConnected):
                await lookup.for_team("T0A")
            await database.origami_keys.save(_connection("T0A", fake.api_key[-4:]), fake.api_key)
            await database.origami_keys.save(_connection("T0B", key_b[-4:]), key_b)
            (account_a, _), (account_b, _) = [
                await (await lookup.for_team(team)).get_account() for team in ("T0A", "T0B")
            ]
            assert account_a.organization_id == fake.org_of(fake.api_key)
            assert account_b.organization_id == fake.org_of(key_b)
            # The shared client has no key of its own: nothing goes out unkeyed.
            with pytest.raises(errors.Unauthorized):
                await shared.get_account()
            # A removed key is forgotten by the process that removed it at once.
            await database.origami_keys.delete("T0B")
            lookup.forget("T0B")
            with pytest.raises(errors.NotConnected):
                await lookup.for_team("T0B")
        finally:
            await shared.aclose()


async def test_a_key_sealed_under_another_secrets_key_reads_as_not_connected(
    database: Database, database_url: str
) -> None:
    await database.origami_keys.save(_connection("T0A", "aaaa"), "og_live_secret-aaaa")
    other = open_database(
        load_settings(
            _env_file=None,
            SLACK_CLIENT_ID="1.2",
            SLACK_CLIENT_SECRET="s",
            SECRETS_KEY=Fernet.generate_key().decode(),
            SLACK_SIGNING_SECRET="x",
            DATABASE_URL=database_url,
        ).database_url.get_secret_value(),
        client_id="1.2",
        box=SecretBox(Fernet.generate_key().decode()),
    )
    try:
        lookup = WorkspaceKeys(
            OrigamiClient(build_http_client("http://x", None)), other.origami_keys
        )
        with pytest.raises(errors.NotConnected):
            await lookup.for_team("T0A")
    finally:
        await other.aclose()


async def test_forgetting_a_workspace_leaves_another_with_the_same_channel_ids(
    h: Harness, stores: Stores
) -> None:
    here, there = ThreadRef("T0A", "C1", "1.0"), ThreadRef("T0B", "C1", "1.0")
    # (One Origami organisation here, so the two prompts differ in cause: Origami keeps
    # Idempotency-Keys per organisation, and these two would be one request in one.)
    await h.start(here, Prompt("find founders", "U1", "C1:1.0"))
    await h.start(there, Prompt("find founders", "U1", "C1:1.1"))
    await h.drive(lambda: len(h.fake.runs) == 2)
    assert await stores.threads.get(here) is not None
    assert await stores.threads.get(there) is not None
    removed = await stores.workspaces.forget("T0B")
    assert removed > 0
    assert await stores.threads.get(there) is None
    state = await stores.threads.get(here)
    assert state is not None and state.agent_id is not None
    entries = await stores.schedule.redis.zrange("ogs:watch:due", 0, -1)
    assert entries and all("|T0A|" in e for e in entries)


def test_app_home_and_the_key_modal_are_views_slack_accepts() -> None:
    connected = _connection("T0A", "wxyz")
    for view in (
        blocks.build_home(None, may_manage=True),
        blocks.build_home(None, may_manage=False),
        blocks.build_home(connected, may_manage=True),
        blocks.build_home(connected, may_manage=False),
    ):
        assert view_errors(view, kind="home") == []
    assert view_errors(blocks.build_key_modal()) == []
    assert view_errors(blocks.build_only_admins_modal()) == []
    shown = str(blocks.build_home(connected, may_manage=True))
    assert "wxyz" in shown and "disconnect_origami" in shown
    assert "connect_origami" not in str(blocks.build_home(connected, may_manage=False))


async def test_the_doctor_checks_the_installations_database_with_many_workspaces(
    database: Database, database_url: str
) -> None:
    from bot.doctor.checks import check_origami, check_slack
    from bot.doctor.verdicts import Status

    settings = load_settings(
        _env_file=None,
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
        SECRETS_KEY=KEY,
        SLACK_SIGNING_SECRET="x",
        DATABASE_URL=database_url,
    )
    (installations,) = await check_slack(settings)
    assert installations.status is Status.PASS and "0 workspace(s)" in installations.detail
    origami, unfurls = await check_origami(settings)
    assert unfurls.status is Status.PASS
    assert origami.status is Status.PASS and "App Home" not in origami.detail
    assert "Home tab" in origami.detail
    assert "ORIGAMI_REQUESTS_PER_MINUTE (90) requests a minute of their own" in origami.detail
    broken = settings.model_copy(
        update={
            "database_url": settings.database_url.__class__(
                "sqlite+aiosqlite:////nonexistent/dir/x.db"
            )
        }
    )
    (failed,) = await check_slack(broken)
    assert failed.status is Status.FAIL and failed.fix is not None
