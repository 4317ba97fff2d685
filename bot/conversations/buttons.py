"""Buttons on a run: answers to its questions, Continue, Retry, a next step, Stop.

A button that sends a prompt acts once, whoever clicks and however often: it is claimed
first (``ClaimStore.claim_action``, or the answers' ``sent`` flag), then its prompt goes
through intake like a typed reply. Ids in a click are untrusted: each button acts only on
what its run really showed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from bot.conversations.intake import Intake
from bot.domain import (
    Answer,
    AnswerRecorded,
    Note,
    Prompt,
    QuestionSet,
    RunRecord,
    ThreadRef,
    TypedAnswer,
)
from bot.origami.client import idempotency_key
from bot.origami.models import PendingQuestion
from bot.ports import Presenter
from bot.problems import report
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

CONTINUE_PROMPT = "Please continue where you left off."


class Buttons:
    def __init__(
        self, stores: Stores, origami: OrigamiFor, presenter: Presenter, intake: Intake
    ) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter
        self.intake = intake

    # -- questions ----------------------------------------------------------------------

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
        qs = await self._questions_here(thread, run_id, user_id)
        if qs is None:
            return
        if not 0 <= question < len(qs.questions):
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        questions = _parse(qs)
        if choice is not None:
            suggested = questions[question].suggested_answers
            if not 0 <= choice < len(suggested):
                await self.presenter.note(thread, user_id, Note.EXPIRED)
                return
            text = suggested[choice]
        if not text or not text.strip():
            return
        recorded = await self.stores.questions.record_answer(
            thread.team, run_id, question, Answer(user_id, text)
        )
        qs = await self.stores.questions.get(thread.team, run_id) or qs
        if recorded is not AnswerRecorded.RECORDED:
            await self.presenter.note(
                thread, user_id, Note.ALREADY_ANSWERED, qs.answers.get(question)
            )
            return
        if len(qs.answers) >= len(questions):
            await self.send_answers(thread, run_id, user_id)
            return
        await self.presenter.update_questions(
            thread, qs.message_ts, run_id, questions, qs.answers, closed=False, intro=qs.intro
        )

    async def send_answers(self, thread: ThreadRef, run_id: str, user_id: str) -> None:
        qs = await self._questions_here(thread, run_id, user_id)
        if qs is None:
            return
        if not qs.answers:
            return
        if not await self.stores.questions.mark_sent(thread.team, run_id, user_id):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return
        questions = _parse(qs)

        async def close() -> None:
            await self.presenter.update_questions(
                thread, qs.message_ts, run_id, questions, qs.answers, closed=True, intro=qs.intro
            )

        prompt = Prompt(
            text=_combine_answers(questions, qs.answers), user_id=user_id, cause=f"answers:{run_id}"
        )
        # The prompt is kept before the message changes, so a crash in between loses
        # nothing (the answers are marked sent already).
        await self.intake.take(thread, prompt, may_start=False, once_kept=close)

    async def open_typed_answer(
        self, thread: ThreadRef, run_id: str, question: int, user_id: str
    ) -> tuple[str, str] | None:
        """A modal for a typed answer is about to open: the question's text and the token
        its metadata carries (the modal names nothing itself: what it answers is kept
        here, bound to the thread it was opened from and the person who opened it)."""
        text = await self.question_text(thread, run_id, question)
        if text is None:
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return None
        token = secrets.token_urlsafe(18)
        opened = TypedAnswer(thread.channel, thread.thread_ts, run_id, question, user_id)
        await self.stores.questions.open_typed_answer(thread.team, token, opened)
        return text, token

    async def typed_answer(self, team: str, token: str, user_id: str, text: str) -> bool:
        """A typed answer from the modal ``token`` names; False when the token is not one
        this app handed out to ``user_id`` (forged, expired, or someone else's)."""
        opened = await self.stores.questions.typed_answer(team, token)
        if opened is None or opened.user_id != user_id:
            return False
        thread = ThreadRef(team, opened.channel, opened.thread_ts)
        await self.answer(thread, opened.run_id, opened.question, user_id, text=text)
        return True

    async def question_text(self, thread: ThreadRef, run_id: str, question: int) -> str | None:
        """The question a typed answer is for, if it is open and asked in ``thread``."""
        qs = await self.stores.questions.get(thread.team, run_id)
        if qs is None or qs.thread != thread or qs.sent:
            return None
        if not 0 <= question < len(qs.questions):
            return None
        return str(qs.questions[question].get("question", ""))

    async def _questions_here(
        self, thread: ThreadRef, run_id: str, user_id: str
    ) -> QuestionSet | None:
        """The run's questions, if they were asked in the thread the click came from."""
        qs = await self.stores.questions.get(thread.team, run_id)
        if qs is None:
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return None
        if qs.thread != thread:
            await self.presenter.note(thread, user_id, Note.NOT_HERE)
            return None
        return qs

    # -- run buttons ----------------------------------------------------------------------

    async def continue_run(self, thread: ThreadRef, run_id: str, user_id: str, ts: str) -> None:
        if await run_here(self.stores, self.presenter, thread, run_id, user_id) is None:
            return
        await self._one_shot(thread, run_id, user_id, ts, "continue", CONTINUE_PROMPT, "Continue")

    async def retry_run(self, thread: ThreadRef, run_id: str, user_id: str, ts: str) -> None:
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return
        if not record.prompt:
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        await self._one_shot(thread, run_id, user_id, ts, "retry", record.prompt, "Retry")

    async def send_next_step(
        self, thread: ThreadRef, run_id: str, index: int, label: str, user_id: str, ts: str
    ) -> None:
        """A next step that is a prompt (``NextSteps.click`` checked it is the run's)."""
        await self._one_shot(thread, run_id, user_id, ts, f"next:{index}", label, label)

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
        if not await self.stores.claims.claim_action(thread.team, cause):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return

        async def show_choice() -> None:
            await self.presenter.choice_made(thread, message_ts, user_id, label)

        prompt = Prompt(text=text, user_id=user_id, cause=cause)
        await self.intake.take(thread, prompt, may_start=False, once_kept=show_choice)

    async def stop(self, thread: ThreadRef, run_id: str, user_id: str, message_ts: str) -> None:
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return
        if not await self.stores.claims.claim_action(thread.team, f"stop:{run_id}"):
            await self.presenter.note(thread, user_id, Note.ALREADY_DONE)
            return
        await self.presenter.stopping(thread, message_ts, user_id)
        try:
            origami = await self.origami.for_team(thread.team)
            await origami.cancel(record.agent_id, idempotency_key=idempotency_key("stop", run_id))
        except Exception as exc:
            await report(self.presenter, thread, exc, None, agent_call=True)
        # The watcher sees the run turn `cancelled` on its next poll and posts what was built.


async def run_here(
    stores: Stores, presenter: Presenter, thread: ThreadRef, run_id: str, user_id: str
) -> RunRecord | None:
    """The run a button names, if it ran in the thread the click came from (a value naming
    another thread's run, however well formed, does nothing there)."""
    record = await stores.runs.get(thread.team, run_id)
    if record is None:
        await presenter.note(thread, user_id, Note.EXPIRED)
        return None
    if record.thread != thread and not await _is_shared_card(stores, thread, run_id):
        await presenter.note(thread, user_id, Note.NOT_HERE)
        return None
    return record


async def _is_shared_card(stores: Stores, thread: ThreadRef, run_id: str) -> bool:
    """A table card shared to the channel is a thread of its own: its buttons act on the
    run it was shared from, which is recorded with the card."""
    shared = await stores.runs.shared_card_run(thread.team, thread.channel, thread.thread_ts)
    return shared == run_id


def _parse(qs: QuestionSet) -> list[PendingQuestion]:
    return [PendingQuestion.model_validate(q) for q in qs.questions]


def _combine_answers(questions: Sequence[PendingQuestion], answers: dict[int, Answer]) -> str:
    if len(questions) == 1 and 0 in answers:
        return answers[0].text
    return "\n".join(
        f"{q.question} -> {answers[i].text}" for i, q in enumerate(questions) if i in answers
    )
