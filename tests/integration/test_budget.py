"""The shared Origami request budget, on a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.origami.client import Priority
from bot.stores import Stores, keys
from bot.stores.budget import BudgetRule, RequestBudget


class _Waited(Exception):
    pass


async def _refuse_to_wait(seconds: float) -> None:
    raise _Waited(seconds)


def _budget(stores: Stores, per_minute: int) -> RequestBudget:
    return RequestBudget(stores._client, BudgetRule.of(per_minute), sleep=_refuse_to_wait)


async def test_polls_leave_a_reserve_for_people(stores: Stores) -> None:
    budget = _budget(stores, 10)
    assert budget.rule.poll_limit == 9
    for _ in range(9):
        await budget.acquire(Priority.POLL)
    with pytest.raises(_Waited) as waited:
        await budget.acquire(Priority.POLL)
    # The oldest of the minute's requests frees a slot in about a minute.
    assert 50 < waited.value.args[0] <= 72
    await budget.acquire(Priority.USER)  # the reserve
    with pytest.raises(_Waited):
        await budget.acquire(Priority.USER)


async def test_two_processes_share_one_budget(stores: Stores, redis_target: object) -> None:
    import redis.asyncio as aredis

    from tests.conftest import RedisTarget

    assert isinstance(redis_target, RedisTarget)
    if redis_target.url is None:
        pytest.skip("needs a real Redis shared between clients")
    other = Stores.on(aredis.Redis.from_url(redis_target.url, decode_responses=True))
    try:
        a, b = _budget(stores, 4), _budget(other, 4)
        await a.acquire(Priority.USER)
        await b.acquire(Priority.USER)
        await a.acquire(Priority.USER)
        await b.acquire(Priority.USER)
        with pytest.raises(_Waited):
            await a.acquire(Priority.USER)
        with pytest.raises(_Waited):
            await b.acquire(Priority.USER)
    finally:
        await other.close()


async def test_every_request_of_a_conversation_takes_exactly_one_slot(stores: Stores) -> None:
    """The POST's slot is taken by the claim that hands the prompt to its sender (no second
    one from the client), each poll's by its claim, and the client asks the gate only for
    what nobody took for it."""
    from bot.assembly import assemble
    from bot.domain import Prompt, ThreadRef
    from bot.origami.client import OrigamiClient, build_http_client
    from bot.sending import SendConfig
    from bot.watcher import WatcherConfig
    from tests.fakes.agent_surface import RecordingAgentSurface
    from tests.fakes.origami import FakeOrigami, RunScript
    from tests.fakes.presenter import RecordingPresenter

    budget = _budget(stores, 100)
    async with FakeOrigami(retry_after="0.05") as fake:
        fake.script(RunScript(polls=2))
        origami = OrigamiClient(build_http_client(fake.url, fake.api_key), gate=budget)
        presenter = RecordingPresenter()
        core = assemble(
            stores,
            origami,
            presenter,
            SendConfig(first_poll_s=0.01),
            WatcherConfig(idle_s=0.01),
            budget.rule,
            surface=RecordingAgentSurface(),
        )
        try:
            await core.conversations.intake.take(
                ThreadRef("T1", "C1", "1.0"),
                Prompt("find founders", "U1", "C1:1.0"),
                may_start=True,
            )
            for _ in range(200):
                if presenter.of("result"):
                    break
                await core.watcher.tick()
                await asyncio.sleep(0.02)
        finally:
            await origami.aclose()
    assert presenter.of("result")
    requests = len(fake.requests())
    # POST /agents, two running polls, the one that sees it done, and the rows of its
    # table's lead preview.
    assert requests == 5
    assert len(fake.requests("GET", path_prefix="/tables/")) == 1
    assert await stores._client.zcard(keys.origami_budget()) == requests
