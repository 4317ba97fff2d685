"""``python -m bot doctor`` against the fake Slack, the fake Origami and the real Redis."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis as redis_sync

from bot.agent_platform import AgentFeature
from bot.config import Settings
from bot.doctor import diagnose, run_doctor
from bot.doctor.report import exit_code, render_text
from bot.doctor.verdicts import Check, Status
from bot.stores import Stores
from tests.conftest import RedisTarget, free_port
from tests.fakes.origami import FakeOrigami
from tests.fakes.slack import FakeSlack
from tests.unit.test_contract import pointer, spec_or_skip, validation_errors

SIGNING_SECRET = "doctor-signing-secret-0123456789"
ALL_CHECKS = [
    "Slack",
    "Slack scopes",
    "Slack agent features",
    "Origami",
    "Origami credits",
    "Origami rate limit",
    "Origami link unfurls",
    "Redis",
    "Redis persistence",
    "Redis eviction",
    "Redis latency",
    "Workers",
]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def origami() -> AsyncIterator[FakeOrigami]:
    async with FakeOrigami(rate_limit_per_minute=100) as fake:
        yield fake


@pytest.fixture
def redis_url(redis_target: RedisTarget, stores: Stores) -> str:
    """The test Redis (flushed by ``stores``), which the doctor reaches on its own."""
    if redis_target.url is None:
        pytest.skip("the doctor checks a real Redis")
    return redis_target.url


def env_for(slack: FakeSlack, origami: FakeOrigami, redis_url: str | None) -> dict[str, str]:
    """The settings a deployment would have, pointing at the fakes."""
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "ORIGAMI_API_KEY": origami.api_key,
        "ORIGAMI_API_URL": origami.url,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def settings_for(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str | None, **extra: str
) -> Settings:
    return Settings(_env_file=None, **{**env_for(slack, origami, redis_url), **extra})


def named(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


async def beat(stores: Stores) -> None:
    await stores.heartbeats.beat("doctor-test-worker")


def config_get(url: str, name: str) -> str:
    client = redis_sync.Redis.from_url(url, decode_responses=True)
    try:
        return str(client.config_get(name)[name])
    finally:
        client.close()


# -- against healthy fakes -------------------------------------------------------------------


async def test_everything_passes_with_a_worker_beating(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    checks = await diagnose(settings_for(slack, origami, redis_url))
    assert [c.name for c in checks] == ALL_CHECKS
    aof = config_get(redis_url, "appendonly") == "yes"
    for check in checks:
        expected = Status.PASS if check.name != "Redis persistence" or aof else Status.WARN
        assert check.status is expected, check
    found = named(checks)
    assert found["Slack"].detail == (
        f"team Fake Workspace ({slack.team_id}), bot user @origami ({slack.bot_user_id})"
    )
    assert found["Origami"].detail == "organisation Fake Org, plan Pro, no limit on agents at once"
    assert found["Origami credits"].detail == "5,000 credits"
    # GET /account, then GET /account/credits: two of the organisation's 100 this minute.
    assert found["Origami rate limit"].detail == (
        "98 of 100 requests left this minute for the organisation"
    )
    assert found["Workers"].detail == "1 worker beating"
    assert exit_code(checks) == 0
    # The fakes saw each call once, with the settings' credentials.
    [auth] = slack.calls("auth.test")
    assert auth.headers["Authorization"] == f"Bearer {slack.bot_token}"
    assert [r.path for r in origami.requests()] == ["/account", "/account/credits"]


async def test_the_fakes_account_answers_follow_the_spec(origami: FakeOrigami) -> None:
    spec_or_skip()
    headers = {"Authorization": f"Bearer {origami.api_key}"}
    async with httpx.AsyncClient(base_url=origami.url + "/", headers=headers) as http:
        for path in ("account", "account/credits"):
            response = await http.get(path)
            assert response.status_code == 200
            ptr = pointer("paths", f"/{path}", "get", "responses", "200", "content")
            schema = ptr + pointer("application/json", "schema")
            assert validation_errors(schema, response.json()) == []
            assert response.headers["X-RateLimit-Limit-Global"] == "100"
            assert int(response.headers["X-RateLimit-Remaining-Global"]) < 100


async def test_aof_off_is_a_warning(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    if config_get(redis_url, "appendonly") != "no":
        pytest.skip("the test Redis has AOF on")
    await beat(stores)
    check = named(await diagnose(settings_for(slack, origami, redis_url)))["Redis persistence"]
    assert check.status is Status.WARN
    assert check.detail == "AOF is off: a Redis restart forgets every conversation"
    assert "`CONFIG SET appendonly yes`" in check.fix


async def test_an_evicting_maxmemory_policy_fails(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    # The test Redis is shared with other runs: the policy is put back whatever happens.
    client = redis_sync.Redis.from_url(redis_url, decode_responses=True)
    previous = str(client.config_get("maxmemory-policy")["maxmemory-policy"])
    try:
        client.config_set("maxmemory-policy", "allkeys-lru")
        checks = await diagnose(settings_for(slack, origami, redis_url))
    finally:
        client.config_set("maxmemory-policy", previous)
        client.close()
    check = named(checks)["Redis eviction"]
    assert check.status is Status.FAIL
    assert check.detail.startswith("maxmemory-policy allkeys-lru: a full Redis drops keys")
    assert "`CONFIG SET maxmemory-policy noeviction`" in check.fix
    assert exit_code(checks) == 1


# -- what fails, and what it says ------------------------------------------------------------


async def test_a_missing_scope_is_named_with_its_fix(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    slack.bot_scopes = [s for s in slack.bot_scopes if s != "files:write"]
    checks = await diagnose(settings_for(slack, origami, redis_url))
    check = named(checks)["Slack scopes"]
    assert check.status is Status.FAIL
    assert check.detail == "the token lacks files:write (Export CSV)"
    assert "OAuth & Permissions → Bot Token Scopes" in check.fix
    assert "reinstall the app" in check.fix
    assert exit_code(checks) == 1


async def test_a_bad_slack_token_fails_and_its_checks_are_left_out(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    settings = settings_for(slack, origami, redis_url, SLACK_BOT_TOKEN="xoxb-not-the-token")
    found = named(await diagnose(settings))
    assert found["Slack"].detail == "Slack refused SLACK_BOT_TOKEN (invalid_auth)"
    assert "Slack scopes" not in found


async def test_a_bad_origami_key_is_named_with_where_to_get_one(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    wrong = "og_live_" + "w" * 40
    checks = await diagnose(settings_for(slack, origami, redis_url, ORIGAMI_API_KEY=wrong))
    found = named(checks)
    check = found["Origami"]
    assert check.status is Status.FAIL
    assert check.detail == "Origami refused ORIGAMI_API_KEY (401 UNAUTHORIZED: Invalid API key)"
    assert "Origami → Settings → Developers → API keys" in check.fix
    # Credits and the rate limit need a key that works: left out, not failed twice more.
    assert "Origami credits" not in found and "Origami rate limit" not in found
    assert wrong not in render_text(checks)


async def test_low_and_no_credits_and_the_plan_come_from_the_account(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    origami.plan = {"id": "starter", "name": "Starter"}
    origami.concurrency_limit = 1
    origami.credits = 20
    found = named(await diagnose(settings_for(slack, origami, redis_url)))
    assert found["Origami"].detail == "organisation Fake Org, plan Starter, 1 agents at once"
    assert found["Origami credits"].status is Status.WARN
    assert found["Origami credits"].detail.startswith("20 credits left")
    origami.credits = 0
    found = named(await diagnose(settings_for(slack, origami, redis_url)))
    assert found["Origami credits"].status is Status.FAIL
    assert "Settings → Billing" in found["Origami credits"].fix


async def test_a_plan_refusal_names_the_billing_link_origami_gives(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    body = {
        "error": "Subscription required",
        "code": "SUBSCRIPTION_REQUIRED",
        "hint": "API access needs a paid plan.",
        "handoff": {"kind": "upgrade-plan", "url": "https://origami.chat/settings/billing?u=1"},
    }
    origami.fail_next(1, 402, path_prefix="/account", body=body)
    check = named(await diagnose(settings_for(slack, origami, redis_url)))["Origami"]
    assert check.status is Status.FAIL
    assert "402 SUBSCRIPTION_REQUIRED" in check.detail
    assert check.fix == f"sort out the plan or billing at {body['handoff']['url']}"


async def test_no_worker_fails(slack: FakeSlack, origami: FakeOrigami, redis_url: str) -> None:
    checks = await diagnose(settings_for(slack, origami, redis_url))
    check = named(checks)["Workers"]
    assert check.status is Status.FAIL
    assert check.detail.startswith("no worker heartbeat in Redis")
    assert "start `python -m bot worker`" in check.fix
    assert exit_code(checks) == 1


async def test_socket_mode_opens_a_connection_with_the_app_token(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    settings = settings_for(slack, origami, redis_url, SLACK_APP_TOKEN=slack.app_token)
    check = named(await diagnose(settings))["Slack Socket Mode"]
    assert check.status is Status.PASS
    [call] = slack.calls("apps.connections.open")
    assert call.headers["Authorization"] == f"Bearer {slack.app_token}"
    wrong = settings_for(slack, origami, redis_url, SLACK_APP_TOKEN="xapp-1-A1-1-not-it")
    check = named(await diagnose(wrong))["Slack Socket Mode"]
    assert check.status is Status.FAIL
    assert check.detail == "Slack refused SLACK_APP_TOKEN for apps.connections.open (invalid_auth)"


async def test_nothing_answering_is_a_failing_line_each_never_a_traceback(
    slack: FakeSlack, origami: FakeOrigami
) -> None:
    closed = free_port()
    settings = settings_for(
        slack,
        origami,
        f"redis://127.0.0.1:{closed}/0",
        SLACK_API_URL=f"http://127.0.0.1:{closed}/api/",
        ORIGAMI_API_URL=f"http://127.0.0.1:{closed}/api/v2",
    )
    checks = await asyncio.wait_for(diagnose(settings), timeout=20)
    assert [(c.name, c.status) for c in checks] == [
        ("Slack", Status.FAIL),
        ("Origami", Status.FAIL),
        # A setting checked against the manifest, which needs nothing to answer.
        ("Origami link unfurls", Status.PASS),
        ("Redis", Status.FAIL),
    ]
    slack_line, origami_line, _, redis_line = checks
    assert slack_line.detail.startswith(f"could not reach Slack at http://127.0.0.1:{closed}/api/")
    assert "SLACK_API_URL" in slack_line.fix
    assert origami_line.detail.startswith("could not reach Origami at")
    assert "ORIGAMI_API_URL" in origami_line.fix
    assert redis_line.detail.startswith("Redis does not answer (")
    assert "REDIS_URL" in redis_line.fix
    text = render_text(checks)
    assert "Traceback" not in text
    for secret in settings.secrets():
        assert secret not in text


async def test_without_redis_url_the_embedded_store_is_a_warning(
    slack: FakeSlack, origami: FakeOrigami
) -> None:
    checks = await diagnose(settings_for(slack, origami, None))
    redis_line = named(checks)["Redis"]
    assert redis_line.status is Status.WARN
    assert "embedded in-process store keeps nothing" in redis_line.detail
    assert "Workers" not in named(checks)
    assert exit_code(checks) == 0


async def test_run_doctor_prints_the_report_and_returns_the_exit_code(
    slack: FakeSlack,
    origami: FakeOrigami,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for(slack, origami, redis_url)
    # run_doctor runs its own event loop, as `python -m bot doctor` does; the fakes keep
    # serving on this one.
    code = await asyncio.to_thread(run_doctor, settings)
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ FAIL  Workers" in out
    assert "fix: start `python -m bot worker`" in out
    assert out.rstrip().endswith("then run `python -m bot doctor` again.")
    for secret in settings.secrets():
        assert secret not in out


# -- the command -----------------------------------------------------------------------------


async def run_command(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ORIGAMI_", "REDIS_"))
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        *args,
        cwd=str(cwd),
        env={**base, **env, "PYTHONIOENCODING": "utf-8"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=40)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_python_m_bot_doctor_json_and_exit_codes(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores, tmp_path: Path
) -> None:
    await beat(stores)
    env = env_for(slack, origami, redis_url)
    # A directory without a .env, so that only these settings count.
    code, out, err = await run_command(env, tmp_path, "--json")
    assert code == 0, out + err
    document = json.loads(out)
    assert document["ok"] is True
    assert [c["name"] for c in document["checks"]] == ALL_CHECKS
    assert document["counts"]["fail"] == 0
    assert "Traceback" not in err
    code, out, err = await run_command(
        {k: v for k, v in env.items() if k != "SLACK_BOT_TOKEN"}, tmp_path
    )
    assert code == 2
    assert "To serve one workspace needs SLACK_BOT_TOKEN" in err and out == ""


async def test_a_workspace_that_refused_agent_features_is_a_warning_with_the_fix(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str, stores: Stores
) -> None:
    await beat(stores)
    await stores.workspaces.refuse(slack.team_id, AgentFeature.SESSIONS, "not_allowed")
    found = named(await diagnose(settings_for(slack, origami, redis_url)))
    check = found["Slack agent features"]
    assert check.status is Status.WARN
    assert "own Stop button" in check.detail and "thread status" not in check.detail
    assert check.fix is not None and "features.agent_view" in check.fix
    # Without a shared Redis, nothing runs learnt can be read: no line at all.
    alone = named(await diagnose(settings_for(slack, origami, None)))
    assert "Slack agent features" not in alone
