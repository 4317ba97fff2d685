"""What each check of ``python -m bot doctor`` concludes from what its calls returned: pure
functions, one line each, with the fix in plain words when the line does not pass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.origami import errors
from bot.origami.models import Account
from bot.slack.scopes import MANIFEST_BOT_SCOPES as MANIFEST_BOT_SCOPES
from bot.stores.health import ServerFacts
from bot.tenancy.slack import REFUSED_TOKEN_ERRORS

# Every network call of the doctor gives up after this long.
CALL_TIMEOUT_S = 5.0
# Fewer credits than this is a warning: a run needs at least a few credits, a list of leads
# with enrichment often hundreds.
LOW_CREDITS = 100
# Fewer requests left this minute than this share of the organisation's limit is a warning.
LOW_REQUESTS_SHARE = 0.1
MIN_REDIS = (6, 2)
SLOW_PING_MS = 50.0

SLACK_APPS = "https://api.slack.com/apps"
ORIGAMI_KEYS = "Origami → Settings → Developers → API keys"
ORIGAMI_BILLING = "Origami → Settings → Billing"


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report. ``fix``: what to do, when the status is not ``PASS``."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def reason(exc: BaseException) -> str:
    """An exception as a short phrase for a report line: its class, and its message."""
    text = " ".join(str(exc).split())
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


# -- Slack ---------------------------------------------------------------------------------

_BAD_TOKEN = REFUSED_TOKEN_ERRORS


def slack_auth(data: Mapping[str, Any]) -> Check:
    team = f"{data.get('team') or '?'} ({data.get('team_id') or '?'})"
    bot = f"@{data.get('user') or '?'} ({data.get('user_id') or '?'})"
    return Check("Slack", Status.PASS, f"team {team}, bot user {bot}")


def slack_token_refused(error: str) -> Check:
    if error in _BAD_TOKEN:
        fix = (
            f"copy the Bot User OAuth Token (xoxb-…) from {SLACK_APPS} → your app → OAuth & "
            "Permissions into SLACK_BOT_TOKEN (install the app to the workspace first if that "
            "page shows none)"
        )
    else:
        fix = "check SLACK_API_URL (leave it unset for https://slack.com/api/) and the token"
    return Check("Slack", Status.FAIL, f"Slack refused SLACK_BOT_TOKEN ({error})", fix)


def slack_unreachable(api_url: str, exc: BaseException) -> Check:
    return Check(
        "Slack",
        Status.FAIL,
        f"could not reach Slack at {api_url} ({reason(exc)})",
        fix="check SLACK_API_URL (leave it unset for https://slack.com/api/) and that this "
        "host can reach it (proxy, firewall, DNS)",
    )


def granted_scopes(headers: Mapping[str, Any]) -> list[str] | None:
    """The scopes in Slack's ``x-oauth-scopes`` response header; None without one."""
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            return [s.strip() for s in str(value).split(",") if s.strip()]
    return None


def slack_scopes(granted: list[str] | None) -> Check:
    if granted is None:
        return Check(
            "Slack scopes",
            Status.WARN,
            "Slack did not say which scopes the token has (no x-oauth-scopes header)",
            fix=f"compare the Bot Token Scopes under OAuth & Permissions ({SLACK_APPS}) with "
            "slack-app-manifest.yml",
        )
    missing = [scope for scope in MANIFEST_BOT_SCOPES if scope not in granted]
    if not missing:
        return Check(
            "Slack scopes",
            Status.PASS,
            f"all {len(MANIFEST_BOT_SCOPES)} bot scopes of the app's manifest",
        )
    lacking = ", ".join(f"{scope} ({MANIFEST_BOT_SCOPES[scope]})" for scope in missing)
    return Check(
        "Slack scopes",
        Status.FAIL,
        f"the token lacks {lacking}",
        fix=f"add {', '.join(missing)} under {SLACK_APPS} → your app → OAuth & Permissions → "
        "Bot Token Scopes, then reinstall the app to the workspace (Reinstall to Workspace, "
        "same page)",
    )


def socket_mode_refused(error: str) -> Check:
    return Check(
        "Slack Socket Mode",
        Status.FAIL,
        f"Slack refused SLACK_APP_TOKEN for apps.connections.open ({error})",
        fix=f"under {SLACK_APPS} → your app, turn Socket Mode on (Settings → Socket Mode), "
        "create an App-Level Token with connections:write (Basic Information → App-Level "
        "Tokens) and set SLACK_APP_TOKEN to it (xapp-…)",
    )


# -- Origami -------------------------------------------------------------------------------


def origami_failed(name: str, exc: errors.OrigamiError, api_url: str) -> Check:
    check_url = "check ORIGAMI_API_URL (leave it unset for https://origami.chat/api/v2)"
    if isinstance(exc, errors.Unauthorized):
        return Check(
            name,
            Status.FAIL,
            f"Origami refused ORIGAMI_API_KEY ({exc.status} {exc.code}: {exc.body.error})",
            fix=f"create a key in {ORIGAMI_KEYS} (a paid plan is needed; the key is shown "
            "once) and set ORIGAMI_API_KEY to it",
        )
    if isinstance(exc, errors.PaymentRequired):
        said = exc.body.message or exc.body.hint or exc.body.error
        where = exc.fix_url or ORIGAMI_BILLING
        return Check(
            name,
            Status.FAIL,
            f"Origami refuses this organisation ({exc.status} {exc.code}): {said}",
            fix=f"sort out the plan or billing at {where}",
        )
    if isinstance(exc, errors.RateLimited):
        return Check(
            name,
            Status.FAIL,
            "Origami is rate-limiting this organisation right now (429)",
            fix="run the doctor again in a minute; all keys of an organisation share its "
            "100 requests a minute",
        )
    if isinstance(exc, errors.OrigamiAPIError):
        code = f" {exc.code}" if exc.code else ""
        return Check(
            name,
            Status.FAIL,
            f"Origami answered {exc.status}{code}: {exc.body.error}",
            fix=f"{check_url}; if it is right, Origami has a problem: try again later",
        )
    return Check(
        name,
        Status.FAIL,
        f"could not reach Origami at {api_url} ({reason(exc.__cause__ or exc)})",
        fix=f"{check_url} and that this host can reach it (proxy, firewall, DNS)",
    )


def origami_account(account: Account) -> Check:
    plan = account.plan_name or account.plan_id or "unknown"
    if account.can_use_api is False:
        return Check(
            "Origami",
            Status.FAIL,
            f"the plan ({plan}) has no API access",
            fix=f"upgrade the plan in {ORIGAMI_BILLING}: the API needs a paid plan",
        )
    slots = account.concurrent_agents
    at_once = "no limit on agents at once" if slots is None else f"{slots} agents at once"
    organisation = account.organization_name or "(no name)"
    return Check("Origami", Status.PASS, f"organisation {organisation}, plan {plan}, {at_once}")


def _amount(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def origami_credits(balance: float | None) -> Check:
    if balance is None:
        return Check(
            "Origami credits",
            Status.WARN,
            "Origami did not say the balance",
            fix=f"look at the balance in {ORIGAMI_BILLING}",
        )
    if balance <= 0:
        return Check(
            "Origami credits",
            Status.FAIL,
            f"no credits left ({_amount(balance)}): no run can start",
            fix=f"top up in {ORIGAMI_BILLING}",
        )
    if balance < LOW_CREDITS:
        return Check(
            "Origami credits",
            Status.WARN,
            f"{_amount(balance)} credits left: runs stop starting when they run out",
            fix=f"top up in {ORIGAMI_BILLING}",
        )
    return Check("Origami credits", Status.PASS, f"{_amount(balance)} credits")


def _left(limits: Mapping[str, str], scope: str) -> tuple[int, int] | None:
    """(requests left, limit) this minute from the headers of ``scope`` (global or ip)."""
    try:
        left = int(limits[f"x-ratelimit-remaining-{scope}"])
        limit = int(limits[f"x-ratelimit-limit-{scope}"])
    except (KeyError, ValueError):
        return None
    return left, limit


def origami_rate_limit(limits: Mapping[str, str], configured: int) -> Check:
    """From the ``x-ratelimit-*`` headers: requests left this minute, for the organisation
    (all its keys share them) and from this IP; and whether ORIGAMI_REQUESTS_PER_MINUTE fits
    the organisation's limit."""
    organisation, ip = _left(limits, "global"), _left(limits, "ip")
    if organisation is None:
        return Check("Origami rate limit", Status.PASS, "not reported (no X-RateLimit headers)")
    left, limit = organisation
    detail = f"{left} of {limit} requests left this minute for the organisation"
    if ip is not None:
        detail += f", {ip[0]} of {ip[1]} from this IP"
    if configured > limit:
        return Check(
            "Origami rate limit",
            Status.WARN,
            f"{detail}; ORIGAMI_REQUESTS_PER_MINUTE is {configured}, above the limit",
            fix=f"set ORIGAMI_REQUESTS_PER_MINUTE to {max(1, limit * 9 // 10)} or less",
        )
    if left < limit * LOW_REQUESTS_SHARE:
        return Check(
            "Origami rate limit",
            Status.WARN,
            f"{detail}: other clients of the organisation are using it",
            fix="all keys of an organisation share its limit: lower what else uses them; "
            "the app waits for free requests, so its results come later meanwhile",
        )
    return Check("Origami rate limit", Status.PASS, detail)


# -- Redis and the workers -----------------------------------------------------------------


def redis_unreachable(exc: BaseException) -> Check:
    return Check(
        "Redis",
        Status.FAIL,
        f"Redis does not answer ({reason(exc)})",
        fix="check REDIS_URL (redis://[:password@]host:port/db, rediss:// for TLS) and that "
        "this host can reach that Redis",
    )


def redis_server(facts: ServerFacts) -> list[Check]:
    return [_version(facts), _persistence(facts), _eviction(facts), _latency(facts)]


def _version(facts: ServerFacts) -> Check:
    if facts.mode == "cluster":
        return Check(
            "Redis",
            Status.FAIL,
            f"Redis {facts.version} is a Redis Cluster: the app needs one Redis (its claim "
            "script reads a run's keys from its schedule entry)",
            fix="point REDIS_URL at a single Redis (replicas are fine), not a cluster",
        )
    if not facts.version_tuple:
        return Check(
            "Redis",
            Status.WARN,
            "Redis did not say its version (INFO server)",
            fix="make sure it is Redis 6.2 or newer",
        )
    if facts.version_tuple < MIN_REDIS:
        return Check(
            "Redis",
            Status.WARN,
            f"Redis {facts.version} is older than 6.2, the oldest this app supports",
            fix="upgrade Redis to 6.2 or newer",
        )
    return Check("Redis", Status.PASS, f"Redis {facts.version} ({facts.mode})")


def _persistence(facts: ServerFacts) -> Check:
    name = "Redis persistence"
    if facts.appendonly is None:
        return Check(
            name,
            Status.WARN,
            "could not be checked: this Redis refuses CONFIG (as managed services often do)",
            fix="make sure the service keeps an append-only file (AOF, appendfsync everysec): "
            "without one, a Redis restart forgets every conversation",
        )
    if facts.appendonly != "yes":
        return Check(
            name,
            Status.WARN,
            "AOF is off: a Redis restart forgets every conversation",
            fix="`CONFIG SET appendonly yes` and `CONFIG SET appendfsync everysec`, and the "
            "same two settings in redis.conf (or `CONFIG REWRITE`) so that they outlive a "
            "restart",
        )
    if facts.appendfsync == "no":
        return Check(
            name,
            Status.WARN,
            "AOF is on with appendfsync no: the OS writes when it likes, so a crash may lose "
            "the last 30 seconds",
            fix="`CONFIG SET appendfsync everysec`, and the same in redis.conf",
        )
    return Check(name, Status.PASS, f"AOF on, appendfsync {facts.appendfsync or '?'}")


def _eviction(facts: ServerFacts) -> Check:
    name, policy = "Redis eviction", facts.maxmemory_policy
    if policy is None:
        return Check(
            name,
            Status.WARN,
            "could not be checked: this Redis refuses CONFIG (as managed services often do)",
            fix="make sure the service's eviction policy (maxmemory-policy) is noeviction",
        )
    if policy == "noeviction":
        return Check(name, Status.PASS, "maxmemory-policy noeviction: a full Redis drops no keys")
    if policy.startswith(("allkeys-", "volatile-")):
        return Check(
            name,
            Status.FAIL,
            f"maxmemory-policy {policy}: a full Redis drops keys, and with them conversations "
            "and runs in flight (every key of the app has a TTL, so volatile-* drops them too)",
            fix="`CONFIG SET maxmemory-policy noeviction`, and the same in redis.conf or the "
            "service's settings",
        )
    return Check(
        name,
        Status.WARN,
        f"maxmemory-policy {policy} is not one this check knows",
        fix="set maxmemory-policy to noeviction",
    )


def _latency(facts: ServerFacts) -> Check:
    median, pings = facts.median_ping_ms, len(facts.ping_ms)
    detail = f"round trip {median:.1f} ms (median of {pings} PINGs)"
    if median > SLOW_PING_MS:
        return Check(
            "Redis latency",
            Status.WARN,
            f"{detail}: slow, and every message takes a few round trips",
            fix="run Redis close to the app (the same region or network)",
        )
    return Check("Redis latency", Status.PASS, detail)


def workers(live: int) -> Check:
    if live <= 0:
        return Check(
            "Workers",
            Status.FAIL,
            "no worker heartbeat in Redis: nothing sends prompts, polls runs or posts results",
            fix="start `python -m bot worker` (or `python -m bot`, which runs one) with the "
            "same REDIS_URL; a worker beats every 5 s",
        )
    return Check("Workers", Status.PASS, f"{live} worker{'s' if live != 1 else ''} beating")
