"""What two workarounds in the Origami client's HTTP stack cost or save, in CPU per poll.

``.venv/bin/python -m bench.client_overhead [--polls N] [--rounds R] [--concurrency C]``
(by hand; not part of ``python -m bench`` nor of the tests).

The fake Origami runs in a process of its own (``bench.fakeserver``), its runs never
finishing, so every request is a ``running`` poll (``OrigamiClient.get_run``, the watcher's
request). Each variant below polls the same runs ``N`` times from ``C`` tasks; the figure is
this process's CPU time (user + system, ``time.process_time``) over those polls, divided by
``N``. Variants take turns within each round, in an order that reverses every round, and
each is compared with ``plain`` in the same round, so what drifts between rounds (other
load on the machine, CPU frequency) falls on all of them alike. A first round warms up and
is not counted. The fake and this process are pinned to CPUs of their own when there are
two or more.

The variants:

- ``plain``: the client as ``build_http_client`` makes it;
- ``plain-again``: the same once more, a second client: its difference from ``plain`` is
  the noise floor;
- ``cookie-jar``: the same, but a plain ``httpx.AsyncClient``, whose cookie jar builds
  urllib request and response objects on every response (what the client's cookieless
  subclass in ``bot/origami/wire.py`` saves: Origami sets no cookies);
- ``resend-flag``: the transport turning aiohttp's own resend off through aiohttp's private
  ``_retry_connection`` attribute (as it did), instead of the public middleware it uses;
- ``aiohttp-resends``: neither, aiohttp free to send a GET again (only to see what the
  guard costs: the client must not run this way, see ``bot/origami/transport.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable

import aiohttp
import httpx

from bench import procs
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.transport import AiohttpTransport


class _ResendFlagTransport(AiohttpTransport):
    """The transport with aiohttp's resend turned off as it used to be: no middleware, the
    private flag instead."""

    resend = False

    def _get_session(self) -> aiohttp.ClientSession:
        fresh = self._session is None or self._session.closed
        session = super()._get_session()
        if fresh:
            session._middlewares = ()
            session._retry_connection = self.resend
        return session


class _ResendingTransport(_ResendFlagTransport):
    """No guard at all: aiohttp's default."""

    resend = True


def _transport() -> AiohttpTransport:
    # As build_http_client makes it.
    return AiohttpTransport(max_connections=24, keepalive_s=30)


def _plain(url: str, key: str) -> httpx.AsyncClient:
    return build_http_client(url, key, transport=_transport())


def _cookie_jar(url: str, key: str) -> httpx.AsyncClient:
    made = _plain(url, key)
    return httpx.AsyncClient(
        base_url=made.base_url,
        headers=made.headers,
        timeout=made.timeout,
        transport=_transport(),
    )


def _resend_flag(url: str, key: str) -> httpx.AsyncClient:
    return build_http_client(
        url, key, transport=_ResendFlagTransport(max_connections=24, keepalive_s=30)
    )


def _aiohttp_resends(url: str, key: str) -> httpx.AsyncClient:
    return build_http_client(
        url, key, transport=_ResendingTransport(max_connections=24, keepalive_s=30)
    )


VARIANTS: dict[str, Callable[[str, str], httpx.AsyncClient]] = {
    "plain": _plain,
    "plain-again": _plain,
    "cookie-jar": _cookie_jar,
    "resend-flag": _resend_flag,
    "aiohttp-resends": _aiohttp_resends,
}


async def _poll(
    client: OrigamiClient, runs: list[tuple[str, str]], polls: int, concurrency: int
) -> float:
    """CPU seconds of this process over ``polls`` polls of ``runs`` from ``concurrency`` tasks."""

    async def worker(offset: int) -> None:
        for i in range(offset, polls, concurrency):
            agent_id, run_id = runs[i % len(runs)]
            poll = await client.get_run(agent_id, run_id)
            assert poll.retry_after is not None, "a run finished: the figures would mix in others"

    before = time.process_time()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return time.process_time() - before


async def run(polls: int, rounds: int, concurrency: int) -> dict[str, list[float]]:
    # Runs answer "running" (Retry-After 1) for a billion polls: they never finish here.
    fake = await procs.start_fake("origami", "--polls", str(10**9), "--retry-after", "1")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:  # the fake and this process each on a CPU of its own: less noise
        os.sched_setaffinity(fake.pid, cpus[1:])
        os.sched_setaffinity(0, cpus[:1])
    url, key = fake.info["url"], fake.info["api_key"]
    clients: dict[str, OrigamiClient] = {}
    try:
        for name, make in VARIANTS.items():
            clients[name] = OrigamiClient(make(url, key), retry=RetryPolicy(attempts=1))
        creator = clients["plain"]
        runs = []
        for n in range(concurrency):
            created = await creator.create_agent(f"find founders {n}", idempotency_key=f"b-{n}")
            runs.append((created.agent.id, created.run.id))
        for client in clients.values():  # connections open, sessions made, URLs parsed
            await _poll(client, runs, concurrency * 20, concurrency)
        per_request: dict[str, list[float]] = {name: [] for name in VARIANTS}
        names = list(VARIANTS)
        for r in range(rounds + 1):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                cpu = await _poll(clients[name], runs, polls, concurrency)
                if r > 0:
                    per_request[name].append(cpu / polls * 1e6)
            if r > 0 and r % 10 == 0:
                print(f"{r} of {rounds} rounds", flush=True)
        return per_request
    finally:
        for client in clients.values():
            await client.aclose()
        fake.stop()


def report(per_request: dict[str, list[float]]) -> None:
    """Per variant: the median CPU per poll, and the median of its differences from
    ``plain`` measured in the same round (with their quartiles): pairing by round cancels
    what drifts between rounds. ``plain-again`` is ``plain`` once more, so its difference
    is the noise floor."""
    base = per_request["plain"]
    rounds = len(base)
    print(f"\nCPU per poll of this process, median of {rounds} rounds; then the median")
    print("difference from plain in the same round (quartiles), and as a share of plain:")
    for name, values in per_request.items():
        median = statistics.median(values)
        line = f"  {name:16} {median:6.1f} µs"
        if name != "plain":
            diffs = [v - b for v, b in zip(values, base, strict=True)]
            q1, mid, q3 = statistics.quantiles(diffs, n=4, method="inclusive")
            share = 100 * mid / statistics.median(base)
            line += f"   {mid:+6.1f} µs ({q1:+.1f} .. {q3:+.1f}) = {share:+.1f} %"
        print(line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--polls", type=int, default=400, help="polls per variant per round")
    parser.add_argument("--rounds", type=int, default=40, help="rounds counted (after a warm-up)")
    parser.add_argument("--concurrency", type=int, default=16, help="tasks polling at once")
    args = parser.parse_args(argv)
    report(asyncio.run(run(args.polls, args.rounds, args.concurrency)))


if __name__ == "__main__":
    main()
