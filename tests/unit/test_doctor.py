"""``python -m bot doctor`` without a network: what each check concludes, the report, the
account models against the OpenAPI file, the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.__main__ import main
from bot.doctor.report import exit_code, redacted, render_json, render_text
from bot.doctor.unfurls import covered, unfurl_domain
from bot.doctor.verdicts import (
    MANIFEST_BOT_SCOPES,
    Check,
    Status,
    granted_scopes,
    origami_account,
    origami_credits,
    origami_failed,
    origami_rate_limit,
    redis_server,
    slack_scopes,
    slack_token_refused,
    socket_mode_refused,
    workers,
)
from bot.origami import errors
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import Account, Credits, ErrorBody, Handoff
from bot.slack.scopes import MANIFEST_UNFURL_DOMAINS
from bot.stores.health import ServerFacts
from tests.unit.test_contract import generate, pointer, resolve, spec_or_skip, validation_errors

ROOT = Path(__file__).resolve().parents[2]


def facts(**overrides: Any) -> ServerFacts:
    values: dict[str, Any] = {
        "version": "7.2.4",
        "mode": "standalone",
        "appendonly": "yes",
        "appendfsync": "everysec",
        "maxmemory_policy": "noeviction",
        "ping_ms": (0.3, 0.2, 0.4, 0.3, 0.2),
    }
    values.update(overrides)
    return ServerFacts(**values)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# -- Slack -----------------------------------------------------------------------------------


def test_the_scopes_checked_are_the_manifests_bot_scopes() -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text(encoding="utf-8"))
    assert list(MANIFEST_BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


def test_granted_scopes_come_from_the_x_oauth_scopes_header_whatever_its_case() -> None:
    assert granted_scopes({"X-OAuth-Scopes": "chat:write, files:write,,users:read"}) == [
        "chat:write",
        "files:write",
        "users:read",
    ]
    assert granted_scopes({"content-type": "application/json"}) is None


def test_all_manifest_scopes_pass_and_extra_ones_do_not_matter() -> None:
    check = slack_scopes([*MANIFEST_BOT_SCOPES, "reactions:write"])
    assert check.status is Status.PASS
    assert check.detail == f"all {len(MANIFEST_BOT_SCOPES)} bot scopes of the app's manifest"


def test_each_missing_scope_is_named_with_what_it_is_for_and_how_to_add_it() -> None:
    granted = [s for s in MANIFEST_BOT_SCOPES if s not in ("files:write", "users:read")]
    check = slack_scopes(granted)
    assert check.status is Status.FAIL
    assert check.detail == (
        "the token lacks files:write (Export CSV), users:read (names in shared cards)"
    )
    assert check.fix.startswith("add files:write, users:read under https://api.slack.com/apps")
    assert "OAuth & Permissions → Bot Token Scopes" in check.fix
    assert "reinstall the app to the workspace" in check.fix


def test_scopes_slack_does_not_report_are_a_warning() -> None:
    check = slack_scopes(None)
    assert check.status is Status.WARN
    assert "x-oauth-scopes" in check.detail and "slack-app-manifest.yml" in check.fix


def test_a_refused_bot_token_says_where_to_copy_a_good_one() -> None:
    check = slack_token_refused("invalid_auth")
    assert (check.name, check.status) == ("Slack", Status.FAIL)
    assert check.detail == "Slack refused SLACK_BOT_TOKEN (invalid_auth)"
    assert "Bot User OAuth Token (xoxb-…)" in check.fix and "SLACK_BOT_TOKEN" in check.fix
    other = slack_token_refused("HTTP 404")
    assert "SLACK_API_URL" in other.fix


def test_a_refused_app_token_says_how_to_make_one() -> None:
    check = socket_mode_refused("invalid_auth")
    assert check.status is Status.FAIL and "(invalid_auth)" in check.detail
    assert "connections:write" in check.fix and "SLACK_APP_TOKEN" in check.fix


# -- Origami ---------------------------------------------------------------------------------


def test_the_account_line_names_organisation_plan_and_slots() -> None:
    account = Account.model_validate(
        {
            "organization": {"id": "o", "name": "Acme"},
            "plan": {"id": "pro", "name": "Pro"},
            "capabilities": {"canUseApi": True, "concurrentAgents": 3},
        }
    )
    check = origami_account(account)
    assert check == Check("Origami", Status.PASS, "organisation Acme, plan Pro, 3 agents at once")
    unlimited = origami_account(
        Account.model_validate({"plan": {"id": "enterprise", "name": "Enterprise"}})
    )
    assert unlimited.detail.endswith("plan Enterprise, no limit on agents at once")


def test_a_plan_without_api_access_fails() -> None:
    check = origami_account(
        Account.model_validate(
            {"plan": {"id": "free", "name": "Free"}, "capabilities": {"canUseApi": False}}
        )
    )
    assert check.status is Status.FAIL
    assert check.detail == "the plan (Free) has no API access"
    assert "Settings → Billing" in check.fix


@pytest.mark.parametrize(
    ("balance", "status", "detail"),
    [
        (12_345, Status.PASS, "12,345 credits"),
        (100, Status.PASS, "100 credits"),
        (99.5, Status.WARN, "99.50 credits left: runs stop starting when they run out"),
        (0, Status.FAIL, "no credits left (0): no run can start"),
        (-3, Status.FAIL, "no credits left (-3): no run can start"),
        (None, Status.WARN, "Origami did not say the balance"),
    ],
)
def test_credits_warn_when_low_and_fail_when_none(
    balance: float | None, status: Status, detail: str
) -> None:
    check = origami_credits(balance)
    assert (check.status, check.detail) == (status, detail)
    assert (check.fix == "") is (status is Status.PASS)


def test_a_401_names_the_key_and_where_to_get_one() -> None:
    exc = errors.Unauthorized(401, ErrorBody(error="Invalid API key", code="UNAUTHORIZED"))
    check = origami_failed("Origami", exc, "https://origami.chat/api/v2")
    assert check.status is Status.FAIL
    assert check.detail == "Origami refused ORIGAMI_API_KEY (401 UNAUTHORIZED: Invalid API key)"
    assert "Origami → Settings → Developers → API keys" in check.fix
    assert "set ORIGAMI_API_KEY" in check.fix


def test_a_402_names_the_billing_link_origami_gives() -> None:
    handoff = Handoff(kind="upgrade-plan", url="https://origami.chat/settings/billing?x=1")
    body = ErrorBody(
        error="Subscription required",
        code="SUBSCRIPTION_REQUIRED",
        hint="API access needs a paid plan.",
        handoff=handoff,
    )
    check = origami_failed("Origami", errors.SubscriptionRequired(402, body), "u")
    assert check.status is Status.FAIL
    assert (
        "SUBSCRIPTION_REQUIRED" in check.detail and "API access needs a paid plan." in check.detail
    )
    assert check.fix == "sort out the plan or billing at https://origami.chat/settings/billing?x=1"
    blocked = errors.AccountBlocked(402, ErrorBody(error="Account blocked", code="ACCOUNT_BLOCKED"))
    assert origami_failed("Origami", blocked, "u").fix.endswith("Origami → Settings → Billing")


def test_origami_unreachable_names_the_url_to_check() -> None:
    try:
        raise errors.OrigamiUnreachable("GET account: ConnectError") from httpx.ConnectError(
            "connection refused"
        )
    except errors.OrigamiUnreachable as exc:
        check = origami_failed("Origami", exc, "http://127.0.0.1:9/api/v2")
    assert check.status is Status.FAIL
    assert check.detail == (
        "could not reach Origami at http://127.0.0.1:9/api/v2 (ConnectError: connection refused)"
    )
    assert "ORIGAMI_API_URL" in check.fix


def test_requests_left_this_minute_come_from_the_rate_limit_headers() -> None:
    headers = {
        "x-ratelimit-limit-global": "100",
        "x-ratelimit-remaining-global": "97",
        "x-ratelimit-limit-ip": "300",
        "x-ratelimit-remaining-ip": "290",
    }
    check = origami_rate_limit(headers, 90)
    assert check.status is Status.PASS
    assert check.detail == (
        "97 of 100 requests left this minute for the organisation, 290 of 300 from this IP"
    )
    low = origami_rate_limit({**headers, "x-ratelimit-remaining-global": "4"}, 90)
    assert low.status is Status.WARN and "other clients of the organisation" in low.detail
    above = origami_rate_limit({**headers, "x-ratelimit-limit-global": "60"}, 90)
    assert above.status is Status.WARN
    assert above.fix == "set ORIGAMI_REQUESTS_PER_MINUTE to 54 or less"
    none = origami_rate_limit({}, 90)
    assert (none.status, none.detail) == (Status.PASS, "not reported (no X-RateLimit headers)")


# -- Redis and the workers -------------------------------------------------------------------


def test_a_healthy_redis_passes_every_line() -> None:
    checks = redis_server(facts())
    assert [(c.name, c.status) for c in checks] == [
        ("Redis", Status.PASS),
        ("Redis persistence", Status.PASS),
        ("Redis eviction", Status.PASS),
        ("Redis latency", Status.PASS),
    ]
    assert checks[0].detail == "Redis 7.2.4 (standalone)"
    assert checks[1].detail == "AOF on, appendfsync everysec"
    assert checks[3].detail == "round trip 0.3 ms (median of 5 PINGs)"


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("6.0.20", Status.WARN),
        ("5.0.14", Status.WARN),
        ("6.2.0", Status.PASS),
        ("7.4.1", Status.PASS),
    ],
)
def test_redis_older_than_6_2_is_a_warning(version: str, status: Status) -> None:
    check = by_name(redis_server(facts(version=version)))["Redis"]
    assert check.status is status
    if status is Status.WARN:
        assert check.detail == f"Redis {version} is older than 6.2, the oldest this app supports"


def test_a_redis_cluster_fails() -> None:
    check = by_name(redis_server(facts(mode="cluster")))["Redis"]
    assert check.status is Status.FAIL and "single Redis" in check.fix


def test_aof_off_is_a_warning_with_the_settings_that_fix_it() -> None:
    check = by_name(redis_server(facts(appendonly="no")))["Redis persistence"]
    assert check.status is Status.WARN
    assert check.detail == "AOF is off: a Redis restart forgets every conversation"
    assert "`CONFIG SET appendonly yes`" in check.fix
    assert "`CONFIG SET appendfsync everysec`" in check.fix
    lazy = by_name(redis_server(facts(appendfsync="no")))["Redis persistence"]
    assert lazy.status is Status.WARN and "appendfsync everysec" in lazy.fix


@pytest.mark.parametrize(
    "policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-ttl"]
)
def test_a_policy_that_evicts_keys_fails(policy: str) -> None:
    check = by_name(redis_server(facts(maxmemory_policy=policy)))["Redis eviction"]
    assert check.status is Status.FAIL
    assert check.detail.startswith(f"maxmemory-policy {policy}: a full Redis drops keys")
    assert "`CONFIG SET maxmemory-policy noeviction`" in check.fix


def test_config_refused_says_it_could_not_be_checked() -> None:
    checks = by_name(redis_server(facts(appendonly=None, appendfsync=None, maxmemory_policy=None)))
    for name in ("Redis persistence", "Redis eviction"):
        assert checks[name].status is Status.WARN
        assert checks[name].detail.startswith("could not be checked: this Redis refuses CONFIG")


def test_slow_round_trips_are_a_warning() -> None:
    check = by_name(redis_server(facts(ping_ms=(60.0, 70.0, 65.0))))["Redis latency"]
    assert check.status is Status.WARN
    assert check.detail.startswith("round trip 65.0 ms (median of 3 PINGs)")


def test_no_worker_fails_and_says_what_to_start() -> None:
    check = workers(0)
    assert check.status is Status.FAIL
    assert "start `python -m bot worker`" in check.fix
    assert workers(1) == Check("Workers", Status.PASS, "1 worker beating")
    assert workers(3).detail == "3 workers beating"


# -- the report ------------------------------------------------------------------------------

REPORT = [
    Check("Slack", Status.PASS, "team Acme (T1), bot user @origami (U1)"),
    Check("Redis persistence", Status.WARN, "AOF is off", fix="`CONFIG SET appendonly yes`"),
    Check("Workers", Status.FAIL, "no worker heartbeat in Redis", fix="start a worker"),
]


def test_the_text_report_aligns_marks_names_and_details() -> None:
    text = render_text(REPORT)
    assert text.splitlines() == [
        "✓ PASS  Slack              team Acme (T1), bot user @origami (U1)",
        "! WARN  Redis persistence  AOF is off",
        "                           fix: `CONFIG SET appendonly yes`",
        "✗ FAIL  Workers            no worker heartbeat in Redis",
        "                           fix: start a worker",
        "",
        "1 fail, 1 warn, 1 pass: fix what fails, then run `python -m bot doctor` again.",
    ]
    ascii_text = render_text(REPORT, ascii_only=True)
    assert ascii_text.splitlines()[0].startswith("+ PASS  Slack")
    assert ascii_text.isascii()


def test_long_lines_wrap_under_their_column() -> None:
    long = Check("Slack", Status.FAIL, "word " * 40, fix="fix " * 40)
    lines = render_text([long]).splitlines()
    assert all(len(line) <= 100 for line in lines)
    # "✗ FAIL  " and the name column ("Slack" and two spaces): 15 characters.
    assert lines[1] == " " * 15 + lines[1].lstrip()
    assert lines[1].lstrip().startswith("word")
    fix_line = next(i for i, line in enumerate(lines) if "fix:" in line)
    assert lines[fix_line].startswith(" " * 15 + "fix: fix")
    assert lines[fix_line + 1] == " " * 20 + lines[fix_line + 1].lstrip()


def test_the_json_report_is_one_document() -> None:
    document = json.loads(render_json(REPORT))
    assert document["ok"] is False
    assert document["counts"] == {"pass": 1, "warn": 1, "fail": 1}
    assert document["checks"][0] == {
        "name": "Slack",
        "status": "pass",
        "detail": "team Acme (T1), bot user @origami (U1)",
        "fix": None,
    }
    assert document["checks"][2]["fix"] == "start a worker"


def test_exit_code_is_1_only_when_something_fails() -> None:
    assert exit_code(REPORT) == 1
    assert exit_code(REPORT[:2]) == 0
    assert exit_code([]) == 0


def test_secrets_are_blanked_out_of_every_line() -> None:
    leaky = [Check("Redis", Status.FAIL, "cannot reach redis://:hunter2@db:6379", fix="og_live_x")]
    [clean] = redacted(leaky, ["redis://:hunter2@db:6379", "og_live_x", ""])
    assert clean.detail == "cannot reach [redacted]"
    assert clean.fix == "[redacted]"


# -- the account models against the OpenAPI file ----------------------------------------------


@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
async def test_the_account_calls_parse_what_the_spec_describes(full: bool) -> None:
    spec = spec_or_skip()
    bodies = {}
    for path in ("/account", "/account/credits"):
        ptr = pointer("paths", path, "get", "responses", "200", "content", "application/json")
        schema = resolve(spec, {"$ref": "#" + ptr})["schema"]
        bodies[path] = generate(spec, schema, full=full)
        assert validation_errors(ptr + "/schema", bodies[path]) == []
    limits = {"X-RateLimit-Limit-Global": "100", "X-RateLimit-Remaining-Global": "42"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=bodies[request.url.path.removeprefix("/api/v2")], headers=limits
        )

    client = OrigamiClient(
        build_http_client(
            "https://origami.test/api/v2", "k", transport=httpx.MockTransport(answer)
        ),
        retry=RetryPolicy(attempts=1),
    )
    try:
        account, account_limits = await client.get_account()
        credits, credit_limits = await client.get_credits()
    finally:
        await client.aclose()
    assert isinstance(account, Account) and isinstance(credits, Credits)
    assert account.plan_id == "x" and account.plan_name == "x"
    assert account.can_use_api is True
    assert account.concurrent_agents == (1 if full else None)
    assert credits.balance == 1.5
    assert (
        account_limits
        == credit_limits
        == {
            "x-ratelimit-limit-global": "100",
            "x-ratelimit-remaining-global": "42",
        }
    )


def test_an_account_body_that_breaks_the_schema_reads_as_absent_fields() -> None:
    account = Account.model_validate({"plan": "pro", "capabilities": {"concurrentAgents": "many"}})
    assert (account.plan_name, account.concurrent_agents) == ("", None)
    assert Credits.model_validate({"balance": "lots"}).balance is None


# -- the command line ------------------------------------------------------------------------


def test_json_without_doctor_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["web", "--json"])
    assert info.value.code == 2
    assert "--json goes with doctor" in capsys.readouterr().err


# -- Link unfurls ----------------------------------------------------------------------------


def test_the_unfurl_domains_checked_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text(encoding="utf-8"))
    assert list(MANIFEST_UNFURL_DOMAINS) == manifest["features"]["unfurl_domains"]
    as_json = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    assert list(MANIFEST_UNFURL_DOMAINS) == as_json["features"]["unfurl_domains"]


def test_links_on_the_manifests_domain_or_a_subdomain_unfurl() -> None:
    assert unfurl_domain("https://origami.chat").status is Status.PASS
    assert unfurl_domain("https://eu.Origami.chat/").status is Status.PASS


def test_an_app_url_off_the_manifests_domains_is_a_warning_with_the_manifest_fix() -> None:
    check = unfurl_domain("https://origami.example.com")
    assert check.status is Status.WARN
    assert "origami.example.com" in check.detail
    assert "unfurl_domains" in check.fix
    # A look-alike that only ends with the domain's letters is not a subdomain of it.
    assert unfurl_domain("https://notorigami.chat").status is Status.WARN


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True))
def test_a_host_is_covered_only_by_being_a_domain_or_under_one(host: str) -> None:
    expected = host == "origami.chat" or host.endswith(".origami.chat")
    assert covered(host) is expected
