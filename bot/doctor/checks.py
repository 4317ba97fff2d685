"""The checks of ``python -m bot doctor``: one async function per area (Slack, Origami,
Redis and the workers) makes the calls, with short timeouts, and returns its lines; what a
line says is decided by the pure functions of ``bot.doctor.verdicts``.

A call that fails (refused, unreachable, too slow) becomes a failing line that says what to
check, never an exception. A check that needs another to pass (the scopes need a token
Slack accepts) is left out when that one fails: its fix comes first.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.doctor import tenancy, verdicts
from bot.doctor.agent_checks import check_agent_features
from bot.doctor.unfurls import unfurl_domain
from bot.doctor.verdicts import CALL_TIMEOUT_S, Check, Status, reason
from bot.origami import errors
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.slack.app import build_web_client
from bot.stores import StoreError, Stores
from bot.stores.health import connect_briefly

# One quick retry of what is transient (a 5xx, a dropped connection), never a long wait.
_QUICK = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0, total_budget=CALL_TIMEOUT_S)
_SLACK_UNREACHABLE = (SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


# -- Slack ---------------------------------------------------------------------------------


async def check_slack(settings: Settings) -> list[Check]:
    """auth.test (who the token is, which scopes it has), in Socket Mode
    apps.connections.open with the app-level token, and what runs learnt of the
    workspace's agent features. Many workspaces: the installations' database instead (no
    one token to test)."""
    if settings.slack_bot_token is None:
        return [await check_installations(settings)]
    client = build_web_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url)
    client.timeout = int(CALL_TIMEOUT_S)
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return [verdicts.slack_token_refused(_slack_error(exc))]
    except _SLACK_UNREACHABLE as exc:
        return [verdicts.slack_unreachable(settings.slack_api_url, exc)]
    checks = [
        verdicts.slack_auth(response.data if isinstance(response.data, dict) else {}),
        verdicts.slack_scopes(verdicts.granted_scopes(response.headers)),
    ]
    if settings.slack_app_token is not None:
        checks.append(await check_socket_mode(client, settings.slack_app_token.get_secret_value()))
    checks += await check_agent_features(settings, str(response.get("team_id") or ""))
    return checks


async def check_socket_mode(client: AsyncWebClient, app_token: str) -> Check:
    try:
        await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        return verdicts.socket_mode_refused(_slack_error(exc))
    except _SLACK_UNREACHABLE as exc:
        return Check(
            "Slack Socket Mode",
            Status.FAIL,
            f"apps.connections.open did not answer ({reason(exc)})",
            fix="check that this host can reach Slack, then run the doctor again",
        )
    return Check(
        "Slack Socket Mode",
        Status.PASS,
        "SLACK_APP_TOKEN opens Socket Mode connections (apps.connections.open)",
    )


async def check_installations(settings: Settings) -> Check:
    """DATABASE_URL answers, with slack_sdk's tables; how many workspaces installed."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(settings.database_url.get_secret_value())
    try:
        async with engine.connect() as conn:
            count = (await conn.execute(text("SELECT COUNT(*) FROM slack_bots"))).scalar()
    except (SQLAlchemyError, OSError) as exc:
        return tenancy.database_failed(exc)
    finally:
        await engine.dispose()
    return tenancy.database_ok(int(count or 0))


def _slack_error(exc: SlackApiError) -> str:
    error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
    return str(error) if error else f"HTTP {exc.response.status_code}"


# -- Origami -------------------------------------------------------------------------------


async def check_origami(settings: Settings) -> list[Check]:
    """The Origami key's lines, then whether the app's table links can unfurl."""
    return [*await check_origami_key(settings), unfurl_domain(settings.origami_app_url)]


async def check_origami_key(settings: Settings) -> list[Check]:
    """GET /account (the key works: organisation, plan), then GET /account/credits (the
    balance, and the rate-limit headers of that answer). Many workspaces: each connects
    its own key in App Home, which checks it with ``GET /account`` before saving it."""
    if settings.origami_api_key is None:
        return [tenancy.origami_per_workspace(settings.origami_requests_per_minute)]
    http = build_http_client(
        settings.origami_api_url,
        settings.origami_api_key.get_secret_value(),
        timeout=CALL_TIMEOUT_S,
    )
    client = OrigamiClient(http, retry=_QUICK)
    try:
        try:
            account, _ = await client.get_account()
        except errors.OrigamiError as exc:
            return [verdicts.origami_failed("Origami", exc, settings.origami_api_url)]
        checks = [verdicts.origami_account(account)]
        try:
            credits, limits = await client.get_credits()
        except errors.OrigamiError as exc:
            checks.append(verdicts.origami_failed("Origami credits", exc, settings.origami_api_url))
            return checks
        checks.append(verdicts.origami_credits(credits.balance))
        checks.append(verdicts.origami_rate_limit(limits, settings.origami_requests_per_minute))
        return checks
    finally:
        await client.aclose()


# -- Redis and the workers -----------------------------------------------------------------


async def check_redis(settings: Settings) -> list[Check]:
    """The server (version, persistence, eviction, round trips), then the workers'
    heartbeats in it."""
    if settings.redis_url is None:
        return [
            Check(
                "Redis",
                Status.WARN,
                "REDIS_URL is not set: the embedded in-process store keeps nothing across a "
                "restart and shares nothing with another process (workers are not checked)",
                fix="set REDIS_URL (redis://host:6379/0) to a Redis 6.2 or newer with AOF on, "
                "for anything but a one-process trial",
            )
        ]
    stores = connect_briefly(settings.redis_url.get_secret_value(), CALL_TIMEOUT_S)
    try:
        try:
            facts = await stores.server_facts()
        except (StoreError, OSError) as exc:
            return [verdicts.redis_unreachable(exc)]
        return [*verdicts.redis_server(facts), await check_workers(stores)]
    finally:
        await stores.close()


async def check_workers(stores: Stores) -> Check:
    try:
        live = await stores.heartbeats.live_workers()
    except (StoreError, OSError) as exc:
        return Check(
            "Workers",
            Status.FAIL,
            f"the heartbeats could not be read ({reason(exc)})",
            fix="check that REDIS_URL's user may run Lua scripts (EVALSHA) and read keys",
        )
    return verdicts.workers(live)
