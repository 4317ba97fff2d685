"""The use cases: start a conversation, follow up, answer, continue, retry, stop, share,
export, and deliver a finished run.

The bridge works on plain values (a thread, a user, some text, the id of what caused the
request) and two ports: ``OrigamiClient`` and a ``Presenter`` that shows things in the
thread. It knows nothing of Slack payloads, Block Kit or HTTP, so its tests need neither.

Every side effect is keyed by its cause: Origami POSTs carry an Idempotency-Key derived
from the Slack event or the clicked run, one-shot buttons are claimed in Redis before they
act, and a finished run's messages are recorded part by part as they are posted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot import keys, logs
from bot.origami import errors
from bot.origami.client import OrigamiClient, idempotency_key
from bot.origami.models import CreatedAgent, PendingQuestion, Run, RunStatus, Table
from bot.problems import Problem, ProblemKind, problem_from_error
from bot.store import BudgetRule, Deferred, QuestionSet, RunRecord, Store

log = logging.getLogger(__name__)

CONTINUE_PROMPT = "Please continue where you left off."


def result_part(index: int) -> str:
    """The delivery record of a result's ``index``-th message (its ts once posted)."""
    return f"result:{index}"


def intent_of(part: str) -> str:
    """Recorded before ``part`` is posted: if it is there and ``part`` is not, the post may
    have gone out, and must be looked for before it is made again."""
    return f"intent:{part}"


FIRST_INTENT = intent_of(result_part(0))


@dataclass(frozen=True, slots=True)
class ThreadRef:
    team: str
    channel: str
    thread_ts: str


@dataclass(frozen=True, slots=True)
class Prompt:
    text: str
    user_id: str
    # What caused this prompt (a Slack event id, a click): the root of its Idempotency-Key.
    cause: str
    has_files: bool = False
    # Origami keeps the first answer to a key for 24 h, refusals included: a prompt sent
    # again after a 429 needs a fresh key, so each attempt gets its own.
    attempt: int = 1

    def key(self, kind: str) -> str:
        if self.attempt == 1:
            return idempotency_key(kind, self.cause)
        return idempotency_key(kind, self.cause, f"attempt-{self.attempt}")


@dataclass(frozen=True, slots=True)
class Progress:
    run_id: str
    steps_completed: int
    steps_max: int
    elapsed_s: float
    leads_found: int | None
    queued: int


@dataclass(frozen=True, slots=True)
class AnswerView:
    user_id: str
    text: str


class Note:
    """Short private notes shown to one person (ephemeral)."""

    ALREADY_ANSWERED = "already_answered"
    EXPIRED = "expired"
    ALREADY_DONE = "already_done"
    ALREADY_SHARED = "already_shared"
    TABLE_UNKNOWN = "table_unknown"


class Presenter(Protocol):
    """Shows things in a Slack thread; the Slack implementation is ``bot.slack.presenter``."""

    async def acknowledge(self, thread: ThreadRef, cause: str) -> str:
        """Say the app is on it; the message is marked with ``cause`` (see below)."""

    async def find_acknowledgement(self, thread: ThreadRef, cause: str) -> str | None:
        """The acknowledgement already posted for ``cause``, if any (crash recovery)."""

    async def usage_hint(self, thread: ThreadRef) -> None: ...

    async def attachments_note(self, thread: ThreadRef) -> None: ...

    async def progress(self, thread: ThreadRef, message_ts: str, progress: Progress) -> None: ...

    async def progress_final(
        self, thread: ThreadRef, message_ts: str, run: Run, elapsed_s: float
    ) -> None: ...

    async def result(
        self,
        thread: ThreadRef,
        run: Run,
        elapsed_s: float,
        posted: dict[str, str],
        record: Callable[[str, str], Awaitable[None]],
    ) -> None:
        """Post the run's result. For each message: skip it if its ``result_part`` is in
        ``posted``; if only its ``intent_of`` is, look for it before posting; else
        ``record`` the intent, post, ``record`` the part."""

    async def questions(
        self,
        thread: ThreadRef,
        run_id: str,
        questions: Sequence[PendingQuestion],
        answers: dict[int, AnswerView],
        message_ts: str | None,
        closed: bool,
    ) -> str: ...

    async def problem(
        self, thread: ThreadRef, problem: Problem, message_ts: str | None = None
    ) -> None: ...

    async def queued(
        self, thread: ThreadRef, position: int, run_id: str | None, message_ts: str | None
    ) -> None: ...

    async def waiting_for_slot(
        self,
        thread: ThreadRef,
        busy: int | None,
        limit: int | None,
        retry_after_s: float,
        message_ts: str | None,
    ) -> None: ...

    async def note(self, thread: ThreadRef, user_id: str, note: str, detail: str = "") -> None: ...

    async def choice_made(
        self, thread: ThreadRef, message_ts: str, user_id: str, label: str
    ) -> None: ...

    async def stopping(self, thread: ThreadRef, message_ts: str, user_id: str) -> None: ...

    async def share_table(
        self, thread: ThreadRef, table: Table, run_id: str, shared_by: str
    ) -> None: ...

    async def upload_csv(
        self, thread: ThreadRef, table: Table, content: bytes, user_id: str
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    # When to poll a new run first. The 202 carries no pacing hint; an early first poll
    # shows progress quickly, and the GET's Retry-After paces the rest.
    first_poll_s: float = 3.0
    # Poll interval when a running run came back without Retry-After (the API says 15).
    default_poll_s: float = 15.0
    # Next try for a prompt refused for lack of a run slot, when no Retry-After came
    # (Origami's own fallback is 60).
    slot_retry_s: float = 60.0
    # Origami down (after the client's own quick retries): try again after 30 s, 60 s,
    # 120 s, 240 s, then tell the user it was not sent (about 7.5 minutes in all).
    transient_retry_s: float = 30.0
    transient_tries: int = 5
    # How long a prompt being sent is held before another process may take it over:
    # longer than the client's whole retry budget (30 s), so a live process always
    # finishes its own POST first.
    hold_s: float = 90.0
    # Hand a prompt to the watchers once it is kept, instead of acknowledging and sending it
    # here: the process that took the Slack event (and acks the next ones) does one Redis
    # step per message and nothing else, and whichever watcher claims the prompt does the
    # rest. Off when this process has the only watcher (it would hand off to itself).
    hand_off: bool = False


class Bridge:
    def __init__(
        self,
        store: Store,
        origami: OrigamiClient,
        presenter: Presenter,
        config: BridgeConfig | None = None,
        *,
        budget: BudgetRule | None = None,
    ) -> None:
        self.store = store
        self.origami = origami
        self.presenter = presenter
        self.config = config or BridgeConfig()
        # Set when the Origami client's gate is the shared budget: a prompt's first POST
        # then takes its slot in the same Redis step that keeps the prompt.
        self.budget = budget

    # -- conversations ------------------------------------------------------------------

    async def start_conversation(self, thread: ThreadRef, prompt: Prompt) -> None:
        """A mention (or a DM): a new agent for this thread, or its next run if it has one."""
        await self.on_prompt(thread, prompt, may_start=True)

    async def follow_up(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        *,
        once_kept: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """A reply, an answer, a next step: the next run of the thread's agent. Nothing
        happens in a thread that has no agent."""
        await self.on_prompt(thread, prompt, may_start=False, once_kept=once_kept)

    async def on_prompt(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        *,
        may_start: bool,
        once_kept: Callable[[], Awaitable[None]] | None = None,
        event: str | None = None,
    ) -> None:
        """Send a person's prompt (or queue it behind the thread's run), exactly once.

        The prompt is kept in Redis from the first step (``Store.begin_prompt``), before
        anything is posted to Slack or Origami: if this process dies anywhere after that,
        any process finds the kept prompt once ``hold_s`` has passed and sends it under the
        same Idempotency-Key, so Origami replays its first answer instead of starting a
        second run. Two Redis round trips in all: this one, and ``started``.

        ``event``: what the Slack event is about (``store.claim_event``), claimed in the
        same step, so a retried or doubled event does nothing. ``once_kept`` runs as soon
        as the prompt is safe in Redis (a clicked button shows its choice then, not after
        Origami answers).
        """
        if not prompt.text.strip():
            if event is not None and not await self.store.claim_event(thread.team, event):
                return
            if once_kept is not None:
                await once_kept()
            # Rare (a mention alone, a file without words): one more read, so that a thread
            # that is not ours gets no hint.
            if may_start or await self.store.get_thread(
                thread.team, thread.channel, thread.thread_ts
            ):
                await self.presenter.usage_hint(thread)
            return
        hand_off = self.config.hand_off
        begun = await self.store.begin_prompt(
            self._kept(thread, prompt, kind="", agent_id="", ack_ts="", tries=0),
            may_start=may_start,
            hold_s=0.0 if hand_off else self.config.hold_s,
            budget=self.budget,
            event=event,
        )
        if begun.outcome == "duplicate":
            log.info("duplicate event dropped", extra={"identity": event})
            return
        if once_kept is not None:
            await once_kept()
        if begun.outcome == "unknown":
            return
        if prompt.has_files:
            await self.presenter.attachments_note(thread)
        if begun.outcome == "queued":
            await self.presenter.queued(thread, begun.position, _stoppable(begun.active_run), None)
            log.info("prompt queued", extra={"position": begun.position})
            return
        if begun.agent_id:
            logs.bind(agent=begun.agent_id)
        if hand_off:
            # Kept and due now: a watcher claims it, acknowledges it and sends it (resend).
            log.debug("prompt handed off", extra={"kind": begun.outcome})
            return
        ack_ts = await self.presenter.acknowledge(thread, prompt.cause)
        admitted = self.budget is not None and begun.budget_wait_ms == 0
        await self._submit(
            thread, prompt, begun.outcome, begun.agent_id, ack_ts, tries=0, admitted=admitted
        )

    async def _abandon_start(self, thread: ThreadRef) -> None:
        """The agent could not be created: free the thread, and say so for anything that
        was queued behind it (nothing is dropped silently)."""
        waiting = await self.store.take_pending(thread.team, thread.channel, thread.thread_ts)
        await self.store.forget_thread(thread.team, thread.channel, thread.thread_ts)
        if waiting:
            await self.presenter.problem(
                thread, Problem(ProblemKind.NOT_SENT, detail=str(len(waiting)))
            )

    async def _submit(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        kind: str,
        agent_id: str,
        ack_ts: str,
        tries: int,
        *,
        admitted: bool = False,
    ) -> float | None:
        """POST a prompt to Origami: create the agent (``start``) or run it (``follow``).

        Returns None when the prompt is settled (sent, queued, or reported as not sent),
        else the seconds until it should be tried again; it is then kept in Redis
        (``store.defer``) and the watcher brings it back here.
        """
        deferred = tries > 0 or prompt.attempt > 1
        created: CreatedAgent | None = None
        try:
            if kind == "start":
                created = await self.origami.create_agent(
                    prompt.text,
                    idempotency_key=prompt.key("start"),
                    name=_agent_name(prompt.text),
                    admitted=admitted,
                )
                run = created.run
            else:
                run = await self.origami.send_run(
                    agent_id, prompt.text, idempotency_key=prompt.key("run"), admitted=admitted
                )
        except errors.ConcurrencyLimited as exc:
            # Refused, and the refusal is stored under the key: the next try needs a new one.
            retry_in = exc.retry_after or self.config.slot_retry_s
            later = replace(prompt, attempt=prompt.attempt + 1)
            await self._keep(thread, later, kind, agent_id, ack_ts, tries + 1, retry_in)
            if not deferred:
                busy = len(exc.active_sessions) or exc.limit
                await self.presenter.waiting_for_slot(thread, busy, exc.limit, retry_in, ack_ts)
            log.info("no free origami slot; prompt kept", extra={"retry_in_s": retry_in})
            return retry_in
        except (errors.OrigamiUnreachable, errors.ServerError, errors.RequestRateLimited) as exc:
            # No answer, or a 5xx (never stored by Origami): the same key is safe to replay
            # and is what prevents a second agent if the first try did get through.
            if tries + 1 >= self.config.transient_tries:
                await self._give_up(thread, kind, prompt, ack_ts, exc)
                return None
            retry_in = float(self.config.transient_retry_s * 2**tries)
            await self._keep(thread, prompt, kind, agent_id, ack_ts, tries + 1, retry_in)
            if not deferred:
                problem = replace(problem_from_error(exc), retrying=True)
                await self.presenter.problem(thread, problem, ack_ts)
            log.warning("origami unavailable; prompt kept", extra={"retry_in_s": retry_in})
            return retry_in
        except errors.AgentBusy as exc:
            # A run this app does not watch holds the agent (started in the Origami app,
            # or by a process that lost track of it). Keep the prompt and try again at
            # the poll interval; replies meanwhile queue behind it. The 409 is stored
            # under the key, so the next try needs a new one.
            retry_in = min(self.config.default_poll_s, self.config.transient_retry_s)
            later = replace(prompt, attempt=prompt.attempt + 1)
            await self._keep(thread, later, kind, agent_id, ack_ts, tries + 1, retry_in)
            if not deferred:
                current = exc.current_run.id if exc.current_run else None
                await self.presenter.queued(thread, 1, current, ack_ts)
            log.info("agent busy with another run; prompt kept", extra={"retry_in_s": retry_in})
            return retry_in
        except Exception as exc:
            await self._give_up(thread, kind, prompt, ack_ts, exc)
            return None
        # Bookkeeping failures (Redis) propagate: the prompt stays kept, and a later try
        # replays Origami's answer under the same key.
        if created is not None:
            logs.bind(agent=created.agent.id)
        record = RunRecord(
            team=thread.team,
            run_id=run.id,
            agent_id=created.agent.id if created is not None else run.agent_id,
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            progress_ts=ack_ts,
            user_id=prompt.user_id,
            prompt=prompt.text,
        )
        await self.store.started(
            record,
            self.config.first_poll_s,
            new_agent=created is not None,
            deferred_id=_deferred_id(prompt),
        )
        logs.bind(run=run.id)
        if kind == "start":
            log.info("conversation started")
        return None

    async def _give_up(
        self,
        thread: ThreadRef,
        kind: str,
        prompt: Prompt,
        ack_ts: str,
        exc: BaseException,
    ) -> None:
        """Tell the user this prompt was not sent and why; free the thread for the next."""
        await self._report(thread, exc, ack_ts, agent_call=kind != "start")
        if kind == "start":
            await self._abandon_start(thread)
        else:
            await self._release(thread, _deferred_marker(prompt))
        await self.store.drop_deferred(thread.team, _deferred_id(prompt))

    async def _keep(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        kind: str,
        agent_id: str,
        ack_ts: str,
        tries: int,
        retry_in: float,
    ) -> None:
        item = self._kept(thread, prompt, kind=kind, agent_id=agent_id, ack_ts=ack_ts, tries=tries)
        await self.store.defer(item, retry_in)

    @staticmethod
    def _kept(
        thread: ThreadRef, prompt: Prompt, *, kind: str, agent_id: str, ack_ts: str, tries: int
    ) -> Deferred:
        return Deferred(
            id=_deferred_id(prompt),
            kind=kind,
            team=thread.team,
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            agent_id=agent_id,
            text=prompt.text,
            user_id=prompt.user_id,
            cause=prompt.cause,
            attempt=prompt.attempt,
            tries=tries,
            ack_ts=ack_ts,
        )

    async def resend(self, item: Deferred) -> float | None:
        """Send a kept prompt (handed off to the watchers, or kept for another try);
        seconds until the next try, or None when settled."""
        thread = ThreadRef(item.team, item.channel, item.thread_ts)
        prompt = Prompt(
            text=item.text, user_id=item.user_id, cause=item.cause, attempt=item.attempt
        )
        with logs.context(team=item.team, channel=item.channel, thread=item.thread_ts):
            if item.agent_id:
                logs.bind(agent=item.agent_id)
            ack_ts = item.ack_ts
            if not ack_ts and item.first_send:
                ack_ts = await self.presenter.acknowledge(thread, item.cause)
            elif not ack_ts:
                # Kept, then the process died before Origami's answer was recorded: its
                # acknowledgement may or may not be in the thread already.
                ack_ts = await self.presenter.find_acknowledgement(
                    thread, item.cause
                ) or await self.presenter.acknowledge(thread, item.cause)
            # A handed-off prompt's first POST took its budget slot when it was kept.
            admitted = self.budget is not None and item.first_send and item.admitted
            return await self._submit(
                thread, prompt, item.kind, item.agent_id, ack_ts, item.tries, admitted=admitted
            )

    async def _report(
        self, thread: ThreadRef, exc: BaseException, message_ts: str | None, *, agent_call: bool
    ) -> None:
        problem = problem_from_error(exc, agent_call=agent_call)
        if problem.kind is ProblemKind.INTERNAL:
            log.exception("unexpected failure", exc_info=exc)
        else:
            log.warning(
                "origami refused", extra={"problem": problem.kind.value, "error": repr(exc)}
            )
        await self.presenter.problem(thread, problem, message_ts)

    # -- watching -------------------------------------------------------------------------

    async def show_progress(self, record: RunRecord, run: Run, queued: int = 0) -> None:
        thread = ThreadRef(record.team, record.channel, record.thread_ts)
        await self.presenter.progress(
            thread,
            record.progress_ts,
            Progress(
                run_id=run.id,
                steps_completed=run.steps.completed,
                steps_max=run.steps.max,
                elapsed_s=time.time() - record.started_at,
                leads_found=_leads_found(run),
                queued=queued,
            ),
        )

    async def deliver(self, record: RunRecord, run: Run) -> None:
        """Post a finished run's result once, then send what was waiting for it.

        Safe to call again after a crash: parts already posted are skipped.
        """
        thread = ThreadRef(record.team, record.channel, record.thread_ts)
        with logs.context(agent=record.agent_id, run=record.run_id, channel=record.channel):
            # One round trip: what was posted already (a delivery cut short by a crash),
            # the run's duration fixed at its first delivery, the fields buttons read.
            posted = await self.store.begin_delivery(
                record.team,
                record.run_id,
                elapsed=_elapsed(record, {}),
                run_fields={
                    "status": run.status.value,
                    "next_actions": json.dumps([a.label for a in run.todo.next_actions]),
                    "tables": json.dumps(
                        [t.id for t in (run.response.tables if run.response else [])]
                    ),
                },
                first_intent=FIRST_INTENT,
            )
            elapsed = _elapsed(record, posted)

            # An intent must be in Redis before its post (the first one is, since the
            # step above). A posted part may wait and go with the next write: if the
            # process dies first, the next delivery finds the post by its intent and its
            # message metadata instead of posting it again.
            unwritten: dict[str, str] = {}

            async def record_part(part: str, ts: str) -> None:
                if part == FIRST_INTENT:
                    return
                if part.startswith("intent:"):
                    await self.store.record_parts(record.team, record.run_id, {part: ts})
                else:
                    unwritten[part] = ts

            await self.presenter.result(thread, run, elapsed, posted, record_part)
            has_questions = run.status is RunStatus.NEEDS_INPUT and run.todo.pending_questions
            if has_questions and "questions" not in posted:
                ts = await self.presenter.questions(
                    thread, run.id, run.todo.pending_questions, {}, None, closed=False
                )
                await self.store.save_questions(
                    QuestionSet(
                        team=record.team,
                        run_id=run.id,
                        agent_id=record.agent_id,
                        channel=record.channel,
                        thread_ts=record.thread_ts,
                        message_ts=ts,
                        questions=[q.model_dump(by_alias=True) for q in run.todo.pending_questions],
                        answers={},
                        sent=False,
                    )
                )
                # Questions carry no intent: recorded at once, so they are never asked twice.
                unwritten["questions"] = ts
                await self.store.record_parts(record.team, record.run_id, unwritten)
                unwritten.clear()
            if "final" not in posted:
                await self.presenter.progress_final(thread, record.progress_ts, run, elapsed)
                unwritten["final"] = "1"
            log.info("run delivered", extra={"status": run.status_raw, "elapsed_s": round(elapsed)})
            await self.release(record, delivered=unwritten)

    async def release(self, record: RunRecord, delivered: dict[str, str] | None = None) -> None:
        thread = ThreadRef(record.team, record.channel, record.thread_ts)
        await self._release(thread, record.run_id, delivered)

    async def _release(
        self, thread: ThreadRef, active: str, delivered: dict[str, str] | None = None
    ) -> None:
        """The thread is idle again: send what was queued behind it, as one prompt.

        ``delivered``: the last records of the run's delivery, written in the same step."""
        items = await self.store.release_thread(
            thread.team, thread.channel, thread.thread_ts, active, delivered
        )
        if not items:
            return
        text = "\n\n".join(str(i["text"]) for i in items)
        prompt = Prompt(
            text=text,
            user_id=str(items[-1].get("user_id", "")),
            cause="queued:" + ",".join(str(i.get("cause", "")) for i in items),
        )
        await self.follow_up(thread, prompt)

    async def watch_failed(self, record: RunRecord, exc: BaseException) -> None:
        """The run can no longer be polled (its agent or run is gone in Origami)."""
        thread = ThreadRef(record.team, record.channel, record.thread_ts)
        await self._report(thread, exc, record.progress_ts, agent_call=True)
        await self.release(record)

    # -- buttons ------------------------------------------------------------------------

    async def answer(
        self,
        thread: ThreadRef,
        run_id: str,
        question: int,
        user_id: str,
        *,
        choice: int | None = None,
        text: str | None = None,
    ) -> None:
        """One answer to one question: a suggested answer (by index) or typed text."""
        qs = await self.store.get_questions(thread.team, run_id)
        if qs is None or not 0 <= question < len(qs.questions):
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        questions = [PendingQuestion.model_validate(q) for q in qs.questions]
        if choice is not None:
            suggested = questions[question].suggested_answers
            if not 0 <= choice < len(suggested):
                await self.presenter.note(thread, user_id, Note.EXPIRED)
                return
            text = suggested[choice]
        if not text or not text.strip():
            return
        outcome = await self.store.record_answer(thread.team, run_id, question, user_id, text)
        if outcome <= 0:
            qs = await self.store.get_questions(thread.team, run_id) or qs
            prior = qs.answers.get(question)
            detail = f"{prior['user_id']}\t{prior['text']}" if prior else ""
            await self.presenter.note(thread, user_id, Note.ALREADY_ANSWERED, detail)
            return
        qs = await self.store.get_questions(thread.team, run_id) or qs
        if len(qs.answers) >= len(questions):
            await self.send_answers(thread, run_id, user_id)
            return
        await self.presenter.questions(
            thread, run_id, questions, _answer_views(qs), qs.message_ts, closed=False
        )

    async def send_answers(self, thread: ThreadRef, run_id: str, user_id: str) -> None:
        qs = await self.store.get_questions(thread.team, run_id)
        if qs is None:
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        if not qs.answers:
            return
        if not await self.store.mark_answers_sent(thread.team, run_id, user_id):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return
        questions = [PendingQuestion.model_validate(q) for q in qs.questions]
        views = _answer_views(qs)

        async def close() -> None:
            await self.presenter.questions(
                thread, run_id, questions, views, qs.message_ts, closed=True
            )

        prompt = Prompt(
            text=_combine_answers(questions, views),
            user_id=user_id,
            cause=f"answers:{run_id}",
        )
        # The prompt is kept before the message changes, so a crash in between loses
        # nothing (the answers are marked sent already).
        await self.follow_up(thread, prompt, once_kept=close)

    async def continue_run(self, thread: ThreadRef, run_id: str, user_id: str, ack_ts: str) -> None:
        await self._one_shot(
            thread, run_id, user_id, ack_ts, "continue", CONTINUE_PROMPT, "Continue"
        )

    async def retry_run(self, thread: ThreadRef, run_id: str, user_id: str, ack_ts: str) -> None:
        record = await self.store.get_run(thread.team, run_id)
        if record is None or not record.prompt:
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        await self._one_shot(thread, run_id, user_id, ack_ts, "retry", record.prompt, "Retry")

    async def next_action(
        self, thread: ThreadRef, run_id: str, index: int, user_id: str, message_ts: str
    ) -> None:
        labels = await self._run_list(thread.team, run_id, "next_actions")
        if labels is None or not 0 <= index < len(labels):
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        label = labels[index]
        await self._one_shot(thread, run_id, user_id, message_ts, f"next:{index}", label, label)

    async def _one_shot(
        self,
        thread: ThreadRef,
        run_id: str,
        user_id: str,
        message_ts: str,
        what: str,
        text: str,
        label: str,
    ) -> None:
        """A button that sends a prompt: it acts once, whoever clicks and however often."""
        cause = f"{what}:{run_id}"
        if not await self.store.claim_action(thread.team, cause):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return

        async def show_choice() -> None:
            await self.presenter.choice_made(thread, message_ts, user_id, label)

        await self.follow_up(
            thread, Prompt(text=text, user_id=user_id, cause=cause), once_kept=show_choice
        )

    async def stop(self, thread: ThreadRef, run_id: str, user_id: str, message_ts: str) -> None:
        record = await self.store.get_run(thread.team, run_id)
        if record is None or record.channel != thread.channel:
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        if not await self.store.claim_action(thread.team, f"stop:{run_id}"):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return
        await self.presenter.stopping(thread, message_ts, user_id)
        try:
            await self.origami.cancel(
                record.agent_id, idempotency_key=idempotency_key("stop", run_id)
            )
        except Exception as exc:
            await self._report(thread, exc, None, agent_call=True)
        # The watcher sees the run turn `cancelled` on its next poll and posts what was built.

    async def share_table(
        self, thread: ThreadRef, run_id: str, table_id: str, user_id: str
    ) -> None:
        table = await self._run_table(thread, run_id, table_id, user_id)
        if table is None:
            return
        if not await self.store.claim_action(thread.team, f"share:{thread.channel}:{table_id}"):
            await self.presenter.note(thread, user_id, Note.ALREADY_SHARED)
            return
        await self.presenter.share_table(thread, table, run_id, user_id)

    async def export_csv(self, thread: ThreadRef, run_id: str, table_id: str, user_id: str) -> None:
        table = await self._run_table(thread, run_id, table_id, user_id)
        if table is None:
            return
        try:
            content = await self.origami.table_rows_csv(table_id)
        except Exception as exc:
            await self._report(thread, exc, None, agent_call=False)
            return
        await self.presenter.upload_csv(thread, table, content, user_id)

    async def _run_table(
        self, thread: ThreadRef, run_id: str, table_id: str, user_id: str
    ) -> Table | None:
        """The table, fresh from Origami, if the run really showed it (ids from a click
        are untrusted)."""
        ids = await self._run_list(thread.team, run_id, "tables")
        if ids is None or table_id not in ids:
            await self.presenter.note(thread, user_id, Note.TABLE_UNKNOWN)
            return None
        try:
            return await self.origami.get_table(table_id)
        except Exception as exc:
            await self._report(thread, exc, None, agent_call=False)
            return None

    async def _run_list(self, team: str, run_id: str, field: str) -> list[str] | None:
        raw = await self.store.run_field(team, run_id, field)
        if not raw:
            return None
        value = json.loads(raw)
        return [str(v) for v in value] if isinstance(value, list) else None

    async def question_text(self, team: str, run_id: str, question: int) -> str | None:
        qs = await self.store.get_questions(team, run_id)
        if qs is None or not 0 <= question < len(qs.questions) or qs.sent:
            return None
        return str(qs.questions[question].get("question", ""))


def _deferred_id(prompt: Prompt) -> str:
    return hashlib.sha256(prompt.cause.encode()).hexdigest()[:24]


def _deferred_marker(prompt: Prompt) -> str:
    return keys.DEFERRED_MARK + _deferred_id(prompt)


def _stoppable(active_run: str | None) -> str | None:
    """The active run id if it is a real run (not a deferred prompt) that Stop can cancel."""
    if active_run is None or active_run.startswith(keys.DEFERRED_MARK):
        return None
    return active_run


def _answer_views(qs: QuestionSet) -> dict[int, AnswerView]:
    return {i: AnswerView(a["user_id"], a["text"]) for i, a in qs.answers.items()}


def _combine_answers(questions: Sequence[PendingQuestion], answers: dict[int, AnswerView]) -> str:
    if len(questions) == 1 and 0 in answers:
        return answers[0].text
    lines = []
    for i, q in enumerate(questions):
        if i in answers:
            lines.append(f"{q.question} -> {answers[i].text}")
    return "\n".join(lines)


def _agent_name(prompt: str) -> str:
    first_line = prompt.strip().splitlines()[0] if prompt.strip() else "Slack conversation"
    return first_line[:77] + "…" if len(first_line) > 80 else first_line


def _leads_found(run: Run) -> int | None:
    if run.response is None:
        return None
    added = [a.lead_count for a in run.response.actions if a.type == "leads_added" and a.lead_count]
    return sum(added) if added else None


def _elapsed(record: RunRecord, posted: dict[str, str]) -> float:
    if "elapsed" in posted:
        return float(posted["elapsed"])
    return max(0.0, time.time() - record.started_at)
