"""Intake: a person's message, or a button that sends a prompt, becomes a kept prompt.

One atomic step claims the Slack message, decides what it is (a new conversation, the
agent's next run, queued behind what the thread is busy with, or not ours) and keeps the
prompt; nothing more happens here. A sender (``bot.sending``) sends every kept prompt, in
whichever process claims it first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot import logs
from bot.conversations.gate import Gate
from bot.domain import (
    PROMPT_MAX_UNITS,
    QUEUE_MAX,
    Note,
    Prompt,
    Released,
    SlackFile,
    Taken,
    ThreadRef,
    kept_prompt_id,
)
from bot.domain import Intake as Outcome
from bot.files.limits import MAX_FILES, Refusal, refusal
from bot.metrics import Metrics
from bot.origami import errors
from bot.origami.client import clip_utf16, utf16_len
from bot.ports import Presenter
from bot.problems import Problem, ProblemKind, problem_from_error
from bot.stores import Stores
from bot.workspace_settings import NotAllowed

log = logging.getLogger(__name__)

# The prompt of a file shared without a word: the agent is told what it was given (a
# Slack Connect file's name is not known until files.info is asked).
FILES_ONLY_PROMPT = "Please use the files I've shared with this message{names}."


class Intake:
    def __init__(
        self,
        stores: Stores,
        presenter: Presenter,
        metrics: Metrics | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self.stores = stores
        self.presenter = presenter
        # The workspace's settings (App Home): where the app answers, and whom.
        self.gate = gate

    async def refusal(self, team: str, channel: str, user_id: str) -> NotAllowed | None:
        """Why the app may not answer ``user_id`` in ``channel``, if it may not."""
        if self.gate is None:
            return None
        return await self.gate.refusal(team, channel, user_id)

    async def take(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        *,
        may_start: bool,
        event: str | None = None,
        once_kept: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Keep a person's prompt for a sender, or queue it, exactly once.

        ``may_start``: a mention or a DM may start a conversation; a reply only continues
        one. ``event``: the Slack message it came in, claimed in the same step, so a
        retried or doubled event does nothing. ``once_kept`` runs as soon as the prompt is
        safe in Redis (a clicked button shows its choice then, not after Origami answers).
        Files shared with it that the agent cannot take are left out here, before any is
        downloaded, and their author is told which and why once the prompt is taken.
        """
        # First, before anything is claimed or kept: a message the workspace's settings
        # leave out reaches Origami never (no round trip: the settings are kept briefly).
        not_allowed = await self.refusal(thread.team, thread.channel, prompt.user_id)
        if not_allowed is not None:
            await self._not_allowed(thread, prompt.user_id, not_allowed, may_start, event)
            return
        prompt, refused = _with_files_taken(prompt)
        if not prompt.text.strip():
            await self._empty(
                thread, prompt, refused, may_start=may_start, event=event, once_kept=once_kept
            )
            return
        if utf16_len(prompt.text) > PROMPT_MAX_UNITS:
            await self._too_long(thread, prompt, may_start=may_start, event=event)
            return
        taken = await self.stores.threads.take(
            thread,
            kept_prompt_id(prompt.cause),
            prompt,
            may_start=may_start,
            event=event,
        )
        if taken.outcome is Outcome.DUPLICATE:
            log.info("duplicate event dropped", extra={"identity": event})
            return
        if once_kept is not None:
            await once_kept()
        if taken.outcome is Outcome.NOT_OURS:
            return
        if refused:
            await self.presenter.files_refused(thread, prompt.user_id, refused)
        if taken.outcome is Outcome.FULL:
            self.metrics.prompts_refused.labels("queue_full").inc()
            await self.presenter.note(thread, prompt.user_id, Note.QUEUE_FULL)
            log.warning("queue full; prompt refused", extra={"limit": QUEUE_MAX})
            return
        if taken.outcome is Outcome.QUEUED:
            self.metrics.prompts_queued.inc()
            await self._show_queued(thread, taken)
            log.info("prompt queued", extra={"position": taken.position})
            return
        if taken.agent_id:
            logs.bind(agent=taken.agent_id)
        log.debug("prompt kept", extra={"kind": taken.kind})

    async def _show_queued(self, thread: ThreadRef, taken: Taken) -> None:
        """One "waiting" notice per busy period, updated in place with the count (500
        replies make one message, not 500)."""
        run_id = taken.busy.run_id if taken.busy else None
        if taken.notice:
            await self.presenter.queued(thread, taken.position, run_id, taken.notice)
        elif taken.position == 1:
            ts = await self.presenter.queued(thread, 1, run_id, None)
            if not await self.stores.threads.set_notice(thread, ts):
                log.warning("two waiting notices in one busy period")
        # Else the first reply of this busy period is posting the notice right now; the
        # next reply (or the release) brings its count up to date.

    async def resumed(self, thread: ThreadRef, released: Released) -> None:
        """The thread went on with what was queued: its notice says so. What cannot go
        (the thread's agent could not be made) is not dropped silently: the people whose
        messages they were are named."""
        if released.forgotten:
            who = tuple(dict.fromkeys(p.user_id for p in released.forgotten))
            count = str(len(released.forgotten))
            problem = Problem(ProblemKind.NOT_SENT, detail=count, who=who)
            await self.presenter.problem(thread, problem, released.notice)
        elif released.notice and released.sent:
            await self.presenter.queue_sent(thread, released.notice, released.sent, released.left)

    async def _empty(
        self,
        thread: ThreadRef,
        prompt: Prompt,
        refused: list[tuple[SlackFile, Refusal]],
        *,
        may_start: bool,
        event: str | None,
        once_kept: Callable[[], Awaitable[None]] | None,
    ) -> None:
        # Rare (a mention alone, or only files the agent cannot take): nothing to keep.
        if event is not None and not await self.stores.claims.claim_event(thread.team, event):
            return
        if once_kept is not None:
            await once_kept()
        # One more read, so that a thread that is not ours gets no hint.
        if may_start or await self.stores.threads.get(thread):
            if refused:
                await self.presenter.files_refused(thread, prompt.user_id, refused)
            await self.presenter.usage_hint(thread)

    async def _not_allowed(
        self, thread: ThreadRef, user_id: str, why: NotAllowed, may_start: bool, event: str | None
    ) -> None:
        # Once per message (its twin event and Slack's retries say nothing more), and in a
        # thread only if it is ours: a reply in someone else's thread gets no note.
        if event is not None and not await self.stores.claims.claim_event(thread.team, event):
            return
        if not may_start and not await self.stores.threads.get(thread):
            return
        self.metrics.prompts_refused.labels("not_allowed").inc()
        log.info("message not answered: the workspace's settings", extra={"why": why.value})
        await self.presenter.not_allowed(thread, user_id, why)

    async def _too_long(
        self, thread: ThreadRef, prompt: Prompt, *, may_start: bool, event: str | None
    ) -> None:
        # Refused before it is kept, so every prompt kept or queued fits Origami's limit
        # (queued ones are joined only as far as they fit). Its author is told, privately,
        # unless the thread is not ours.
        if event is not None and not await self.stores.claims.claim_event(thread.team, event):
            return
        if not may_start and not await self.stores.threads.get(thread):
            return
        self.metrics.prompts_refused.labels("too_long").inc()
        problem = problem_from_error(errors.PromptError("too long", utf16_len(prompt.text)))
        await self.presenter.problem_for(thread, prompt.user_id, problem)


def _with_files_taken(prompt: Prompt) -> tuple[Prompt, list[tuple[SlackFile, Refusal]]]:
    """The prompt with only the files the agent takes (kind and size, as Slack describes
    them; at most a run's worth), and the others with why."""
    if not prompt.files:
        return prompt, []
    taken: list[SlackFile] = []
    refused: list[tuple[SlackFile, Refusal]] = []
    for file in prompt.files:
        why = refusal(file)
        if why is None and len(taken) >= MAX_FILES:
            why = Refusal.TOO_MANY
        if why is None:
            taken.append(file)
        else:
            refused.append((file, why))
    text = prompt.text
    if not text.strip() and taken:
        names = ", ".join(f.name for f in taken if not f.needs_info)
        text = FILES_ONLY_PROMPT.format(names=f": {names}" if names else "")
        text = clip_utf16(text, PROMPT_MAX_UNITS)
    return replace(prompt, text=text, files=tuple(taken)), refused
