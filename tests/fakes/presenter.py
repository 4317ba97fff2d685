"""A Presenter that records what the use cases asked to show, for tests without Slack.

It renders each part as what it is about, posts by appending, and finds by marker: the
exactly-once protocol is ``bot.delivery``'s, not the presenter's, so nothing of it is
written again here."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain import Answer, Note, Part, PastedLinks, Progress, SlackFile, ThreadRef
from bot.files.limits import Refusal
from bot.origami.models import PendingQuestion, Run, Table
from bot.origami.transcript import ToolStep
from bot.previews import LeadPreview
from bot.problems import Problem
from bot.workspace_settings import NotAllowed


@dataclass
class Shown:
    what: str
    thread: ThreadRef
    data: dict[str, Any] = field(default_factory=dict)


class RecordingPresenter:
    def __init__(self) -> None:
        self.shown: list[Shown] = []
        self._ts = itertools.count(1)

    def _next_ts(self) -> str:
        return f"{time.time():.0f}.{next(self._ts):06d}"

    def of(self, what: str) -> list[Shown]:
        return [s for s in self.shown if s.what == what]

    def _show(self, what: str, thread: ThreadRef, **data: Any) -> None:
        self.shown.append(Shown(what, thread, data))

    # -- rendering ----------------------------------------------------------------------

    def acknowledgement(self) -> Part:
        return Part("ack", {"what": "acknowledge"})

    def result_parts(
        self, run: Run, elapsed_s: float, previews: Mapping[str, LeadPreview] | None = None
    ) -> list[Part]:
        return [Part("result-0", {"what": "result", "run": run, "previews": dict(previews or {})})]

    def questions_part(
        self, run_id: str, questions: Sequence[PendingQuestion], *, intro: str = ""
    ) -> Part:
        body = {"what": "questions", "run_id": run_id, "questions": list(questions)}
        body["intro"] = intro
        return Part("questions", body)

    # -- posting and finding ------------------------------------------------------------

    async def post(self, thread: ThreadRef, owner: str, part: Part) -> str:
        ts = self._next_ts()
        body = dict(part.body)
        self._show(body.pop("what"), thread, ts=ts, owner=owner, part=part.name, **body)
        return ts

    async def find_posted(self, thread: ThreadRef, owner: str, since: float) -> dict[str, str]:
        return {
            s.data["part"]: s.data["ts"]
            for s in self.shown
            if s.thread == thread and s.data.get("owner") == owner and float(s.data["ts"]) >= since
        }

    # -- everything else ----------------------------------------------------------------

    async def progress(self, thread: ThreadRef, message_ts: str, progress: Progress) -> None:
        self._show("progress", thread, ts=message_ts, progress=progress)

    async def progress_final(
        self, thread: ThreadRef, message_ts: str, run: Run, elapsed_s: float
    ) -> None:
        self._show("progress_final", thread, ts=message_ts, run=run)

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
        self._show(
            "questions_update",
            thread,
            ts=message_ts,
            run_id=run_id,
            answers=dict(answers),
            closed=closed,
            intro=intro,
        )

    async def problem(
        self, thread: ThreadRef, problem: Problem, message_ts: str | None = None
    ) -> None:
        self._show("problem", thread, problem=problem, ts=message_ts)

    async def problem_for(self, thread: ThreadRef, user_id: str, problem: Problem) -> None:
        self._show("problem_for", thread, user=user_id, problem=problem)

    async def queued(
        self, thread: ThreadRef, position: int, run_id: str | None, message_ts: str | None
    ) -> str:
        ts = message_ts or self._next_ts()
        self._show("queued", thread, position=position, run_id=run_id, ts=ts, new=not message_ts)
        return ts

    async def queue_sent(self, thread: ThreadRef, message_ts: str, sent: int, left: int) -> None:
        self._show("queue_sent", thread, ts=message_ts, sent=sent, left=left)

    async def waiting_for_slot(
        self,
        thread: ThreadRef,
        busy: int | None,
        limit: int | None,
        retry_after_s: float,
        message_ts: str | None,
    ) -> None:
        self._show(
            "waiting_for_slot",
            thread,
            busy=busy,
            limit=limit,
            retry_after_s=retry_after_s,
            ts=message_ts,
        )

    async def open_thread(self, team: str, channel: str, who: str, prompt: str) -> str | None:
        ts = self._next_ts()
        self._show("open_thread", ThreadRef(team, channel, ts), who=who, prompt=prompt)
        return ts

    async def unfurl(self, pasted: PastedLinks, tables: Mapping[str, Table]) -> None:
        thread = ThreadRef(pasted.team, pasted.channel, pasted.message_ts)
        self._show("unfurl", thread, pasted=pasted, tables=dict(tables))

    async def usage_hint(self, thread: ThreadRef) -> None:
        self._show("usage_hint", thread)

    async def files_refused(
        self, thread: ThreadRef, user_id: str, refused: Sequence[tuple[SlackFile, Refusal]]
    ) -> None:
        self._show("files_refused", thread, user=user_id, refused=list(refused))

    async def note(
        self, thread: ThreadRef, user_id: str, note: Note, answer: Answer | None = None
    ) -> None:
        self._show("note", thread, user=user_id, note=note, answer=answer)

    async def not_allowed(self, thread: ThreadRef, user_id: str, why: NotAllowed) -> None:
        self._show("not_allowed", thread, user=user_id, why=why)

    async def choice_made(
        self, thread: ThreadRef, message_ts: str, user_id: str, label: str
    ) -> None:
        self._show("choice_made", thread, ts=message_ts, user=user_id, label=label)

    async def low_credits(self, thread: ThreadRef, balance: float) -> None:
        self._show("low_credits", thread, balance=balance)

    async def show_steps(
        self, thread: ThreadRef, steps: Sequence[ToolStep], *, truncated: bool
    ) -> None:
        self._show("steps", thread, steps=list(steps), truncated=truncated)

    async def close_stale_buttons(self, thread: ThreadRef, message_ts: Sequence[str]) -> None:
        self._show("close_stale_buttons", thread, ts=list(message_ts))

    async def stopping(self, thread: ThreadRef, message_ts: str, user_id: str) -> None:
        self._show("stopping", thread, ts=message_ts, user=user_id)

    async def share_table(
        self, thread: ThreadRef, table: Table, run_id: str, shared_by: str
    ) -> str:
        ts = self._next_ts()
        self._show("share_table", thread, table=table, user=shared_by, ts=ts)
        return ts

    async def upload_csv(
        self, thread: ThreadRef, table: Table, content: bytes, user_id: str
    ) -> None:
        self._show("upload_csv", thread, table=table, content=content)
