"""The watcher processes ``python -m bot`` starts beside the one that serves Slack.

Each is ``python -m bot worker --parent PID``: it runs a watcher (polls, results, prompts
handed off by the Slack process) and nothing else. The supervisor here starts them,
restarts one that dies (with a growing pause, so a worker that cannot start does not spin),
and stops them when the Slack process stops. A worker whose parent dies without stopping
it (SIGKILL, OOM) stops itself: the kernel sends it SIGTERM (Linux), and it also checks its
parent every second. Nothing is lost either way: a worker holds its runs only for a lease,
then any process takes them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Niceness 10 gives a worker about a tenth of the CPU weight of the Slack process when both
# want the same core (the scheduler's weights 110 against 1024), and all of it when the
# Slack process is idle.
WORKER_NICENESS = 10


class Workers:
    def __init__(self, count: int, *, stop_timeout_s: float = 15.0) -> None:
        self.count = count
        self.stop_timeout_s = stop_timeout_s
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        # Since when each worker slot has had no live process (monotonic seconds).
        self._down_since: dict[int, float] = {i: time.monotonic() for i in range(count)}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def health(self, grace_s: float = 15.0) -> tuple[bool, str]:
        """Whether every worker is running (one being restarted counts for ``grace_s``),
        and a line saying so. Without workers, messages are kept but never sent: a probe
        that fails then gets the process restarted by its platform."""
        now = time.monotonic()
        running = self.count - len(self._down_since)
        late = [i for i, since in self._down_since.items() if now - since > grace_s]
        return not late, f"{running} of {self.count} running"

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._keep_alive(i), name=f"worker-{i}") for i in range(self.count)
        ]

    async def _keep_alive(self, index: int) -> None:
        pause = 1.0
        while not self._stopping:
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "worker", "--parent", str(os.getpid())
                )
            except OSError:
                # Out of processes or memory: try again later (/healthz says so meanwhile).
                log.exception("could not start a worker", extra={"worker": index})
                pause = min(pause * 2, 30.0)
                await asyncio.sleep(pause)
                continue
            self._procs[index] = proc
            self._down_since.pop(index, None)
            log.info("worker started", extra={"worker": index, "pid": proc.pid})
            started = time.monotonic()
            code = await proc.wait()
            self._down_since[index] = time.monotonic()
            if self._stopping:
                return
            # A worker that ran a while before dying gets restarted at once; one that dies
            # right after starting (a bad setting, Redis refusing it) waits longer each time.
            pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 30.0)
            log.error(
                "worker died; restarting it",
                extra={"worker": index, "exit_code": code, "restart_in_s": pause},
            )
            await asyncio.sleep(pause)

    async def stop(self) -> None:
        """SIGTERM every worker (each finishes the polls it has under way), then wait; kill
        what is still running after ``stop_timeout_s``."""
        self._stopping = True
        running = [p for p in self._procs.values() if p.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        if running:
            done = asyncio.gather(*(p.wait() for p in running))
            try:
                await asyncio.wait_for(done, self.stop_timeout_s)
            except TimeoutError:
                for proc in running:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def adopt(parent: int) -> bool:
    """In a worker the supervisor started, first thing: get SIGTERM when the parent dies
    (Linux only), and yield the CPU to the parent when both want it: the parent answers
    Slack, which retries what is not acked in 3 s, while a worker's poll or post a few ms
    late harms nobody. False if the parent is already gone (it died before this ran).

    Done here rather than between fork and exec (``preexec_fn``), which is unsafe in a
    process with threads, as the supervisor's is."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    return os.getppid() == parent


async def watch_parent(parent: int, stop: asyncio.Event, every_s: float = 1.0) -> None:
    """Set ``stop`` once ``parent`` is gone (this process was re-parented)."""
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("the process that started this worker is gone; stopping")
            stop.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
