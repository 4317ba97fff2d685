"""The shared Origami request budget, on a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.origami.client import Priority
from bot.ratelimit import SharedBudget
from bot.store import Store


class _Waited(Exception):
    pass


async def _refuse_to_wait(seconds: float) -> None:
    raise _Waited(seconds)


async def test_polls_leave_a_reserve_for_people(store: Store) -> None:
    budget = SharedBudget(store, 10, sleep=_refuse_to_wait)
    assert budget.poll_limit == 9
    for _ in range(9):
        await budget.acquire(Priority.POLL)
    with pytest.raises(_Waited) as waited:
        await budget.acquire(Priority.POLL)
    # The oldest of the minute's requests frees a slot in about a minute.
    assert 50 < waited.value.args[0] <= 72
    await budget.acquire(Priority.USER)  # the reserve
    with pytest.raises(_Waited):
        await budget.acquire(Priority.USER)


async def test_two_processes_share_one_budget(store: Store, redis_target: object) -> None:
    import redis.asyncio as aredis

    from tests.conftest import RedisTarget

    assert isinstance(redis_target, RedisTarget)
    if redis_target.url is None:
        pytest.skip("needs a real Redis shared between clients")
    other = Store(aredis.Redis.from_url(redis_target.url, decode_responses=True))
    try:
        a = SharedBudget(store, 4, sleep=_refuse_to_wait)
        b = SharedBudget(other, 4, sleep=_refuse_to_wait)
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


@pytest.mark.parametrize("hand_off", [False, True], ids=["direct", "handed-off"])
async def test_every_request_of_a_conversation_takes_exactly_one_slot(
    store: Store, hand_off: bool
) -> None:
    """The POST's slot is taken with the prompt (no second one from the client, whether the
    bridge that kept it sends it or a watcher that claims it does), each poll's with its
    claim, and the client asks the gate only for what nobody took for it."""
    from bot import keys
    from bot.bridge import Bridge, BridgeConfig, Prompt, ThreadRef
    from bot.origami.client import OrigamiClient, build_http_client
    from bot.watcher import Watcher, WatcherConfig
    from tests.fakes.origami import FakeOrigami, RunScript
    from tests.fakes.presenter import RecordingPresenter

    budget = SharedBudget(store, 100, sleep=_refuse_to_wait)
    async with FakeOrigami(retry_after="0.05") as fake:
        fake.script(RunScript(polls=2))
        origami = OrigamiClient(build_http_client(fake.url, fake.api_key), gate=budget)
        presenter = RecordingPresenter()
        bridge = Bridge(
            store,
            origami,
            presenter,
            BridgeConfig(first_poll_s=0.01, hand_off=hand_off),
            budget=budget.rule,
        )
        watcher = Watcher(store, origami, bridge, WatcherConfig(idle_s=0.01), budget=budget.rule)
        try:
            await bridge.start_conversation(
                ThreadRef("T1", "C1", "1.0"), Prompt("find founders", "U1", "C1:1.0")
            )
            for _ in range(200):
                if presenter.of("result"):
                    break
                await watcher.tick()
                await asyncio.sleep(0.02)
        finally:
            await origami.aclose()
    assert presenter.of("result")
    requests = len(fake.requests())
    assert requests == 4  # POST /agents, two running polls, the one that sees it done
    assert await store.redis.zcard(keys.origami_budget()) == requests
