"""Exactly-once posting, in one place: a finished run's result, a prompt's "On it".

Every message a delivery posts is a *part* with a stable name, posted with a marker (its
owner and name) that Slack keeps in the message's metadata. The protocol:

1. ``DeliveryStore.begin`` reads what an earlier delivery of the same owner left and
   records the intent of every part (one MULTI);
2. a part recorded as posted is skipped; if a part was intended before and not recorded
   (a process died mid-delivery), the thread is searched once, from the earliest such
   intent on, for the parts carrying the owner's marker;
3. what is still missing is posted, with its marker;
4. what was posted or found is recorded (one more round trip).

A process may die anywhere: from (1) on, the next delivery looks before it posts, so a
part is never posted twice, and none is lost, as its intent stays until it is recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import (
    KeptPrompt,
    Part,
    QuestionSet,
    RunOutcome,
    RunRecord,
    ThreadRef,
    questions_intro,
)
from bot.next_step_kinds import to_next_steps
from bot.origami.models import Run, RunStatus
from bot.ports import Presenter
from bot.previews import LeadPreview
from bot.stores import Stores, codec
from bot.stores.deliveries import ELAPSED, OUTCOME

log = logging.getLogger(__name__)

# A post's ts is Slack's clock, its intent ours: look a little earlier than the intent.
_CLOCK_SKEW_S = 30.0
QUESTIONS = "questions"
# The parts of a result that may carry one-shot buttons (``SlackPresenter.result_parts``).
RESULT_PART = "result-"


def ack_owner(prompt_id: str) -> str:
    """The owner of a kept prompt's "On it" message (a run's result is owned by its id)."""
    return f"ack-{prompt_id}"


@dataclass(frozen=True, slots=True)
class Posted:
    """What a delivery left in the thread: every part's ts, and the fields it kept."""

    ts: dict[str, str]
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class Delivered:
    """A finished run's result as posted: its parts, and each part's ts by name."""

    parts: list[Part]
    ts: dict[str, str]


class Delivery:
    def __init__(self, stores: Stores, presenter: Presenter) -> None:
        self.stores = stores
        self.presenter = presenter

    async def post_once(
        self,
        thread: ThreadRef,
        owner: str,
        parts: Sequence[Part],
        keep: Mapping[str, str] | None = None,
    ) -> Posted:
        """Post each of ``parts`` once, whatever crashed before (see the module's doc).

        ``keep``: fields the first delivery of ``owner`` fixes for every later one."""
        ledger = await self.stores.deliveries.begin(
            thread.team, owner, [p.name for p in parts], keep
        )
        ts = dict(ledger.posted)
        missing = [p for p in parts if p.name not in ts]
        found: dict[str, str] = {}
        maybe_posted = [ledger.intended[p.name] for p in missing if p.name in ledger.intended]
        if maybe_posted:
            since = min(maybe_posted) - _CLOCK_SKEW_S
            in_thread = await self.presenter.find_posted(thread, owner, since)
            found = {p.name: in_thread[p.name] for p in missing if p.name in in_thread}
            log.info("delivery resumed", extra={"owner": owner, "found": len(found)})
        new = dict(found)
        for part in missing:
            if part.name not in found:
                new[part.name] = await self.presenter.post(thread, owner, part)
        await self.stores.deliveries.record(thread.team, owner, new)
        ts.update(new)
        return Posted(ts=ts, fields=ledger.fields)

    async def acknowledge(self, kept: KeptPrompt) -> str:
        """The kept prompt's "On it" message, posted once however often it is sent."""
        posted = await self.post_once(
            kept.thread, ack_owner(kept.id), [self.presenter.acknowledgement()]
        )
        return next(iter(posted.ts.values()))

    async def deliver(
        self, record: RunRecord, run: Run, previews: Mapping[str, LeadPreview] | None = None
    ) -> Delivered:
        """Post a finished run's result once: its parts (``previews``: the first leads of
        its tables), its questions (saved for their buttons), and its progress line's last
        state. Safe to call again after a crash."""
        thread = record.thread
        tables = run.response.tables if run.response else []
        outcome = RunOutcome(
            status=run.status.value,
            next_actions=[a.label for a in run.todo.next_actions],
            table_ids=[t.id for t in tables],
            steps=to_next_steps(run.todo.next_actions, tables),
        )
        elapsed = _elapsed(record, run)
        keep = {ELAPSED: f"{elapsed:.1f}", OUTCOME: codec.dump_outcome(outcome)}
        parts = self._parts(run, elapsed, previews)
        posted = await self.post_once(thread, run.id, parts, keep)
        # The duration the first delivery fixed (the same unless Origami gave no times).
        elapsed = float(posted.fields.get(ELAPSED, elapsed))
        questions = run.todo.pending_questions if run.status is RunStatus.NEEDS_INPUT else []
        if questions and QUESTIONS in posted.ts:
            await self.stores.questions.save(
                QuestionSet(
                    team=record.team,
                    run_id=run.id,
                    agent_id=record.agent_id,
                    channel=record.channel,
                    thread_ts=record.thread_ts,
                    message_ts=posted.ts[QUESTIONS],
                    questions=[q.model_dump(by_alias=True) for q in questions],
                    answers={},
                    sent=False,
                    intro=questions_intro(run),
                )
            )
        results = [ts for name, ts in posted.ts.items() if name.startswith(RESULT_PART)]
        if results:
            await self.stores.open_buttons.keep(thread, run.id, results)
        if record.progress_ts:
            await self.presenter.progress_final(thread, record.progress_ts, run, elapsed)
        log.info("run delivered", extra={"status": run.status_raw, "elapsed_s": round(elapsed)})
        return Delivered(parts, posted.ts)

    async def close_stale(self, thread: ThreadRef, stale: Sequence[str]) -> None:
        """A newer run started in ``thread``: the last result's next steps and
        Continue/Retry no longer apply, so they are closed (once: ``stale`` was taken by
        the step that started watching the run). Never fails the caller: buttons left open
        only answer "already done" or start a follow-up."""
        try:
            if stale:
                await self.presenter.close_stale_buttons(thread, stale)
        except Exception as exc:
            log.warning("could not close stale buttons", extra={"error": type(exc).__name__})

    def _parts(
        self, run: Run, elapsed: float, previews: Mapping[str, LeadPreview] | None
    ) -> list[Part]:
        parts = self.presenter.result_parts(run, elapsed, previews)
        if run.status is RunStatus.NEEDS_INPUT and run.todo.pending_questions:
            parts.append(
                self.presenter.questions_part(
                    run.id, run.todo.pending_questions, intro=questions_intro(run)
                )
            )
        return parts


def _elapsed(record: RunRecord, run: Run) -> float:
    """The run's duration by Origami's clock when it says, else since it was started here."""
    if run.started_at and run.completed_at:
        try:
            began = datetime.fromisoformat(run.started_at.replace("Z", "+00:00"))
            ended = datetime.fromisoformat(run.completed_at.replace("Z", "+00:00"))
            return max(0.0, (ended - began).total_seconds())
        except ValueError:
            pass
    return max(0.0, time.time() - record.started_at)
