"""Origami's scheduled agents (``/scheduled-agents``, API notes 6.7): the models and the
endpoints, mixed into ``OrigamiClient`` so the client class stays small.

A scheduled agent is a prompt Origami runs on a cron. Each run it makes is a run of an
agent (a chat session) of its own: the runs list's items are untyped in the spec, so an
item is read tolerantly and kept only when it names both the run and its agent
(``runId``/``id`` and ``agentId``), which is what the app needs to watch it like any run
(``GET /agents/{agentId}/runs/{runId}``) and to continue its agent in Slack.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError

from bot.origami.requester import Priority, Requester, json_object, parsed
from bot.origami.tolerant import Items, OrigamiModel, Timestamp
from bot.origami.wire import RUN_ID_RE, check_prompt, clip_utf16

NAME_MAX = 120  # UTF-16 units, as Origami counts
CRON_MAX = 100  # more than any five-field cron needs; a longer one is refused unsent
DESCRIPTION_MAX = 500
# Origami ids are uuids; anything else in an id field (from Origami or a Slack button) is
# not used in a URL path.
_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
LIST_MAX = 500  # schedules read for App Home: far more than a team keeps
RUNS_SHOWN = 20  # the newest runs looked at on each poll of a schedule's history


def is_origami_id(value: object) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


def _origami_id(value: str) -> str:
    if not is_origami_id(value):
        raise ValueError("not an Origami id")
    return value


def _run_id(value: str) -> str:
    if RUN_ID_RE.fullmatch(value) is None:
        raise ValueError("not an Origami run id")
    return value


OrigamiId = Annotated[str, AfterValidator(_origami_id)]
# A run's id is not a uuid: the spec's ``RunId`` allows 128 characters.
RunId = Annotated[str, AfterValidator(_run_id)]
Clipped = Annotated[str, Field(max_length=2_000)]


class ScheduledAgent(OrigamiModel):
    """``ScheduledAgent``: what the app shows of a schedule and acts on."""

    id: OrigamiId  # required: every action names it
    name: Clipped = ""
    prompt: Annotated[str, Field(max_length=20_000)] = ""
    cron: Annotated[str, Field(max_length=CRON_MAX)] = ""
    enabled: bool = False
    plan_blocked: bool = False
    next_run_at: Timestamp | None = None
    last_run_at: Timestamp | None = None
    url: Clipped | None = None


class ScheduledAgentPage(OrigamiModel):
    items: Items[ScheduledAgent] = Field(default_factory=list)
    next_cursor: Annotated[str, Field(max_length=200)] | None = None


class ScheduledRun(OrigamiModel):
    """One item of ``GET /scheduled-agents/{id}/runs``."""

    run_id: RunId
    agent_id: OrigamiId
    status: Annotated[str, Field(max_length=40)] = ""
    created_at: Timestamp | None = None

    @classmethod
    def _prepared(cls, data: Any) -> Any:
        # The run's id is ``runId`` (as ``trigger`` answers) or the item's own ``id``.
        if isinstance(data, dict) and "runId" not in data and "id" in data:
            return {**data, "runId": data["id"]}
        return data


class ScheduledRuns(OrigamiModel):
    items: Items[ScheduledRun] = Field(default_factory=list)


class ScheduledAgentEndpoints(Requester):
    """The ``/scheduled-agents`` endpoints; a person's requests, but for the runs list,
    which the background poller reads at a poll's priority."""

    async def create_scheduled_agent(
        self, name: str, prompt: str, cron: str, *, idempotency_key: str, enabled: bool = True
    ) -> ScheduledAgent:
        """Create a schedule. Origami creates it disabled unless told: ``enabled`` is sent
        so that one created from Slack runs without a second call."""
        body = {
            "name": clip_utf16(name.strip() or "Slack schedule", NAME_MAX),
            "prompt": check_prompt(prompt),
            "cron": cron[:CRON_MAX],
            "enabled": enabled,
        }
        data = await self._json("POST", "scheduled-agents", json=body, key=idempotency_key)
        return parsed(ScheduledAgent, data, 201)

    async def list_scheduled_agents(self) -> list[ScheduledAgent]:
        """The organisation's schedules, up to ``LIST_MAX`` (pages followed)."""
        found: list[ScheduledAgent] = []
        cursor: str | None = None
        while len(found) < LIST_MAX:
            params = {"limit": "100"} | ({"cursor": cursor} if cursor else {})
            data = await self._json("GET", "scheduled-agents", params=params)
            page = parsed(ScheduledAgentPage, data, 200)
            found += page.items
            cursor = page.next_cursor
            if not cursor or not page.items:
                break
        return found[:LIST_MAX]

    async def get_scheduled_agent(self, schedule_id: str) -> ScheduledAgent:
        data = await self._json("GET", f"scheduled-agents/{_origami_id(schedule_id)}")
        return parsed(ScheduledAgent, data, 200)

    async def set_scheduled_agent_enabled(
        self, schedule_id: str, enabled: bool, *, idempotency_key: str
    ) -> ScheduledAgent:
        verb = "enable" if enabled else "disable"
        path = f"scheduled-agents/{_origami_id(schedule_id)}/{verb}"
        data = await self._json("POST", path, json={}, key=idempotency_key)
        return parsed(ScheduledAgent, data, 200)

    async def delete_scheduled_agent(self, schedule_id: str) -> None:
        await self._json("DELETE", f"scheduled-agents/{_origami_id(schedule_id)}")

    async def scheduled_runs(self, schedule_id: str) -> list[ScheduledRun]:
        """The schedule's runs, newest first (at most ``RUNS_SHOWN``), those that name no
        run or agent left out."""
        response = await self._request(
            "GET", f"scheduled-agents/{_origami_id(schedule_id)}/runs", priority=Priority.POLL
        )
        try:
            runs = ScheduledRuns.model_validate(json_object(response)).items
        except ValidationError:
            runs = []
        return runs[:RUNS_SHOWN]
