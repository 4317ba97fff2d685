"""A worker process's HTTP server (``/healthz``, ``/metrics`` on ``PORT``): it stops with
the watcher, and a ``PORT`` already taken costs the figures, never the work."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.__main__ import _serve_worker
from bot.config import Settings, load_settings
from bot.metrics import PREFIX, Metrics
from bot.worker import worker_web_app
from tests.conftest import free_port

VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "ORIGAMI_API_KEY": "og_live_" + "a" * 40,
}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class _Worker:
    """A worker half whose watcher ends when told to."""

    def __init__(self) -> None:
        self.end = asyncio.Event()

    async def ended(self) -> None:
        await self.end.wait()


def _settings(port: int) -> Settings:
    return load_settings(_env_file=None, **VALID, HOST="127.0.0.1", PORT=str(port))


async def test_the_server_answers_until_the_watcher_ends_then_the_process_exits_1() -> None:
    port = free_port()
    worker = _Worker()
    metrics = Metrics()
    metrics.polls.inc()
    serving = asyncio.create_task(_serve_worker(worker, metrics, _settings(port)))  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                health = await http.get(f"{url}/healthz")
                break
            except httpx.TransportError:
                assert asyncio.get_running_loop().time() < deadline, "the worker never listened"
                await asyncio.sleep(0.05)
        figures = await http.get(f"{url}/metrics")
    assert health.json() == {"ok": True, "role": "worker"}
    assert "origami_slack_polls_total 1.0" in figures.text
    worker.end.set()
    assert await asyncio.wait_for(serving, 15) == 1
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


async def test_a_port_already_taken_leaves_the_worker_working_without_http(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    worker = _Worker()
    with socket.create_server(("127.0.0.1", port)), caplog.at_level(logging.WARNING):
        serving = asyncio.create_task(_serve_worker(worker, Metrics(), _settings(port)))  # type: ignore[arg-type]
        await asyncio.sleep(0.2)
        assert not serving.done()  # still working
        worker.end.set()
        assert await asyncio.wait_for(serving, 5) == 1
    assert any("cannot listen on PORT" in r.getMessage() for r in caplog.records)


async def test_a_worker_serves_its_health_and_its_figures() -> None:
    m = Metrics()
    sizes = [3, 5]

    async def count() -> int:
        return sizes.pop(0)

    m.read_schedule_size(count)
    m.conversations_started.inc()
    transport = httpx.ASGITransport(app=worker_web_app(m))
    async with httpx.AsyncClient(transport=transport, base_url="http://w") as http:
        health = await http.get("/healthz")
        first = await http.get("/metrics")
        second = await http.get("/metrics")
    assert health.json() == {"ok": True, "role": "worker"}
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    assert samples(first.text)[(PREFIX + "runs_in_flight", ())] == 3
    assert samples(second.text)[(PREFIX + "runs_in_flight", ())] == 5
    assert samples(first.text)[(PREFIX + "conversations_started_total", ())] == 1
