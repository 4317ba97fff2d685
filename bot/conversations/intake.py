"""Intake: a person's message, or a button that sends a prompt, becomes a kept prompt.

One atomic step claims the Slack message, decides what it is (a new conversation, the
agent's next run, queued behind what the thread is busy with, or not ours) and keeps the
prompt; nothing more happens here. A sender (``bot.sending``) sends every kept prompt, in
whichever process claims it first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot import logs
from bot.domain import Intake as Outcome
from bot.domain import Prompt, ThreadRef, kept_prompt_id
from bot.ports import Presenter
from bot.stores import Stores

log = logging.getLogger(__name__)


class Intake:
    def __init__(self, stores: Stores, presenter: Presenter) -> None:
        self.stores = stores
        self.presenter = presenter

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
        """
        if not prompt.text.strip():
            await self._empty(thread, may_start=may_start, event=event, once_kept=once_kept)
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
        if prompt.has_files:
            await self.presenter.attachments_note(thread)
        if taken.outcome is Outcome.QUEUED:
            run_id = taken.busy.run_id if taken.busy else None
            await self.presenter.queued(thread, taken.position, run_id, None)
            log.info("prompt queued", extra={"position": taken.position})
            return
        if taken.agent_id:
            logs.bind(agent=taken.agent_id)
        log.debug("prompt kept", extra={"kind": taken.kind})

    async def resume(self, thread: ThreadRef, queued: Sequence[Prompt]) -> None:
        """The thread is idle again: what was queued behind it goes as one follow-up."""
        if not queued:
            return
        prompt = Prompt(
            text="\n\n".join(q.text for q in queued),
            user_id=queued[-1].user_id,
            cause="queued:" + ",".join(q.cause for q in queued),
        )
        await self.take(thread, prompt, may_start=False)

    async def _empty(
        self,
        thread: ThreadRef,
        *,
        may_start: bool,
        event: str | None,
        once_kept: Callable[[], Awaitable[None]] | None,
    ) -> None:
        # Rare (a mention alone, a file without words): nothing to keep.
        if event is not None and not await self.stores.claims.claim_event(thread.team, event):
            return
        if once_kept is not None:
            await once_kept()
        # One more read, so that a thread that is not ours gets no hint.
        if may_start or await self.stores.threads.get(thread):
            await self.presenter.usage_hint(thread)
