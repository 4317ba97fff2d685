"""The fake Origami's scheduled agents (API notes 6.7, ``/scheduled-agents``).

As documented: create (disabled unless ``enabled`` is sent; name 1-120 UTF-16 units; slug
1-60 of ``[a-z0-9-]``, derived from the name when absent, 409 ``SLUG_TAKEN`` when given
and taken, ``SLUG_EXHAUSTED`` when no derived one is free), get, patch, soft delete,
enable/disable, trigger (202 ``{runId}``, 409 ``RUN_ALREADY_ACTIVE``, 402
``SUBSCRIPTION_REQUIRED`` when the plan cannot run scheduled tasks) and the runs list
(newest first, untyped items, ``nextCursor`` always null). Everything is the
organisation's own: another organisation's key gets 404 ``SCHEDULED_AGENT_NOT_FOUND``.

Cron rules, the fake's choice (the docs name the codes, not the rule): five fields that
``croniter`` accepts, else 400 ``INVALID_CRON``; two runs less than an hour apart (looked
at over the next week) is 400 ``CRON_TOO_FREQUENT``.

A scheduled run is a run of an agent of its own (a chat session named after the
schedule), which behaves like any fake run: it is polled at ``/agents/{agentId}/runs/
{runId}`` and follows the next ``RunScript``. The runs list's items name it as
``{object, id, runId, agentId, status, trigger, createdAt, completedAt}``; a failed one
carries a ``handoff``. A test makes the cron fire with ``fake.schedules.fire(id)``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from croniter import croniter

from tests.fakes import origami as base

if TYPE_CHECKING:
    from tests.fakes.origami import FakeOrigami, FakeRun

JSON = dict[str, Any]
NAME_MAX = 120
SLUG_MAX = 60
PROMPT_MAX = base.PROMPT_MAX_CHARS
MIN_INTERVAL_S = 3600
_SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SLUG_TRIES = 20


@dataclass
class FakeSchedule:
    id: str
    org_id: str
    slug: str
    name: str
    prompt: str
    cron: str
    description: str | None = None
    model: str | None = None
    enabled: bool = False
    deleted: bool = False
    last_run_at: float | None = None
    # Each run: (run id, agent id, how it was started), oldest first.
    runs: list[tuple[str, str, str]] = field(default_factory=list)


def cron_problem(cron: Any) -> str | None:
    """``INVALID_CRON``, ``CRON_TOO_FREQUENT`` or None (see the module's doc)."""
    if not isinstance(cron, str) or len(cron.split()) != 5 or not croniter.is_valid(cron):
        return "INVALID_CRON"
    start = datetime(2026, 1, 5, tzinfo=UTC)  # any fixed Monday: the rule is the cron's
    it = croniter(cron, start)
    last = it.get_next(float)
    for _ in range(24 * 7):
        nxt = it.get_next(float)
        if nxt - last < MIN_INTERVAL_S:
            return "CRON_TOO_FREQUENT"
        if nxt - start.timestamp() > 7 * 24 * 3600:
            break
        last = nxt
    return None


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:SLUG_MAX].strip("-") or "agent"


class FakeSchedules:
    def __init__(self, fake: FakeOrigami) -> None:
        self.fake = fake
        self.items: dict[str, FakeSchedule] = {}
        # What ``planBlocked`` and ``trigger``'s 402 follow.
        self.can_run_scheduled = True

    def add_routes(self, router: web.UrlDispatcher, prefix: str) -> None:
        p = prefix + "/scheduled-agents"
        router.add_get(p, self._list)
        router.add_post(p, self._create)
        router.add_get(p + "/{id}", self._get)
        router.add_patch(p + "/{id}", self._patch)
        router.add_delete(p + "/{id}", self._delete)
        router.add_post(p + "/{id}/enable", self._enable)
        router.add_post(p + "/{id}/disable", self._disable)
        router.add_post(p + "/{id}/trigger", self._trigger)
        router.add_get(p + "/{id}/runs", self._runs)

    # -- what a test does ----------------------------------------------------------------

    def fire(self, schedule_id: str) -> FakeRun | None:
        """The cron's time came: an enabled, live schedule starts a run (None otherwise)."""
        schedule = self.items[schedule_id]
        if not schedule.enabled or schedule.deleted or not self.can_run_scheduled:
            return None
        return self._start(schedule, "schedule")

    def live(self) -> list[FakeSchedule]:
        return [s for s in self.items.values() if not s.deleted]

    # -- helpers -------------------------------------------------------------------------

    def _start(self, schedule: FakeSchedule, trigger: str) -> FakeRun:
        now = self.fake._now()
        agent = base.FakeAgent(
            id=str(uuid.uuid4()),
            name=schedule.name[: base.NAME_MAX_CHARS],
            workspace_id=str(uuid.uuid4()),
            created_at=now,
            org_id=schedule.org_id,
        )
        self.fake.agents[agent.id] = agent
        run = self.fake._start_run(agent, {"prompt": schedule.prompt, "model": schedule.model})
        schedule.runs.append((run.id, agent.id, trigger))
        schedule.last_run_at = now
        return run

    def _org(self, request: web.Request) -> str:
        return request[base._RECORD].org or ""

    def _found(self, request: web.Request) -> FakeSchedule | web.Response:
        schedule = self.items.get(request.match_info["id"])
        if schedule is None or schedule.deleted or schedule.org_id != self._org(request):
            return base._error(404, "SCHEDULED_AGENT_NOT_FOUND", "Scheduled agent not found")
        return schedule

    def _json(self, schedule: FakeSchedule) -> JSON:
        next_run = None
        if schedule.enabled:
            now = datetime.fromtimestamp(self.fake._now(), UTC)
            next_run = croniter(schedule.cron, now).get_next(datetime).isoformat()
        data: JSON = {
            "object": "scheduled_agent",
            "id": schedule.id,
            "workspaceId": None,
            "slug": schedule.slug,
            "name": schedule.name,
            "description": schedule.description,
            "prompt": schedule.prompt,
            "cron": schedule.cron,
            "model": schedule.model,
            "enabled": schedule.enabled,
            "planBlocked": not self.can_run_scheduled,
            "nextRunAt": next_run,
            "lastRunAt": base.iso(schedule.last_run_at) if schedule.last_run_at else None,
            "url": f"{base.APP_ORIGIN}/scheduled/{schedule.id}",
        }
        if not self.can_run_scheduled:
            data["handoff"] = {"url": f"{base.APP_ORIGIN}/settings/billing", "reason": "plan"}
        return data

    def _issues(self, body: Any, *, create: bool) -> list[JSON] | str:
        """Validation issues, or an error code of the cron, of a create or patch body."""
        if not isinstance(body, dict):
            return [{"path": "", "message": "Expected object"}]
        issues: list[JSON] = []
        for required in ("name", "prompt", "cron"):
            if create and required not in body:
                issues.append({"path": required, "message": "Required"})
        name = body.get("name")
        if "name" in body and (
            not isinstance(name, str) or not 1 <= base.js_length(name) <= NAME_MAX
        ):
            issues.append({"path": "name", "message": f"1-{NAME_MAX} characters"})
        prompt = body.get("prompt")
        if "prompt" in body and (
            not isinstance(prompt, str) or not 1 <= base.js_length(prompt) <= PROMPT_MAX
        ):
            issues.append({"path": "prompt", "message": f"1-{PROMPT_MAX} characters"})
        slug = body.get("slug")
        if "slug" in body and (
            not isinstance(slug, str)
            or not 1 <= len(slug) <= SLUG_MAX
            or not _SLUG_RE.fullmatch(slug)
        ):
            issues.append({"path": "slug", "message": "1-60 of a-z, 0-9 and single dashes"})
        if "enabled" in body and not isinstance(body["enabled"], bool):
            issues.append({"path": "enabled", "message": "Expected boolean"})
        if issues:
            return issues
        if "cron" in body:
            return cron_problem(body["cron"]) or []
        return []

    def _slug_for(self, org: str, wanted: str | None, name: str) -> str | web.Response:
        taken = {s.slug for s in self.items.values() if s.org_id == org and not s.deleted}
        if wanted is not None:
            if wanted in taken:
                return base._error(409, "SLUG_TAKEN", "This slug is already used")
            return wanted
        root = _slugify(name)
        for n in range(1, _SLUG_TRIES + 1):
            suffix = "" if n == 1 else f"-{n}"
            slug = root[: SLUG_MAX - len(suffix)] + suffix
            if slug not in taken:
                return slug
        return base._error(409, "SLUG_EXHAUSTED", "No free slug for this name")

    @staticmethod
    def _refused(issues: list[JSON] | str) -> web.Response | None:
        if isinstance(issues, str):
            message = "Invalid cron expression" if issues == "INVALID_CRON" else "Too frequent"
            return base._error(400, issues, message)
        return base._validation_error(issues) if issues else None

    # -- endpoints -----------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        org = self._org(request)
        wanted = request.query.get("enabled")
        items = [
            self._json(s)
            for s in reversed(list(self.items.values()))
            if s.org_id == org
            and not s.deleted
            and (wanted is None or s.enabled == (wanted == "true"))
        ]
        paged = self.fake._page(request, items)
        if isinstance(paged, web.Response):
            return paged
        page, next_cursor, total = paged
        body = {
            "object": "list",
            "items": page,
            "nextCursor": next_cursor,
            "url": request.path,
            "total": total,
        }
        return base._json_response(200, body)

    async def _create(self, request: web.Request) -> web.Response:
        body = request[base._RECORD].body
        refused = self._refused(self._issues(body, create=True))
        if refused is not None:
            return refused
        org = self._org(request)
        slug = self._slug_for(org, body.get("slug"), body["name"])
        if isinstance(slug, web.Response):
            return slug
        schedule = FakeSchedule(
            id=str(uuid.uuid4()),
            org_id=org,
            slug=slug,
            name=body["name"],
            prompt=body["prompt"],
            cron=body["cron"],
            description=body.get("description"),
            model=body.get("model"),
            enabled=body.get("enabled") is True,  # disabled by default
        )
        self.items[schedule.id] = schedule
        return base._json_response(201, self._json(schedule))

    async def _get(self, request: web.Request) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        return base._json_response(200, self._json(found))

    async def _patch(self, request: web.Request) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        body = request[base._RECORD].body
        refused = self._refused(self._issues(body, create=False))
        if refused is not None:
            return refused
        for name in ("name", "description", "prompt", "cron", "model", "enabled"):
            if name in body:
                setattr(found, name, body[name])
        return base._json_response(200, self._json(found))

    async def _delete(self, request: web.Request) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        found.deleted = True
        found.enabled = False
        return base._json_response(200, {"deleted": True})

    async def _enable(self, request: web.Request) -> web.Response:
        return await self._switch(request, True)

    async def _disable(self, request: web.Request) -> web.Response:
        return await self._switch(request, False)

    async def _switch(self, request: web.Request, enabled: bool) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        found.enabled = enabled
        return base._json_response(200, self._json(found))

    async def _trigger(self, request: web.Request) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        if not self.can_run_scheduled:
            return base._json_response(402, base._billing_body("SUBSCRIPTION_REQUIRED"))
        if found.runs:
            last = self.fake.runs[found.runs[-1][0]]
            self.fake._observe(last, poll=False)
            if last.running:
                return base._error(409, "RUN_ALREADY_ACTIVE", "A run is already active")
        run = self._start(found, "manual")
        return base._json_response(202, {"runId": run.id})

    async def _runs(self, request: web.Request) -> web.Response:
        found = self._found(request)
        if isinstance(found, web.Response):
            return found
        items = []
        for run_id, agent_id, trigger in reversed(found.runs):
            run = self.fake.runs[run_id]
            self.fake._observe(run, poll=False)
            item: JSON = {
                "object": "scheduled_agent_run",
                "id": run.id,
                "runId": run.id,
                "agentId": agent_id,
                "status": run.status,
                "trigger": trigger,
                "createdAt": base.iso(run.started_at),
                "completedAt": base.iso(run.completed_at) if run.completed_at else None,
            }
            if run.status in ("errored", "timed_out"):
                item["handoff"] = {"url": f"{base.APP_ORIGIN}/chat/{agent_id}"}
            items.append(item)
        body = {"object": "list", "items": items, "nextCursor": None, "url": request.path}
        return base._json_response(200, body)
