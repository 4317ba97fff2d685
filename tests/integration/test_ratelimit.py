"""The shared Origami request budget, on a real Redis."""

from __future__ import annotations

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
