"""The client's scheduled-agent endpoints against the fake Origami over real HTTP: what
the fake does as the docs say (disabled by default, name and slug rules, cron refusals,
trigger, runs newest first, each organisation's own), and what the client makes of it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.origami import errors
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from tests.fakes.origami import FakeOrigami, RunScript

POLICY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, total_budget=5)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOrigami]:
    async with FakeOrigami(retry_after="0.1") as server:
        yield server


@pytest.fixture
async def client(fake: FakeOrigami) -> AsyncIterator[OrigamiClient]:
    origami = OrigamiClient(build_http_client(fake.url, fake.api_key, timeout=5), retry=POLICY)
    yield origami
    await origami.aclose()


async def raw(
    fake: FakeOrigami, method: str, path: str, key: str, **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"raw-{uuid.uuid4()}"}
    async with httpx.AsyncClient(base_url=fake.url) as http:
        return await http.request(method, path.lstrip("/"), headers=headers, **kwargs)  # type: ignore[arg-type]


async def test_created_disabled_by_default_unless_enabled_and_named_within_120(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    plain = await raw(
        fake,
        "POST",
        "/scheduled-agents",
        fake.api_key,
        json={"name": "Mondays", "prompt": "find founders", "cron": "0 9 * * 1"},
    )
    assert plain.status_code == 201 and plain.json()["enabled"] is False
    assert plain.json()["nextRunAt"] is None and plain.json()["slug"] == "mondays"
    made = await client.create_scheduled_agent(
        "Mondays", "find founders", "0 9 * * 1", idempotency_key="t:1"
    )
    assert made.enabled and made.next_run_at is not None
    assert fake.schedules.items[made.id].slug == "mondays-2"  # the derived slug was taken
    long = await raw(
        fake,
        "POST",
        "/scheduled-agents",
        fake.api_key,
        json={"name": "x" * 121, "prompt": "p", "cron": "0 9 * * 1"},
    )
    assert long.status_code == 400 and long.json()["code"] == "VALIDATION_ERROR"
    taken = await raw(
        fake,
        "POST",
        "/scheduled-agents",
        fake.api_key,
        json={"name": "A", "prompt": "p", "cron": "0 9 * * 1", "slug": "mondays"},
    )
    assert taken.status_code == 409 and taken.json()["code"] == "SLUG_TAKEN"
    bad_slug = await raw(
        fake,
        "POST",
        "/scheduled-agents",
        fake.api_key,
        json={"name": "A", "prompt": "p", "cron": "0 9 * * 1", "slug": "Bad Slug"},
    )
    assert bad_slug.status_code == 400


async def test_cron_refusals_are_their_own_codes(client: OrigamiClient) -> None:
    for cron, code in (("61 9 * * *", "INVALID_CRON"), ("*/15 * * * *", "CRON_TOO_FREQUENT")):
        with pytest.raises(errors.InvalidRequest) as refused:
            await client.create_scheduled_agent("S", "p", cron, idempotency_key=f"t:{cron}")
        assert refused.value.code == code


async def test_switch_trigger_runs_and_delete(fake: FakeOrigami, client: OrigamiClient) -> None:
    made = await client.create_scheduled_agent(
        "S", "find founders", "0 9 * * 1", idempotency_key="t:s"
    )
    paused = await client.set_scheduled_agent_enabled(made.id, False, idempotency_key="t:off")
    assert not paused.enabled and fake.schedules.fire(made.id) is None
    await client.set_scheduled_agent_enabled(made.id, True, idempotency_key="t:on")
    fake.script(RunScript(polls=None), RunScript(polls=0))
    first = fake.schedules.fire(made.id)
    assert first is not None
    busy = await raw(fake, "POST", f"/scheduled-agents/{made.id}/trigger", fake.api_key)
    assert busy.status_code == 409 and busy.json()["code"] == "RUN_ALREADY_ACTIVE"
    fake.finish(first.id)
    triggered = await raw(fake, "POST", f"/scheduled-agents/{made.id}/trigger", fake.api_key)
    assert triggered.status_code == 202
    second = triggered.json()["runId"]
    runs = await client.scheduled_runs(made.id)
    assert [r.run_id for r in runs] == [second, first.id]  # newest first
    assert runs[1].agent_id == first.agent_id != runs[0].agent_id
    # A scheduled run is a run like any: polled at its agent.
    poll = await client.get_run(first.agent_id, first.id)
    assert poll.run.id == first.id
    listed = await client.list_scheduled_agents()
    assert [s.id for s in listed] == [made.id]
    await client.delete_scheduled_agent(made.id)
    with pytest.raises(errors.NotFound):
        await client.scheduled_runs(made.id)
    assert await client.list_scheduled_agents() == []


async def test_another_organisations_key_sees_nothing(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    made = await client.create_scheduled_agent("S", "p", "0 9 * * 1", idempotency_key="t:o")
    other = fake.add_org("Other Org")
    for method, path in (
        ("GET", f"/scheduled-agents/{made.id}"),
        ("GET", f"/scheduled-agents/{made.id}/runs"),
        ("POST", f"/scheduled-agents/{made.id}/disable"),
        ("DELETE", f"/scheduled-agents/{made.id}"),
    ):
        refused = await raw(fake, method, path, other)
        assert refused.status_code == 404, path
        assert refused.json()["code"] == "SCHEDULED_AGENT_NOT_FOUND"
    listed = await raw(fake, "GET", "/scheduled-agents", other)
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    assert fake.schedules.items[made.id].enabled
