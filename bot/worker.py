"""The worker half of a process: the watcher, the hand-off listener and the heartbeat.

``python -m bot`` and ``python -m bot worker`` run it; the platform (Heroku, a container
scheduler, systemd) starts, restarts and scales the processes, not the app. A worker
process serves ``GET /healthz`` and ``GET /metrics`` on ``PORT`` (``worker_web_app``):
a probe for its container, and its own figures for Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.enrichment import EnrichmentFollower
from bot.metrics import Metrics, metrics_route
from bot.schedules.runs import ScheduledRunPoller
from bot.stores.heartbeats import TTL_BEATS, HeartbeatStore
from bot.watcher import Watcher

log = logging.getLogger(__name__)


class WorkerHalf:
    """The worker half of a process: the watcher (runs in flight, results, kept prompts),
    the listener for prompts handed off by web processes, and the heartbeat that tells any
    process's ``/readyz`` that a worker is alive. It beats only while the watcher and the
    listener run, so a heartbeat means a working worker, not just a live process."""

    def __init__(
        self,
        watcher: Watcher,
        heartbeats: HeartbeatStore,
        every_s: float,
        metrics: Metrics | None = None,
        follower: EnrichmentFollower | None = None,
        schedules: ScheduledRunPoller | None = None,
    ) -> None:
        """``metrics``: the process's, which then shows the schedule's size when scraped.
        ``follower``: re-reads tables still being enriched, beside the watcher.
        ``schedules``: the reader of scheduled runs, run beside the watcher."""
        if metrics is not None:
            metrics.read_schedule_size(watcher.schedule.count)
        self.watcher = watcher
        self.follower = follower
        self.schedules = schedules
        self.heartbeats = heartbeats
        self.every_s = every_s
        self.ttl_s = every_s * TTL_BEATS
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat: asyncio.Task[None] | None = None
        self._following: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.watcher.run_forever(), name="watcher"),
            asyncio.create_task(self.watcher.listen_for_handoffs(), name="handoffs"),
        ]
        if self.follower is not None:
            # Not among the tasks whose end ends the worker: a table's card is cosmetic.
            self._following = asyncio.create_task(self.follower.run_forever(), name="enriching")
        if self.schedules is not None:
            self._tasks.append(asyncio.create_task(self.schedules.run_forever(), name="schedules"))
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="heartbeat")
        log.info("worker started", extra={"worker": self.worker_id})

    async def ended(self) -> None:
        """Returns once the watcher or the listener has ended (by itself: a bug)."""
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)

    async def _beat_forever(self) -> None:
        failing = False
        while not any(task.done() for task in self._tasks):
            try:
                await self.heartbeats.beat(self.worker_id, self.ttl_s)
            except Exception as exc:
                # Redis down: the watcher waits it out too; beat again when it is back.
                if not failing:
                    log.warning(
                        "could not write the worker heartbeat; trying again",
                        extra={"worker": self.worker_id, "error": repr(exc)},
                    )
                failing = True
            else:
                if failing:
                    log.info("worker heartbeat written again", extra={"worker": self.worker_id})
                failing = False
            await asyncio.sleep(self.every_s)
        log.error(
            "the watcher ended by itself; this worker no longer beats",
            extra={"worker": self.worker_id},
        )

    async def stop(self) -> None:
        """Stop beating, stop the watcher (its polls under way finish, bounded), then take
        the heartbeat out at once rather than leave it to run out."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        if self.schedules is not None:
            self.schedules.stop()
        await _stop_watcher(self.watcher, self._tasks)
        if self.follower is not None and self._following is not None:
            self.follower.stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._following, timeout=10)
        try:
            await asyncio.wait_for(self.heartbeats.gone(self.worker_id), 2)
        except Exception as exc:
            log.warning(
                "could not take the worker heartbeat out; it runs out by itself",
                extra={"worker": self.worker_id, "error": repr(exc)},
            )


def worker_web_app(metrics: Metrics) -> Starlette:
    """What a worker process serves on ``PORT``: ``GET /healthz`` (200 while the process
    answers; a worker whose watcher ends exits, and its platform starts another) and
    ``GET /metrics``. Readiness is the web processes' ``/readyz``: it reads every worker's
    heartbeat."""

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "role": "worker"})

    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), metrics_route(metrics)])


def on_signals() -> asyncio.Event:
    """An event that SIGTERM or SIGINT sets, from now on."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def until_signalled(worker: WorkerHalf, stop: asyncio.Event | None = None) -> int:
    """A worker process's life: until SIGTERM/SIGINT (exit 0), or until its watcher ends
    by itself (exit 1, so that the platform starts a new one). ``stop``: the event of
    ``on_signals``, when the caller set it up earlier."""
    stop = on_signals() if stop is None else stop
    signalled = asyncio.create_task(stop.wait())
    ended = asyncio.create_task(worker.ended())
    await asyncio.wait([signalled, ended], return_when=asyncio.FIRST_COMPLETED)
    for task in (signalled, ended):
        task.cancel()
    if stop.is_set():
        return 0
    log.error("the watcher ended by itself; stopping this worker so that it is restarted")
    return 1


async def _stop_watcher(watcher: Watcher, tasks: list[asyncio.Task[None]]) -> None:
    """Stop the watcher (its polls under way finish, bounded) and the tasks beside it."""
    if not tasks:
        return
    watcher.stop()
    # Longer than the watcher's own bounded stop (its drain, then its last settle): cut
    # short, its polls under way would outlive it.
    bound_s = watcher.config.drain_s + 10
    with contextlib.suppress(Exception):
        await asyncio.wait_for(tasks[0], timeout=bound_s)
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)
