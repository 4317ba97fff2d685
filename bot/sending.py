"""The sender: a kept prompt goes to Origami, and what Origami answers decides what next.

Every kept prompt comes here, from whichever worker claimed it (in the web process of
``python -m bot`` or in a worker of its own): the same code either way. The steps:

1. say "On it" in the thread, once (``Delivery.acknowledge``);
2. POST it: create the agent, or run the thread's agent, under an Idempotency-Key derived
   from the prompt's cause (and attempt);
3. on success, watch the run (``RunStore.watch``: one MULTI that also drops the prompt);
   on a refusal or an outage, keep the prompt for another try (the seconds until it are
   returned, and the worker's settle schedules it); past the tries, or on a refusal that
   another try would not change, tell the person and free the thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot import logs
from bot.conversations.intake import Intake
from bot.delivery import Delivery
from bot.domain import KeptPrompt, PromptKind, RunRecord, StartedConversation
from bot.files.attach import Attachments, Prepared
from bot.live_status import LiveStatus
from bot.metrics import Metrics
from bot.origami import errors
from bot.origami.client import clip_utf16, utf16_len
from bot.origami.models import Run
from bot.ports import Presenter
from bot.problems import Problem, ProblemKind, problem_from_error, report
from bot.stores import Stores
from bot.summaries import failed
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


# The poll interval Origami gives (``Retry-After``): when an agent busy with a run this app
# does not watch is looked at again.
BUSY_RETRY_S = 15.0


@dataclass(frozen=True, slots=True)
class SendConfig:
    # When to poll a new run first. The 202 carries no pacing hint; an early first poll
    # shows progress quickly, and the GET's Retry-After paces the rest.
    first_poll_s: float = 3.0
    # Next try for a prompt refused for lack of a run slot, when no Retry-After came
    # (Origami's own fallback is 60).
    slot_retry_s: float = 60.0
    # Next try for a prompt whose agent is busy with a run this app does not watch.
    busy_retry_s: float = BUSY_RETRY_S
    # Origami down (after the client's own quick retries): try again after 30 s, 60 s,
    # 120 s, 240 s, then tell the user it was not sent (about 7.5 minutes in all).
    transient_retry_s: float = 30.0
    transient_tries: int = 5
    # A request Origami is still handling is asked about again every ``transient_retry_s``
    # this many times (15 minutes at 30 s: far longer than any agent creation takes).
    in_flight_tries: int = 30
    # How long a worker holds a prompt it sends before another may take it over: longer
    # than the client's whole retry budget (30 s), so a live worker finishes its own POST.
    hold_s: float = 90.0


class Sender:
    def __init__(
        self,
        stores: Stores,
        origami: OrigamiFor,
        delivery: Delivery,
        presenter: Presenter,
        intake: Intake,
        config: SendConfig | None = None,
        metrics: Metrics | None = None,
        *,
        live: LiveStatus,
        attachments: Attachments | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self.live = live
        # Without a file source (a harness that shares no files) a prompt goes without.
        self.attachments = attachments
        self.stores = stores
        self.origami = origami
        self.delivery = delivery
        self.presenter = presenter
        self.intake = intake
        self.config = config or SendConfig()

    async def send(self, kept: KeptPrompt, *, admitted: bool = False) -> float | None:
        """Send a kept prompt; seconds until its next try, or None when it is settled.

        ``admitted``: its request's slot of the Origami budget was taken by the claim."""
        with logs.context(team=kept.team, channel=kept.channel, thread=kept.thread_ts):
            if kept.agent_id:
                logs.bind(agent=kept.agent_id)
            ack_ts = await self.delivery.acknowledge(kept)
            try:
                run, agent_id, files = await self._post(kept, admitted=admitted)
            except errors.ConcurrencyLimited as exc:
                # Refused, and the refusal is stored under the key: the next try needs a new one.
                retry_in = exc.retry_after or self.config.slot_retry_s
                if kept.tries == 0:
                    busy = len(exc.active_sessions) or exc.limit
                    await self.presenter.waiting_for_slot(
                        kept.thread, busy, exc.limit, retry_in, ack_ts
                    )
                log.info("no free origami slot; prompt kept", extra={"retry_in_s": retry_in})
                return await self._later(kept, retry_in, new_key=True)
            except errors.AgentBusy as exc:
                # A run this app does not watch holds the agent (started in the Origami app,
                # or by a process that lost track of it). Try again at the poll interval;
                # replies meanwhile queue behind this prompt. The 409 is stored under the
                # key, so the next try needs a new one.
                if kept.tries == 0:
                    current = exc.current_run.id if exc.current_run else None
                    await self.presenter.queued(kept.thread, 1, current, ack_ts)
                log.info("agent busy with another run; prompt kept")
                return await self._later(kept, self.config.busy_retry_s, new_key=True)
            except errors.IdempotencyConflict as exc:
                if not exc.in_flight:
                    # The key was used for another request: this one needs a key of its own.
                    log.warning("idempotency key reused; trying under a new one")
                    return await self._later(kept, self.config.transient_retry_s, new_key=True)
                # Our own earlier request is still being handled (a slow agent creation):
                # Origami answers it under this key once it is done, so ask again with the
                # same one until it does. Never "not sent": it may be running already.
                if kept.tries + 1 >= self.config.in_flight_tries:
                    await self._give_up(kept, ack_ts, exc)
                    return None
                if kept.tries == 0:
                    await self.presenter.problem(
                        kept.thread, Problem(ProblemKind.UNCONFIRMED, retrying=True), ack_ts
                    )
                log.info("origami still handling our request; asking again")
                return await self._later(kept, self.config.transient_retry_s, new_key=False)
            except (
                errors.OrigamiUnreachable,
                errors.ServerError,
                errors.RequestRateLimited,
            ) as exc:
                # No answer, or a 5xx (never stored by Origami): the same key is safe to
                # replay and is what prevents a second agent if the first try got through.
                if kept.tries + 1 >= self.config.transient_tries:
                    await self._give_up(kept, ack_ts, exc)
                    return None
                if kept.tries == 0:
                    problem = replace(problem_from_error(exc), retrying=True)
                    await self.presenter.problem(kept.thread, problem, ack_ts)
                retry_in = float(self.config.transient_retry_s * 2**kept.tries)
                log.warning("origami unavailable; prompt kept", extra={"retry_in_s": retry_in})
                return await self._later(kept, retry_in, new_key=False)
            except Exception as exc:
                await self._give_up(kept, ack_ts, exc)
                return None
            # Bookkeeping failures (Redis) propagate: the prompt stays kept, and a later
            # try replays Origami's answer under the same key.
            record = RunRecord(
                team=kept.team,
                run_id=run.id,
                agent_id=agent_id,
                channel=kept.channel,
                thread_ts=kept.thread_ts,
                progress_ts=ack_ts,
                user_id=kept.user_id,
                prompt=kept.text,
            )
            new = kept.kind is PromptKind.START
            stale = await self.stores.runs.watch(
                record,
                kept,
                new_agent=new,
                first_poll_s=self.config.first_poll_s,
                started=StartedConversation.of(kept.thread, kept.text) if new else None,
            )
            logs.bind(agent=agent_id, run=run.id)
            if files.refused:
                await self.presenter.files_refused(kept.thread, kept.user_id, files.refused)
            await self.delivery.close_stale(kept.thread, stale)
            # Slack's session (and its Stop) and status for the run now in flight. A process
            # that dies just before leaves the run with our progress line alone.
            await self.live.started(record, new_conversation=kept.kind is PromptKind.START)
            self.metrics.runs_started.labels(kept.kind.value).inc()
            if kept.kind is PromptKind.START:
                self.metrics.conversations_started.inc()
                log.info("conversation started")
            return None

    async def _post(self, kept: KeptPrompt, *, admitted: bool) -> tuple[Run, str, Prepared]:
        key = kept.idempotency_key()
        # Only the first attempt's first request had its slot taken by the claim.
        admitted = admitted and kept.tries == 0
        origami = await self.origami.for_team(kept.team)
        # Its files first, each uploaded once however often this is tried (bot.files).
        files = await self.attachments.prepare(kept) if self.attachments else Prepared()
        if kept.kind is PromptKind.START:
            created = await origami.create_agent(
                kept.text,
                idempotency_key=key,
                name=_agent_name(kept.text),
                admitted=admitted,
                workspace_id=files.workspace_id,
                attachments=files.attachments,
            )
            return created.run, created.agent.id, files
        run = await origami.send_run(
            kept.agent_id,
            kept.text,
            idempotency_key=key,
            admitted=admitted,
            attachments=files.attachments,
        )
        return run, kept.agent_id, files

    async def _later(self, kept: KeptPrompt, retry_in: float, *, new_key: bool) -> float:
        attempt = kept.attempt + 1 if new_key else kept.attempt
        await self.stores.prompts.save_try(replace(kept, attempt=attempt, tries=kept.tries + 1))
        return retry_in

    async def _give_up(self, kept: KeptPrompt, ack_ts: str, exc: BaseException) -> None:
        """Tell the person this prompt was not sent and why; free the thread for the next."""
        await report(self.presenter, kept.thread, exc, ack_ts, agent_call=kept.agent_id != "")
        await self._let_go(kept)

    async def give_up(self, kept: KeptPrompt, problem: Problem) -> None:
        """Stop sending a prompt that cannot be sent (the watcher gave up on it)."""
        await self.presenter.problem(kept.thread, problem)
        await self._let_go(kept)

    async def _let_go(self, kept: KeptPrompt) -> None:
        thread = kept.thread
        # No agent was made: the thread is forgotten, and what queued behind it cannot go.
        forget = kept.kind is PromptKind.START
        # A follow-up that could not go: the conversation shows as failed on App Home.
        summary = None if forget else failed()
        released = await self.stores.threads.release(
            thread, kept.busy, forget=forget, summary=summary
        )
        await self.intake.resumed(thread, released)
        await self.stores.prompts.drop(kept)


def _agent_name(prompt: str) -> str:
    first_line = prompt.strip().splitlines()[0] if prompt.strip() else "Slack conversation"
    # 80 UTF-16 units, as Origami counts (an emoji is two).
    return first_line if utf16_len(first_line) <= 80 else clip_utf16(first_line, 79) + "…"
