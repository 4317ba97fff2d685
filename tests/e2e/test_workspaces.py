"""Many workspaces, black box: ``python -m bot`` with no SLACK_BOT_TOKEN, installed by two
teams through Slack's OAuth flow (the fake's ``oauth.v2.access``), each connecting its own
Origami key in App Home, talking to both (with the same channel ids), one uninstalled.
On the embedded database (a SQLite file) and on the real PostgreSQL of these machines."""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tests import databases
from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, flush, start_app, stop_app
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack, FakeTeam

CHANNEL = "C0SAME"  # both workspaces have a channel of this id
SECRETS_KEY = Fernet.generate_key().decode()


@dataclass
class Workspace:
    team: FakeTeam
    admin: str
    member: str
    api_key: str

    @property
    def id(self) -> str:
        return self.team.team_id


@pytest.fixture(params=databases.KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with databases.database_url(str(request.param), tmp_path) as url:
        yield url


@pytest.fixture
async def hosted(
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
    database_url: str,
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    flush(redis_target)
    app = await start_app(
        slack,
        origami,
        redis_target.url,
        http,
        SLACK_BOT_TOKEN="",
        ORIGAMI_API_KEY="",
        SLACK_CLIENT_ID=slack.client_id,
        SLACK_CLIENT_SECRET=slack.client_secret,
        SECRETS_KEY=SECRETS_KEY,
        DATABASE_URL=database_url,
    )
    try:
        yield app
    finally:
        log = await stop_app(app)
        print(f"--- app log ---\n{log}")
        assert slack.rejections == [], slack.rejections
        assert "Traceback" not in log, log
        # No Origami key ever reaches the log, whole or in part beyond its last 4.
        for key in origami.orgs:
            assert key[:-4] not in log


async def install(app: AppProcess, team_id: str, user: str) -> None:
    """Add to Slack, as a browser does it: the install page (its state cookie), then
    Slack's redirect back with a code for ``team_id``."""
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as browser:
        page = await browser.get("/slack/install")
        assert page.status_code == 200, page.text
        state = re.search(r"state=([A-Za-z0-9_.-]+)", page.text)
        assert state is not None, page.text
        # Bolt's state cookie is Secure; a browser on https would send it back.
        cookie = page.headers["set-cookie"].split(";")[0]
        code = app.slack.issue_oauth_code(team_id, user)
        done = await browser.get(
            "/slack/oauth_redirect",
            params={"code": code, "state": state[1]},
            headers={"Cookie": cookie},
        )
        assert done.status_code == 200, done.text


async def event(app: AppProcess, ws: Workspace, body: dict[str, Any]) -> None:
    envelope = payloads.events_api(body, team_id=ws.id, bot_user_id=ws.team.bot_user_id)
    response = await app.post_body(payloads.to_event_body(envelope))
    assert response.status_code == 200, response.text


async def open_home(app: AppProcess, ws: Workspace, user: str) -> dict[str, Any]:
    before = app.slack.home_view(user, ws.id)
    home = {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
    await event(app, ws, home)
    return await app.slack.wait_for(
        lambda s: (v := s.home_view(user, ws.id)) is not None and v != before and v
    )


def texts(node: Any) -> str:
    if isinstance(node, dict):
        return " ".join(texts(v) for k, v in node.items() if k != "action_id")
    if isinstance(node, list):
        return " ".join(texts(v) for v in node)
    return node if isinstance(node, str) else ""


def action_ids(view: dict[str, Any]) -> set[str]:
    return {
        str(e.get("action_id"))
        for b in view.get("blocks", [])
        for e in b.get("elements", [])
        if isinstance(e, dict) and "action_id" in e
    }


async def connect(app: AppProcess, ws: Workspace, user: str, key: str) -> httpx.Response:
    """Connect Origami → the modal → paste ``key`` → submit; the submission's answer."""
    opened = len(app.slack.views())
    click = payloads.block_actions(
        payloads.button_action("connect_origami"),
        team=ws.id,
        user=user,
        trigger_id=app.slack.issue_trigger_id(),
    )
    assert (await app.post_interactive(click)).status_code == 200
    modal = await app.slack.wait_for(lambda s: len(s.views()) > opened and s.views()[-1])
    values = {"origami_key": {"origami_key_text": payloads.input_value(key)}}
    return await app.post_interactive(
        payloads.view_submission(values, view=modal, team=ws.id, user=user)
    )


async def mention(app: AppProcess, ws: Workspace, text: str) -> str:
    body = payloads.app_mention(
        text, team=ws.id, channel=CHANNEL, user=ws.member, bot_user_id=ws.team.bot_user_id
    )
    app.slack.add_message(CHANNEL, body["text"], ts=body["ts"], user=ws.member, team=ws.id)
    await event(app, ws, body)
    return str(body["ts"])


def replies(app: AppProcess, ws: Workspace, thread_ts: str) -> str:
    return "\n".join(
        texts(m) for m in app.slack.messages(CHANNEL, thread_ts, team=ws.id) if m.get("bot_id")
    )


def two_workspaces(slack: FakeSlack, origami: FakeOrigami) -> tuple[Workspace, Workspace]:
    made = []
    for name in ("A", "B"):
        team = slack.add_team(f"T0{name}{secrets.token_hex(3).upper()}")
        admin, member = f"U0{name}ADMIN", f"U0{name}MEMBER"
        slack.add_user(admin, is_admin=True, team_id=team.team_id)
        slack.add_user(member, is_admin=False, team_id=team.team_id)
        made.append(Workspace(team, admin, member, origami.add_org(f"Org {name}")))
    return made[0], made[1]


async def test_two_workspaces_install_connect_talk_and_one_uninstalls(
    hosted: AppProcess, database_url: str, redis_target: RedisTarget
) -> None:
    app, slack, origami = hosted, hosted.slack, hosted.origami
    redis = redis_target.url
    a, b = two_workspaces(slack, origami)
    installer_b = "U0BINSTALLER"  # not an admin: installing the app lets them connect it
    await install(app, a.id, a.admin)
    await install(app, b.id, installer_b)

    # Not connected yet: App Home says so; a mention gets a pointer there, nothing is sent.
    home = await open_home(app, a, a.admin)
    assert "not connected" in texts(home) and "connect_origami" in action_ids(home)
    member_home = await open_home(app, a, a.member)
    assert "connect_origami" not in action_ids(member_home)
    early = await mention(app, a, "find founders")
    await slack.wait_for(lambda s: "Home tab" in replies(app, a, early))
    assert "slack://app?team=" in replies(app, a, early)
    assert origami.requests("POST", "/agents") == []

    # A member may not set the key: the button opens no key modal for them, and a
    # submission of one they forge is refused.
    await connect(app, a, a.member, a.api_key)
    assert slack.views()[-1].get("callback_id") != "origami_key"
    assert "Only a workspace admin" in texts(slack.views()[-1])
    values = {"origami_key": {"origami_key_text": payloads.input_value(a.api_key)}}
    forged = payloads.view_submission(values, callback_id="origami_key", team=a.id, user=a.member)
    refused = await app.post_interactive(forged)
    assert refused.json()["response_action"] == "errors"
    assert "admin" in refused.json()["errors"]["origami_key"]
    assert origami.requests("GET", "/account") == []
    # A key Origami refuses is said on the modal and not saved.
    wrong = await connect(app, a, a.admin, "og_live_" + "x" * 40)
    assert "did not accept" in wrong.json()["errors"]["origami_key"]
    # The admin of A, and B's installer, connect their own organisations' keys.
    for ws, user in ((a, a.admin), (b, installer_b)):
        answer = await connect(app, ws, user, ws.api_key)
        assert answer.status_code == 200 and answer.text in ("", "null"), answer.text
        shown = await slack.wait_for(
            lambda s, ws=ws, user=user: (
                "Connected" in texts(s.home_view(user, ws.id) or {}) and s.home_view(user, ws.id)
            )
        )
        assert ws.api_key[-4:] in texts(shown) and ws.api_key[:-4] not in texts(shown)
        # Below the connection, the workspace's schedules (tests/e2e/test_schedules.py).
        assert "Schedules" in texts(shown) and "No schedules yet" in texts(shown)
    checked = {r.headers["Authorization"] for r in origami.requests("GET", "/account")}
    assert f"Bearer {a.api_key}" in checked and f"Bearer {b.api_key}" in checked

    # Conversations in both, in channels with the same id: each under its own key, each
    # answered in its own workspace only.
    origami.script(RunScript(polls=1, text="Answer for A"), RunScript(polls=1, text="Answer B"))
    thread_a = await mention(app, a, "find founders in Austin")
    await origami.wait_for(lambda: len(origami.requests("POST", "/agents")) == 1, timeout=10)
    thread_b = await mention(app, b, "find founders in Boston")
    await slack.wait_for(lambda s: "Answer for A" in replies(app, a, thread_a), timeout=15)
    await slack.wait_for(lambda s: "Answer B" in replies(app, b, thread_b), timeout=15)
    assert "Answer B" not in replies(app, a, thread_a) + replies(app, a, thread_b)
    assert "Answer for A" not in replies(app, b, thread_b) + replies(app, b, thread_a)
    by_org = {r.org for r in origami.requests(path_prefix="/agents")}
    assert by_org == {origami.org_of(a.api_key), origami.org_of(b.api_key)}
    for r in origami.requests(path_prefix="/agents"):
        key = a.api_key if r.org == origami.org_of(a.api_key) else b.api_key
        assert r.headers["Authorization"] == f"Bearer {key}"
    posted = {c.team for c in slack.calls("chat.postMessage") if c.ok}
    assert {a.id, b.id} <= posted

    # The stored keys are sealed: not in the database in the clear, and only SECRETS_KEY
    # opens them.
    if database_url.startswith("sqlite"):
        sealed = _sealed_keys(database_url)
        assert len(sealed) == 2
        for blob in sealed:
            assert a.api_key.encode() not in blob and b.api_key.encode() not in blob
            with pytest.raises(InvalidToken):
                MultiFernet([Fernet(Fernet.generate_key())]).decrypt(blob)
            assert MultiFernet([Fernet(SECRETS_KEY)]).decrypt(blob).decode() in (
                a.api_key,
                b.api_key,
            )

    # B uninstalls, with a run of its own in flight: it stops being watched, and nothing
    # more is posted in B; A goes on as before.
    origami.script(RunScript(polls=None, text="never shown"))
    before = len(slack.calls())
    await mention(app, b, "one more")
    await origami.wait_for(lambda: len(origami.requests("POST", "/agents")) == 3, timeout=10)
    # Its start is shown (the thread's status is its last step) before Slack revokes the
    # token, as the uninstall would otherwise race it.
    await slack.wait_for(
        lambda s: any(
            c.team == b.id and c.method == "assistant.threads.setStatus" for c in s.calls()[before:]
        ),
        timeout=10,
    )
    slack.revoke(b.id)
    await event(app, b, {"type": "app_uninstalled"})
    await _until_forgotten(redis, b.id)
    b_calls = len([c for c in slack.calls() if c.team == b.id])
    # A message in B now finds no installation (Bolt answers it, no listener runs).
    await event(app, b, payloads.thread_reply("hello?", thread_ts=thread_b, channel=CHANNEL))
    origami.script(RunScript(polls=0, text="A again"))
    follow = payloads.thread_reply(
        "and Dallas", thread_ts=thread_a, channel=CHANNEL, user=a.member, team=a.id
    )
    await event(app, a, follow)
    await slack.wait_for(lambda s: "A again" in replies(app, a, thread_a), timeout=15)
    assert len([c for c in slack.calls() if c.team == b.id]) == b_calls
    assert "never shown" not in replies(app, b, thread_b)
    await open_home(app, a, a.admin)  # A is still connected, its key untouched
    assert "Connected" in texts(slack.home_view(a.admin, a.id))


async def _until_forgotten(redis_url: str | None, team: str) -> None:
    """Until the uninstall has deleted every Redis key and schedule entry of ``team``."""
    import redis.asyncio as aioredis

    assert redis_url is not None
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for _ in range(500):
            keys = [k async for k in client.scan_iter(match=f"ogs:{team}:*")]
            entries = [e for e in await client.zrange("ogs:watch:due", 0, -1) if f"|{team}|" in e]
            if not keys and not entries:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{team} still has {keys} {entries}")
    finally:
        await client.aclose()


def _sealed_keys(database_url: str) -> list[bytes]:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return [
            bytes(row[0]) for row in db.execute("SELECT sealed_key FROM origami_workspace_keys")
        ]
