"""The ``Presenter`` port on Slack: renders messages with ``blocks``, posts them, finds them.

Every Web API call goes through the client built in ``bot.slack.app``, which retries Slack
429s and 5xx. What cannot be posted even so is logged with its context and raised to the
caller, which decides what is lost (progress: nothing; a result: retried by the watcher).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import (
    Answer,
    Note,
    Part,
    Progress,
    SlackFile,
    ThreadRef,
    questions_intro,
)
from bot.files.limits import Refusal
from bot.origami.models import PendingQuestion, Run
from bot.origami.transcript import ToolStep
from bot.previews import LeadPreview
from bot.problems import Problem
from bot.slack import blocks, settings_texts, texts
from bot.slack.blocks import Message
from bot.slack.blocks.files import build_files_refused
from bot.slack.channel_posts import ChannelPosts
from bot.slack.messages import SlackMessages, slack_error
from bot.tenancy.slack import SlackFor
from bot.workspace_settings import NotAllowed

# The metadata every part of a delivery carries, so a delivery resumed after a crash can
# find what an earlier one posted (``bot.delivery``).
PART_EVENT = "origami_part"
FULL_ANSWER = "full-answer"


@dataclass(frozen=True, slots=True)
class _File:
    """A part posted as a file (an answer too long for Slack's messages)."""

    filename: str
    text: str


def _answer_file(run_id: str) -> str:
    return f"origami-answer-{run_id}.md"


# Pages of the thread read when looking for parts: they are searched from the earliest
# intent on (``oldest``), which one page covers in practice.
_FIND_PAGES = 3

log = logging.getLogger(__name__)


class SlackPresenter(ChannelPosts):
    def __init__(
        self, clients: AsyncWebClient | SlackFor, *, app_url: str = blocks.ORIGAMI_APP_URL
    ) -> None:
        # One client (one workspace), or the lookup of each workspace's installation.
        self.slack = SlackMessages(clients)
        # The only host link buttons built from Origami's data may point to.
        self.app_url = app_url

    # -- rendering ----------------------------------------------------------------------

    def acknowledgement(self) -> Part:
        return Part("ack", blocks.build_ack())

    def result_parts(
        self, run: Run, elapsed_s: float, previews: Mapping[str, LeadPreview] | None = None
    ) -> list[Part]:
        messages = blocks.build_result(
            run,
            elapsed_s=elapsed_s,
            app_url=self.app_url,
            previews=previews,
            # A needs_input run's short text goes with its questions (``questions_part``).
            with_text=not questions_intro(run),
        )
        parts = [Part(f"result-{i}", message) for i, message in enumerate(messages)]
        full = blocks.result_overflow(run)
        if full is not None:
            # The answer was cut to fit Slack: all of it goes along as a file.
            parts.append(Part(FULL_ANSWER, _File(_answer_file(run.id), full)))
        return parts

    def questions_part(
        self, run_id: str, questions: Sequence[PendingQuestion], *, intro: str = ""
    ) -> Part:
        message = blocks.build_questions(list(questions), run_id=run_id, answers={}, intro=intro)
        return Part("questions", message)

    # -- posting and finding ------------------------------------------------------------

    async def post(self, thread: ThreadRef, owner: str, part: Part) -> str:
        if isinstance(part.body, _File):
            # A file carries no metadata: its name is its marker (``find_posted``).
            response = await (await self.slack.client(thread)).files_upload_v2(
                channel=thread.channel,
                thread_ts=thread.thread_ts,
                filename=part.body.filename,
                title=texts.FULL_ANSWER_TITLE,
                content=part.body.text.encode(),
                initial_comment=texts.FULL_ANSWER_COMMENT,
            )
            uploaded = response.get("files") or [{}]
            return str(uploaded[0].get("id") or part.body.filename)
        message: Message = part.body
        return await self.slack.post(
            thread,
            message,
            metadata={
                "event_type": PART_EVENT,
                "event_payload": {"owner": owner, "part": part.name},
            },
        )

    async def find_posted(self, thread: ThreadRef, owner: str, since: float) -> dict[str, str]:
        found: dict[str, str] = {}
        cursor = None
        for _ in range(_FIND_PAGES):
            response = await (await self.slack.client(thread)).conversations_replies(
                channel=thread.channel,
                ts=thread.thread_ts,
                oldest=f"{max(since, 0):.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in response.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if meta.get("event_type") == PART_EVENT and payload.get("owner") == owner:
                    found.setdefault(str(payload.get("part")), str(message["ts"]))
                names = {str(f.get("name")) for f in message.get("files") or []}
                if _answer_file(owner) in names:
                    found.setdefault(FULL_ANSWER, str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return found

    # -- everything else ----------------------------------------------------------------

    async def usage_hint(self, thread: ThreadRef) -> None:
        await self.slack.post(thread, blocks.build_usage_hint())

    async def files_refused(
        self, thread: ThreadRef, user_id: str, refused: Sequence[tuple[SlackFile, Refusal]]
    ) -> None:
        await self.slack.ephemeral(thread, user_id, build_files_refused(refused))

    async def progress(self, thread: ThreadRef, message_ts: str, progress: Progress) -> None:
        await self.slack.update(
            thread,
            message_ts,
            blocks.build_progress(
                run_id=progress.run_id,
                steps_completed=progress.steps_completed,
                elapsed_s=progress.elapsed_s,
                leads_found=progress.leads_found,
                queued=progress.queued,
            ),
        )

    async def progress_final(
        self, thread: ThreadRef, message_ts: str, run: Run, elapsed_s: float
    ) -> None:
        message = blocks.build_progress_final(
            status=run.status,
            elapsed_s=elapsed_s,
            steps_completed=run.steps.completed,
            steps_max=run.steps.max,
        )
        # An update only: posted anew it could not be told from an earlier delivery's.
        try:
            await self.slack.update(thread, message_ts, message)
        except SlackApiError as exc:
            log.warning("could not close the progress line", extra={"error": slack_error(exc)})

    async def update_questions(
        self,
        thread: ThreadRef,
        message_ts: str,
        run_id: str,
        questions: Sequence[PendingQuestion],
        answers: dict[int, Answer],
        *,
        closed: bool,
        intro: str = "",
    ) -> None:
        given = {i: blocks.Answer(user_id=a.user_id, text=a.text) for i, a in answers.items()}
        if closed:
            message = blocks.build_questions_closed(
                list(questions), answers=given, intro=intro, run_id=run_id
            )
        else:
            message = blocks.build_questions(
                list(questions), run_id=run_id, answers=given, intro=intro
            )
        await self.slack.post_or_update(thread, message_ts, message)

    async def problem(
        self, thread: ThreadRef, problem: Problem, message_ts: str | None = None
    ) -> None:
        message = blocks.build_problem(problem, retrying=problem.retrying)
        await self.slack.post_or_update(thread, message_ts, message)

    async def queued(
        self, thread: ThreadRef, position: int, run_id: str | None, message_ts: str | None
    ) -> str:
        message = blocks.build_queued(position=position, run_id=run_id)
        return await self.slack.post_or_update(thread, message_ts, message)

    async def queue_sent(self, thread: ThreadRef, message_ts: str, sent: int, left: int) -> None:
        message = blocks.build_note(texts.queue_sent(sent, left))
        try:
            await self.slack.update(thread, message_ts, message)
        except SlackApiError as exc:
            log.warning("could not update the waiting notice", extra={"error": slack_error(exc)})

    async def waiting_for_slot(
        self,
        thread: ThreadRef,
        busy: int | None,
        limit: int | None,
        retry_after_s: float,
        message_ts: str | None,
    ) -> None:
        message = blocks.build_waiting_for_slot(busy=busy, limit=limit, retry_after_s=retry_after_s)
        await self.slack.post_or_update(thread, message_ts, message)

    async def problem_for(self, thread: ThreadRef, user_id: str, problem: Problem) -> None:
        await self.slack.ephemeral(thread, user_id, blocks.build_problem(problem))

    async def note(
        self, thread: ThreadRef, user_id: str, note: Note, answer: Answer | None = None
    ) -> None:
        if note is Note.ALREADY_ANSWERED and answer is not None:
            message = blocks.build_already_answered(
                blocks.Answer(user_id=answer.user_id, text=answer.text)
            )
        else:
            message = blocks.build_note(texts.note(note))
        await self.slack.ephemeral(thread, user_id, message)

    async def not_allowed(self, thread: ThreadRef, user_id: str, why: NotAllowed) -> None:
        await self.slack.ephemeral(
            thread, user_id, blocks.build_note(settings_texts.NOT_ALLOWED[why])
        )

    async def choice_made(
        self, thread: ThreadRef, message_ts: str, user_id: str, label: str
    ) -> None:
        """Replace the clicked buttons with who chose what, so nobody clicks them again."""
        await self.slack.close_buttons(thread, message_ts, texts.choice_made(user_id, label))

    async def stopping(self, thread: ThreadRef, message_ts: str, user_id: str) -> None:
        await self.slack.close_buttons(thread, message_ts, texts.stopping(user_id))

    async def low_credits(self, thread: ThreadRef, balance: float) -> None:
        await self.slack.post(thread, blocks.build_low_credits(balance))

    async def show_steps(
        self, thread: ThreadRef, steps: Sequence[ToolStep], *, truncated: bool
    ) -> None:
        await self.slack.post(thread, blocks.build_steps(steps, truncated=truncated))

    async def close_stale_buttons(self, thread: ThreadRef, message_ts: Sequence[str]) -> None:
        for ts in message_ts:
            await self.slack.close_buttons(thread, ts, texts.BUTTONS_CLOSED, only_if_open=True)
