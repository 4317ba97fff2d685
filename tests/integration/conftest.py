"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.assembly import assemble
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.sending import SendConfig
from bot.stores import Stores
from bot.watcher import WatcherConfig
from tests.fakes.agent_surface import RecordingAgentSurface
from tests.fakes.origami import FakeOrigami
from tests.fakes.presenter import RecordingPresenter
from tests.integration.harness import Harness


@pytest.fixture
async def h(stores: Stores) -> AsyncIterator[Harness]:
    async with FakeOrigami(retry_after="0.2") as fake:
        origami = OrigamiClient(
            build_http_client(fake.url, fake.api_key, timeout=5),
            retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_budget=5),
        )
        presenter = RecordingPresenter()
        surface = RecordingAgentSurface()
        core = assemble(
            stores,
            origami,
            presenter,
            SendConfig(first_poll_s=0.05),
            WatcherConfig(lease_s=5, idle_s=0.02),
            surface=surface,
        )
        try:
            yield Harness(fake, stores, presenter, core, surface)
        finally:
            await origami.aclose()
