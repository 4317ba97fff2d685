"""A Presenter that records what the bridge asked to show, for bridge tests without Slack."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.bridge import AnswerView, Progress, ThreadRef, intent_of, result_part
from bot.origami.models import PendingQuestion, Run, Table
from bot.problems import Problem


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
        return f"1700000000.{next(self._ts):06d}"

    def of(self, what: str) -> list[Shown]:
        return [s for s in self.shown if s.what == what]

    async def acknowledge(self, thread: ThreadRef, cause: str) -> str:
        ts = self._next_ts()
        self.shown.append(Shown("acknowledge", thread, {"ts": ts, "cause": cause}))
        return ts

    async def find_acknowledgement(self, thread: ThreadRef, cause: str) -> str | None:
        for shown in self.shown:
            if (shown.what, shown.thread) == ("acknowledge", thread) and (
                shown.data["cause"] == cause
            ):
                return str(shown.data["ts"])
        return None

    async def usage_hint(self, thread: ThreadRef) -> None:
        self.shown.append(Shown("usage_hint", thread))

    async def attachments_note(self, thread: ThreadRef) -> None:
        self.shown.append(Shown("attachments_note", thread))

    async def progress(self, thread: ThreadRef, message_ts: str, progress: Progress) -> None:
        self.shown.append(Shown("progress", thread, {"ts": message_ts, "progress": progress}))

    async def progress_final(
        self, thread: ThreadRef, message_ts: str, run: Run, elapsed_s: float
    ) -> None:
        self.shown.append(Shown("progress_final", thread, {"ts": message_ts, "run": run}))

    async def result(
        self,
        thread: ThreadRef,
        run: Run,
        elapsed_s: float,
        posted: dict[str, str],
        record: Callable[[str, str], Awaitable[None]],
    ) -> None:
        # The same record protocol as the Slack presenter, with one message a result.
        part = result_part(0)
        if part in posted:
            return
        if intent_of(part) in posted:
            # A delivery was cut short after its intent: was the post made? Look, as the
            # Slack presenter looks in the thread.
            for shown in self.of("result"):
                if shown.thread == thread and shown.data["run"].id == run.id:
                    await record(part, str(shown.data["ts"]))
                    return
        else:
            await record(intent_of(part), "1")
        ts = self._next_ts()
        self.shown.append(Shown("result", thread, {"run": run, "ts": ts}))
        await record(part, ts)

    async def questions(
        self,
        thread: ThreadRef,
        run_id: str,
        questions: Sequence[PendingQuestion],
        answers: dict[int, AnswerView],
        message_ts: str | None,
        closed: bool,
    ) -> str:
        ts = message_ts or self._next_ts()
        self.shown.append(
            Shown(
                "questions",
                thread,
                {
                    "run_id": run_id,
                    "questions": list(questions),
                    "answers": dict(answers),
                    "ts": ts,
                    "closed": closed,
                },
            )
        )
        return ts

    async def problem(
        self, thread: ThreadRef, problem: Problem, message_ts: str | None = None
    ) -> None:
        self.shown.append(Shown("problem", thread, {"problem": problem, "ts": message_ts}))

    async def queued(
        self, thread: ThreadRef, position: int, run_id: str | None, message_ts: str | None
    ) -> None:
        self.shown.append(
            Shown("queued", thread, {"position": position, "run_id": run_id, "ts": message_ts})
        )

    async def waiting_for_slot(
        self,
        thread: ThreadRef,
        busy: int | None,
        limit: int | None,
        retry_after_s: float,
        message_ts: str | None,
    ) -> None:
        self.shown.append(
            Shown(
                "waiting_for_slot",
                thread,
                {"busy": busy, "limit": limit, "retry_after_s": retry_after_s, "ts": message_ts},
            )
        )

    async def note(self, thread: ThreadRef, user_id: str, note: str, detail: str = "") -> None:
        self.shown.append(Shown("note", thread, {"user": user_id, "note": note, "detail": detail}))

    async def choice_made(
        self, thread: ThreadRef, message_ts: str, user_id: str, label: str
    ) -> None:
        self.shown.append(
            Shown("choice_made", thread, {"ts": message_ts, "user": user_id, "label": label})
        )

    async def stopping(self, thread: ThreadRef, message_ts: str, user_id: str) -> None:
        self.shown.append(Shown("stopping", thread, {"ts": message_ts, "user": user_id}))

    async def share_table(
        self, thread: ThreadRef, table: Table, run_id: str, shared_by: str
    ) -> None:
        self.shown.append(Shown("share_table", thread, {"table": table, "user": shared_by}))

    async def upload_csv(
        self, thread: ThreadRef, table: Table, content: bytes, user_id: str
    ) -> None:
        self.shown.append(Shown("upload_csv", thread, {"table": table, "content": content}))
