"""The presenter port: how the use cases show things in a thread. The Slack implementation
is ``bot.slack.presenter.SlackPresenter``; tests use a recorder.

The presenter renders, posts and finds; it decides nothing. Which message is posted once,
and how a post cut short by a crash is found again, is ``bot.delivery``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.domain import Answer, Note, Part, PastedLinks, Progress, SlackFile, ThreadRef
from bot.files.limits import Refusal
from bot.origami.models import PendingQuestion, Run, Table
from bot.origami.transcript import ToolStep
from bot.previews import LeadPreview
from bot.problems import Problem
from bot.workspace_settings import NotAllowed


class Presenter(Protocol):
    # -- rendering: the parts a delivery posts -----------------------------------------

    def acknowledgement(self) -> Part:
        """The "On it" message (later turned into the run's progress line)."""

    def result_parts(
        self, run: Run, elapsed_s: float, previews: Mapping[str, LeadPreview] | None = None
    ) -> list[Part]:
        """A finished run's answer, tables (with the ``previews`` of their first leads, by
        table id) and next steps, split to fit Slack."""

    def questions_part(
        self, run_id: str, questions: Sequence[PendingQuestion], *, intro: str = ""
    ) -> Part:
        """The run's questions, below ``intro`` (its text, when it goes with them)."""

    # -- posting and finding ------------------------------------------------------------

    async def post(self, thread: ThreadRef, owner: str, part: Part) -> str:
        """Post ``part`` marked with ``owner`` and its name; its ts."""

    async def find_posted(self, thread: ThreadRef, owner: str, since: float) -> dict[str, str]:
        """The parts of ``owner`` already in the thread, posted after ``since`` (epoch s):
        part name -> ts."""

    # -- everything else shown in a thread ------------------------------------------------

    async def progress(self, thread: ThreadRef, message_ts: str, progress: Progress) -> None: ...

    async def progress_final(
        self, thread: ThreadRef, message_ts: str, run: Run, elapsed_s: float
    ) -> None: ...

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
    ) -> None: ...

    async def problem(
        self, thread: ThreadRef, problem: Problem, message_ts: str | None = None
    ) -> None: ...

    async def problem_for(self, thread: ThreadRef, user_id: str, problem: Problem) -> None:
        """A problem only ``user_id`` needs to see (their own message could not go)."""

    async def queued(
        self, thread: ThreadRef, position: int, run_id: str | None, message_ts: str | None
    ) -> str:
        """Say that ``position`` messages wait (in place of ``message_ts`` if given); its ts."""

    async def queue_sent(self, thread: ThreadRef, message_ts: str, sent: int, left: int) -> None:
        """The waiting notice, once ``sent`` of its messages went on (``left`` still wait)."""

    async def waiting_for_slot(
        self,
        thread: ThreadRef,
        busy: int | None,
        limit: int | None,
        retry_after_s: float,
        message_ts: str | None,
    ) -> None: ...

    async def open_thread(self, team: str, channel: str, who: str, prompt: str) -> str | None:
        """Post the message a new conversation's thread hangs under (``/origami new``);
        its ts, or None when the app may not post in ``channel``."""

    async def usage_hint(self, thread: ThreadRef) -> None: ...

    async def unfurl(self, pasted: PastedLinks, tables: Mapping[str, Table]) -> None:
        """Unfurl each pasted URL as its table (``tables``: URL -> table)."""

    async def files_refused(
        self, thread: ThreadRef, user_id: str, refused: Sequence[tuple[SlackFile, Refusal]]
    ) -> None:
        """Tell ``user_id``, privately, which files shared with their message did not go to
        the agent, and why."""

    async def note(
        self, thread: ThreadRef, user_id: str, note: Note, answer: Answer | None = None
    ) -> None:
        """A private note to one person; ``answer``: who answered first, and what."""

    async def not_allowed(self, thread: ThreadRef, user_id: str, why: NotAllowed) -> None:
        """Tell ``user_id``, privately, that the app may not answer them here, why, and
        what to do (nothing was sent to Origami)."""

    async def choice_made(
        self, thread: ThreadRef, message_ts: str, user_id: str, label: str
    ) -> None: ...

    async def stopping(self, thread: ThreadRef, message_ts: str, user_id: str) -> None: ...

    async def low_credits(self, thread: ThreadRef, balance: float) -> None:
        """Say the Origami balance is low (``balance`` credits left)."""

    async def show_steps(
        self, thread: ThreadRef, steps: Sequence[ToolStep], *, truncated: bool
    ) -> None:
        """Post what the agent did (its tool calls) in the thread."""

    async def close_stale_buttons(self, thread: ThreadRef, message_ts: Sequence[str]) -> None:
        """Close the one-shot buttons of these messages: a newer run has started."""

    async def share_table(
        self, thread: ThreadRef, table: Table, run_id: str, shared_by: str
    ) -> str:
        """Post the table's card to the channel; its ts."""

    async def upload_csv(
        self, thread: ThreadRef, table: Table, content: bytes, user_id: str
    ) -> None: ...


class GroupMembers(Protocol):
    """Who is in a workspace's user groups (Slack)."""

    async def members(self, team: str, group_id: str) -> frozenset[str] | None:
        """The user ids in the group; None when Slack does not say."""


class FileSource(Protocol):
    """Where shared files are read from (Slack)."""

    async def describe(self, team: str, file: SlackFile) -> SlackFile | None:
        """What Slack says of a file its event did not describe (Slack Connect); None when
        the app may not see it. ``team``: the workspace whose token asks."""

    async def download(self, team: str, file: SlackFile) -> bytes | None:
        """Its bytes (at most one more than the size limit); None when the app may not
        read it (deleted, not shared with it, or its URL is not Slack's)."""
