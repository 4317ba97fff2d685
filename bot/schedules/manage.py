"""Schedules, as people use them from Slack: draft one from a result, create it from the
modal, list the workspace's, and pause, resume or delete one.

Who may change a schedule: the person who made it, or a workspace admin or owner (as for
the workspace's Origami key). The caller says whether the person is an admin (Slack's
``users.info``); the rule itself is applied here, on every change, whatever a button or a
forged payload claims.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.origami import errors
from bot.origami.client import clip_utf16, idempotency_key
from bot.origami.scheduled import NAME_MAX, ScheduledAgent, is_origami_id
from bot.problems import Problem, problem_from_error
from bot.schedules.records import Change, ScheduleRecord, ScheduleView
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor
from bot.workspace_settings import NotAllowed

log = logging.getLogger(__name__)

# The modal's submission waits for Origami before Slack's 3 s run out: past this, the
# person is asked to submit again (the same submission replays under the same key).
CREATE_TIMEOUT_S = 2.2
# An uninstall pauses the workspace's schedules before its key is forgotten; Slack does not
# wait for the event's handler, but the uninstall should not hang on a slow Origami.
UNINSTALL_PAUSE_S = 10.0
# A new schedule's runs are first read this soon (the app sets the poller's pace): its
# first run is at the cron's next time at the earliest.
FIRST_READ_S = 120.0
# Schedules missing from the organisation's (capped) list, asked for one by one per listing.
LOOKUPS_MAX = 20

# Why the workspace's settings refuse a person in a channel (``Intake.refusal``), if they do.
Refusal = Callable[[str, str, str], Awaitable[NotAllowed | None]]


class SchedulePosts(Protocol):
    """What the schedules show in channels (``bot.slack.schedule_posts``)."""

    async def confirm(self, record: ScheduleRecord) -> bool:
        """Say in the schedule's channel that its runs will be posted there; False when
        the app cannot post there (not invited)."""

    async def cannot_post(
        self, record: ScheduleRecord, channel: str, thread_ts: str, user: str
    ) -> None:
        """Tell ``user``, privately in ``channel``'s thread, that the app cannot post in
        the schedule's channel (yet)."""

    async def runs_waiting(self, record: ScheduleRecord) -> None:
        """Tell the schedule's maker, privately, that its runs wait for a channel the app
        cannot post in."""

    async def open_run_thread(self, record: ScheduleRecord, run_id: str) -> str | None:
        """Post the top message of a scheduled run's thread (with a marker naming the
        run); its ts, or None when the app cannot post in the channel."""

    async def find_run_thread(
        self, record: ScheduleRecord, run_id: str, since: float, until: float
    ) -> str:
        """The ts of a run's top message posted between ``since`` and ``until`` (epoch
        s), or "" (none, or the app cannot read the channel)."""


@dataclass(frozen=True, slots=True)
class Draft:
    """What the schedule modal opens with."""

    prompt: str
    channel: str  # the channel the button was clicked in: the default place to post


@dataclass(frozen=True, slots=True)
class ScheduleForm:
    """The modal's submission, checked field by field by the listener."""

    prompt: str
    cron: str
    channel: str


class Created(StrEnum):
    CREATED = "created"
    INVALID_CRON = "invalid_cron"  # Origami: not a cron it reads
    TOO_FREQUENT = "too_frequent"  # Origami: the cron runs too often
    TIMED_OUT = "timed_out"  # no answer in time: submit again (it replays)
    NOT_ALLOWED = "not_allowed"  # the workspace's settings: ``not_allowed`` says why
    FAILED = "failed"  # anything else: ``problem`` says what


@dataclass(frozen=True, slots=True)
class CreateResult:
    outcome: Created
    record: ScheduleRecord | None = None
    problem: Problem | None = None
    not_allowed: NotAllowed | None = None
    # False when this creation was answered before (the same submission again): it was
    # confirmed in the channel then.
    new: bool = True


class Changed(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"  # neither its maker nor an admin
    GONE = "gone"  # no such schedule here (deleted meanwhile, or another workspace's)
    FAILED = "failed"


def schedule_name(prompt: str) -> str:
    """A schedule's name: its prompt's first line, within Origami's 120."""
    lines = prompt.strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    return clip_utf16(first, NAME_MAX) if first else "Slack schedule"


class Schedules:
    def __init__(
        self,
        stores: Stores,
        origami: OrigamiFor,
        posts: SchedulePosts,
        *,
        first_read_s: float = FIRST_READ_S,
        refusal: Refusal | None = None,
    ) -> None:
        self.stores = stores
        self.origami = origami
        self.posts = posts
        self.first_read_s = first_read_s
        self._refusal = refusal
        self._landing: set[asyncio.Task[None]] = set()  # creations answered late, followed

    async def refusal(self, team: str, channel: str, user_id: str) -> NotAllowed | None:
        """Why the workspace's settings leave ``user_id`` or ``channel`` out, if they do:
        a schedule starts agents there on its own, so it is held to the rule a message
        is (the channels the app answers in, who may start agents)."""
        if self._refusal is None:
            return None
        return await self._refusal(team, channel, user_id)

    async def create(self, team: str, user_id: str, form: ScheduleForm, cause: str) -> CreateResult:
        """Create the schedule in Origami (enabled) and keep it. ``cause``: the
        submission's own id; the same submission of the same values makes one schedule
        however often it arrives. Refused, before Origami is asked, where the
        workspace's settings leave the person or the channel out."""
        not_allowed = await self.refusal(team, form.channel, user_id)
        if not_allowed is not None:
            log.info("schedule refused: the workspace's settings", extra={"why": not_allowed.value})
            return CreateResult(Created.NOT_ALLOWED, not_allowed=not_allowed)
        # Shielded: past the wait, the creation goes on and is kept when Origami answers.
        # Cancelled, it may have been made in Origami all the same (enabled, spending
        # credits) and never kept here, so never listed, paused, or posted.
        landing = asyncio.create_task(self._make(team, user_id, form, cause))
        try:
            async with asyncio.timeout(CREATE_TIMEOUT_S):
                return await asyncio.shield(landing)
        except TimeoutError:
            log.warning("origami did not answer a schedule's creation in time")
            follow = asyncio.create_task(self._land(landing))
            self._landing.add(follow)
            follow.add_done_callback(self._landing.discard)
            return CreateResult(Created.TIMED_OUT)

    async def _make(self, team: str, user_id: str, form: ScheduleForm, cause: str) -> CreateResult:
        name = schedule_name(form.prompt)
        key = idempotency_key("schedule", cause, form.cron, form.channel, form.prompt)
        try:
            client = await self.origami.for_team(team)
            made = await client.create_scheduled_agent(
                name, form.prompt, form.cron, idempotency_key=key
            )
        except errors.InvalidRequest as exc:
            if exc.code == "INVALID_CRON":
                return CreateResult(Created.INVALID_CRON)
            if exc.code == "CRON_TOO_FREQUENT":
                return CreateResult(Created.TOO_FREQUENT)
            return CreateResult(Created.FAILED, problem=problem_from_error(exc))
        except errors.OrigamiError as exc:
            log.warning("a schedule was not created", extra={"error": type(exc).__name__})
            return CreateResult(Created.FAILED, problem=problem_from_error(exc, agent_call=False))
        record = ScheduleRecord(
            team=team,
            schedule_id=made.id,
            channel=form.channel,
            creator=user_id,
            name=made.name or name,
            cron=made.cron or form.cron,
            prompt=form.prompt,
        )
        new = await self.stores.schedules.add(record, self.first_read_s)
        log.info("schedule created", extra={"schedule": made.id, "channel": form.channel})
        return CreateResult(Created.CREATED, record=record, new=new)

    async def _land(self, landing: asyncio.Task[CreateResult]) -> None:
        """A creation answered after its person was asked to submit again: kept by
        ``_make``; confirmed in its channel here, unless a resubmission kept it first
        (that one confirms it), since the person may close the modal instead."""
        try:
            result = await landing
        except Exception:
            log.exception("a schedule created late could not be kept")
            return
        if result.outcome is Created.CREATED and result.record is not None and result.new:
            log.info("a schedule created late was kept")
            if not await self.posts.confirm(result.record):
                log.info("a schedule created late cannot post in its channel yet")

    async def confirm(self, record: ScheduleRecord) -> bool:
        return await self.posts.confirm(record)

    async def listing(self, team: str) -> list[ScheduleView]:
        """The workspace's schedules with Origami's state of each (the organisation's list,
        in one go). Raises the client's errors.

        The list is cut at ``LIST_MAX``: a schedule missing from it may be past the cut
        (a big organisation), so absence forgets nothing. Each missing one is asked for
        by its id (at most ``LOOKUPS_MAX``); only Origami's 404 forgets it, as the poller
        does."""
        records = await self.stores.schedules.of_team(team)
        if not records:
            return []
        client = await self.origami.for_team(team)
        live = {s.id: s for s in await client.list_scheduled_agents()}
        missing = [r for r in records if r.schedule_id not in live][:LOOKUPS_MAX]

        async def look_up(record: ScheduleRecord) -> None:
            try:
                live[record.schedule_id] = await client.get_scheduled_agent(record.schedule_id)
            except errors.NotFound:
                log.info("a schedule is gone from Origami; forgotten")
                await self.stores.schedules.remove(team, record.schedule_id)
            except errors.OrigamiError as exc:  # not shown this time; kept
                log.warning("could not read a schedule", extra={"error": type(exc).__name__})

        await asyncio.gather(*(look_up(r) for r in missing))
        return [_view(r, live[r.schedule_id]) for r in records if r.schedule_id in live]

    async def change(
        self, team: str, user_id: str, schedule_id: str, change: Change, *, admin: bool, cause: str
    ) -> Changed:
        """Pause, resume or delete a schedule, if ``user_id`` may. ``cause``: the click's
        own id, so a click retried replays Origami's first answer, and each new click is a
        request of its own."""
        if not is_origami_id(schedule_id):
            return Changed.GONE
        record = await self.stores.schedules.get(team, schedule_id)
        if record is None:
            return Changed.GONE
        if user_id != record.creator and not admin:
            log.warning("a schedule change refused: neither its maker nor an admin")
            return Changed.NOT_ALLOWED
        try:
            client = await self.origami.for_team(team)
            if change is Change.DELETE:
                await client.delete_scheduled_agent(schedule_id)
            else:
                key = idempotency_key("schedule", change.value, schedule_id, cause)
                await client.set_scheduled_agent_enabled(
                    schedule_id, change is Change.RESUME, idempotency_key=key
                )
        except errors.NotFound:
            await self.stores.schedules.remove(team, schedule_id)
            return Changed.GONE
        except errors.OrigamiError as exc:
            log.warning("a schedule change failed", extra={"error": type(exc).__name__})
            return Changed.FAILED
        if change is Change.DELETE:
            await self.stores.schedules.remove(team, schedule_id)
        log.info("schedule changed", extra={"schedule": schedule_id, "change": change.value})
        return Changed.DONE

    async def pause_all(self, team: str) -> int:
        """The workspace uninstalled the app: pause in Origami each schedule made from it,
        so none goes on running, and spending credits, with nowhere left to post. Paused,
        not deleted: a schedule is the organisation's, and can be resumed in Origami. Best
        effort within ``UNINSTALL_PAUSE_S``, as the workspace's key and state are forgotten
        right after. How many were paused."""
        records = await self.stores.schedules.of_team(team)
        if not records:
            return 0
        try:
            client = await self.origami.for_team(team)
        except errors.NotConnected:
            return 0  # no key left to pause them with

        async def pause(record: ScheduleRecord) -> bool:
            key = idempotency_key("schedule", "uninstall", record.schedule_id)
            try:
                await client.set_scheduled_agent_enabled(
                    record.schedule_id, False, idempotency_key=key
                )
            except errors.OrigamiError as exc:
                log.warning(
                    "a schedule was not paused at uninstall",
                    extra={"schedule": record.schedule_id, "error": type(exc).__name__},
                )
                return False
            return True

        tasks = [asyncio.create_task(pause(r)) for r in records]
        done, pending = await asyncio.wait(tasks, timeout=UNINSTALL_PAUSE_S)
        for task in pending:
            task.cancel()
        paused = sum(1 for task in done if task.result())
        log.info("schedules paused at uninstall", extra={"paused": paused, "of": len(records)})
        return paused


def _view(record: ScheduleRecord, found: ScheduledAgent) -> ScheduleView:
    return ScheduleView(
        record=record,
        enabled=found.enabled,
        next_run_at=found.next_run_at if found.enabled else None,
        plan_blocked=found.plan_blocked,
    )
