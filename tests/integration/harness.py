"""The use cases, the sender and the watcher wired as in the app, over real HTTP (fake
Origami) and a real Redis, with a recording presenter instead of Slack; and the helpers
that make a process die at a chosen call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot.assembly import Core
from bot.domain import Prompt, ThreadRef
from bot.stores import Stores
from tests.fakes.agent_surface import RecordingAgentSurface
from tests.fakes.origami import FakeOrigami
from tests.fakes.presenter import RecordingPresenter

THREAD = ThreadRef("T1", "C1", "1700000000.000100")


@dataclass
class Harness:
    fake: FakeOrigami
    stores: Stores
    presenter: RecordingPresenter
    core: Core
    surface: RecordingAgentSurface

    async def start(self, thread: ThreadRef, prompt: Prompt) -> None:
        """A mention: kept by intake, then sent by the watcher's next claim."""
        await self.core.conversations.intake.take(thread, prompt, may_start=True)
        await self.core.watcher.tick()

    async def reply(self, thread: ThreadRef, prompt: Prompt) -> None:
        await self.core.conversations.intake.take(thread, prompt, may_start=False)
        await self.core.watcher.tick()

    async def sent(self) -> None:
        """What a click kept is sent by the watcher's next claim."""
        await self.core.watcher.tick()

    @property
    def buttons(self) -> Any:
        return self.core.conversations.buttons

    async def drive(self, done: Callable[[], bool], limit_s: float = 10.0) -> None:
        """Run watcher ticks until ``done()``; bounded in time."""
        deadline = asyncio.get_running_loop().time() + limit_s
        while not done():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not done after {limit_s}s: {self.presenter.shown}")
            if await self.core.watcher.tick() == 0:
                await asyncio.sleep(0.02)

    def tune(self, **send: Any) -> None:
        self.core.sender.config = replace(self.core.sender.config, **send)

    def tune_watcher(self, **watch: Any) -> None:
        self.core.watcher.config = replace(self.core.watcher.config, **watch)

    async def thread_state(self, thread: ThreadRef = THREAD) -> Any:
        return await self.stores.threads.get(thread)

    def run_posts(self) -> list[Any]:
        return [r for r in self.fake.requests("POST") if r.path.endswith("/runs")]


def prompt(text: str, cause: str, user: str = "U1") -> Prompt:
    return Prompt(text=text, user_id=user, cause=cause)


class Died(Exception):
    """Stands for the process dying at this point."""


def die_on_first_call(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """``owner.name`` raises ``_Died`` on its first call (the process dies there) and works
    after; returns the list its calls are counted in."""
    real = getattr(owner, name)
    calls: list[int] = []

    async def once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise Died
        return await real(*args, **kwargs)

    monkeypatch.setattr(owner, name, once)
    return calls


async def start_and_die(
    h: Harness, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, prompt: Prompt
) -> None:
    """Start a conversation whose sender dies at ``owner.name`` (its first call). The
    watcher swallows its task's death and tries again soon (short back-off)."""
    h.tune_watcher(error_backoff_s=0.05)
    calls = die_on_first_call(monkeypatch, owner, name)
    await h.core.conversations.intake.take(THREAD, prompt, may_start=True)
    assert h.presenter.shown == []  # kept, nothing posted yet
    await h.core.watcher.tick()  # the send dies (its outcome: try again soon)
    assert calls == [1], f"{name} was not reached"
