"""All Redis access, one small store per aggregate.

No other module imports ``redis``: everything that reads or writes shared state goes
through a store here, under keys built in ``bot.stores.keys``, each with a TTL. Lua is used
only where a check and a write must be one step (taking a message, claiming and settling
the schedule, the request budget, an answer); each script gets its keys in ``KEYS`` and
its arguments as one JSON object.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from bot.stores.budget import BudgetRule, OrganizationBudgets, RequestBudget
from bot.stores.buttons import OpenButtonsStore
from bot.stores.claims import ClaimStore
from bot.stores.deliveries import DeliveryStore
from bot.stores.enrichment import EnrichmentStore
from bot.stores.feedback import FeedbackStore
from bot.stores.files import FileStore
from bot.stores.health import ServerFacts, server_facts
from bot.stores.heartbeats import HeartbeatStore
from bot.stores.prompts import KeptPromptStore
from bot.stores.questions import QuestionStore
from bot.stores.runs import RunStore
from bot.stores.schedule import RunSchedule
from bot.stores.scheduled import ScheduleStore
from bot.stores.settings import SettingsStore
from bot.stores.started import StartedStore
from bot.stores.summaries import SummaryStore
from bot.stores.threads import ThreadStore
from bot.stores.workspaces import WorkspaceStore

log = logging.getLogger(__name__)

# What a store call raises when Redis cannot be reached or refuses: callers that tell a
# person "nothing could be recorded" catch this, without knowing Redis.
StoreError = RedisError


@dataclass
class Stores:
    threads: ThreadStore
    prompts: KeptPromptStore
    runs: RunStore
    schedule: RunSchedule
    deliveries: DeliveryStore
    questions: QuestionStore
    claims: ClaimStore
    heartbeats: HeartbeatStore
    workspaces: WorkspaceStore
    feedback: FeedbackStore
    open_buttons: OpenButtonsStore
    started: StartedStore
    files: FileStore
    enrichment: EnrichmentStore
    schedules: ScheduleStore
    summaries: SummaryStore
    settings: SettingsStore
    _client: Any

    @classmethod
    def on(cls, client: Any) -> Stores:
        return cls(
            threads=ThreadStore(client),
            prompts=KeptPromptStore(client),
            runs=RunStore(client),
            schedule=RunSchedule(client),
            deliveries=DeliveryStore(client),
            questions=QuestionStore(client),
            claims=ClaimStore(client),
            heartbeats=HeartbeatStore(client),
            workspaces=WorkspaceStore(client),
            feedback=FeedbackStore(client),
            open_buttons=OpenButtonsStore(client),
            started=StartedStore(client),
            files=FileStore(client),
            enrichment=EnrichmentStore(client),
            schedules=ScheduleStore(client),
            summaries=SummaryStore(client),
            settings=SettingsStore(client),
            _client=client,
        )

    async def forget_workspace(self, team: str) -> int:
        """Delete every key of ``team`` (``WorkspaceStore.forget``), and this process's
        copy of its settings."""
        self.settings.forget(team)
        return await self.workspaces.forget(team)

    def budget(self, rule: BudgetRule) -> RequestBudget:
        """The Origami request budget (the client's gate), shared by all processes."""
        return RequestBudget(self._client, rule)

    def organization_budgets(self, rule: BudgetRule) -> OrganizationBudgets:
        """Many workspaces: a budget of ``rule`` for each Origami organisation."""
        return OrganizationBudgets(self._client, rule)

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def server_facts(self) -> ServerFacts:
        """What the Redis server says about itself (version, persistence, eviction, round
        trips), for ``python -m bot doctor``."""
        return await server_facts(self._client)

    async def close(self) -> None:
        await self._client.aclose()


def connect(url: str | None) -> Stores:
    """The stores on ``url``; with no URL, an embedded in-process Redis (fakeredis with Lua)."""
    if url:
        # The watcher polls up to 200 runs at once, each with its own Redis calls, and
        # Slack events come in meanwhile: past ``max_connections`` a caller waits for a
        # free connection (blocking pool) instead of failing with "Too many connections".
        # No periodic health check: it costs a PING round trip on a connection that sat
        # idle, and the pool already replaces a connection the server closed (it checks
        # each one for EOF as it hands it out).
        pool = redis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=10,
            retry_on_timeout=True,
            max_connections=100,
            timeout=10,
        )
        return Stores.on(redis.Redis.from_pool(pool))
    import fakeredis

    log.warning(
        "REDIS_URL is not set: using an embedded in-process store. Nothing survives a "
        "restart and no other process shares it; set REDIS_URL for real use."
    )
    return Stores.on(fakeredis.aioredis.FakeRedis(decode_responses=True))
