"""The domain's values: threads, prompts, what a thread is busy with, runs, questions.

Plain frozen dataclasses and enums, shared by the use cases (``bot.conversations``,
``bot.sending``, ``bot.delivery``), the watcher and the stores. None of them knows Redis or
Slack's wire format; the stores turn them into records and back (``bot.stores.codec``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.origami.client import idempotency_key, utf16_len
from bot.origami.models import Run, RunStatus


@dataclass(frozen=True, slots=True)
class ThreadRef:
    team: str
    channel: str
    thread_ts: str


@dataclass(frozen=True, slots=True)
class SlackFile:
    """A file shared with a prompt, as Slack described it (validated by the listener)."""

    id: str
    name: str = "file"
    filetype: str = ""
    mimetype: str = ""
    size: int = 0
    url: str = ""  # url_private: readable with the bot token only
    # A Slack Connect file: the event said nothing of it but its id; ``files.info`` tells.
    needs_info: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """What a person asked for, and what caused it (the root of its Idempotency-Key)."""

    text: str
    user_id: str
    # A Slack message (``channel:ts``), a click (``continue:<run>``), queued prompts.
    cause: str
    # Shared with it, to go to the agent with it (``bot.files``).
    files: tuple[SlackFile, ...] = ()


class PromptKind(StrEnum):
    START = "start"  # creates the thread's agent
    FOLLOW = "follow"  # the next run of the thread's agent


@dataclass(frozen=True, slots=True)
class KeptPrompt:
    """A prompt kept in Redis from the moment it is taken until Origami has it: any process
    can send it (again) under the same Idempotency-Key."""

    id: str
    team: str
    channel: str
    thread_ts: str
    kind: PromptKind
    agent_id: str  # the thread's agent for FOLLOW; "" for START
    text: str
    user_id: str
    cause: str
    # Origami keeps the first answer to a key for 24 h, refusals included: a prompt sent
    # again after a 409/429 needs a fresh key, so each refusal starts a new attempt.
    attempt: int = 1
    tries: int = 0  # sends tried so far (for the back-off after Origami was down)
    files: tuple[SlackFile, ...] = ()  # uploaded and attached before it is sent
    # Its Idempotency-Keys carry its workspace: two workspaces of one Origami organisation
    # (which keeps keys per organisation) can have the same channel id and ts. False for
    # a prompt kept before keys did: sent again after an upgrade, it keeps the key its
    # first try went out under, so Origami still answers it rather than starting twice.
    keyed_by_team: bool = True

    @property
    def thread(self) -> ThreadRef:
        return ThreadRef(self.team, self.channel, self.thread_ts)

    def key_parts(self) -> tuple[str, ...]:
        """What the Idempotency-Keys of its requests are made from (after their kind)."""
        return (self.team, self.cause) if self.keyed_by_team else (self.cause,)

    @property
    def busy(self) -> Busy:
        return Busy(BusyKind.PROMPT, self.id)

    def idempotency_key(self) -> str:
        kind = "start" if self.kind is PromptKind.START else "run"
        if self.attempt == 1:
            return idempotency_key(kind, *self.key_parts())
        return idempotency_key(kind, *self.key_parts(), f"attempt-{self.attempt}")


def kept_prompt_id(cause: str) -> str:
    """A kept prompt's id, from its cause: the same prompt is kept under the same id."""
    return hashlib.sha256(cause.encode()).hexdigest()[:24]


class BusyKind(StrEnum):
    RUN = "run"  # a run in flight
    PROMPT = "prompt"  # a kept prompt not yet taken by Origami


@dataclass(frozen=True, slots=True)
class Busy:
    """What a thread is busy with; replies meanwhile queue behind it."""

    kind: BusyKind
    id: str

    def encode(self) -> str:
        return f"{self.kind.value}:{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Busy | None:
        kind, sep, ident = raw.partition(":")
        if not sep or kind not in BusyKind.__members__.values() or not ident:
            return None
        return cls(BusyKind(kind), ident)

    @property
    def run_id(self) -> str | None:
        """The run Stop can cancel, if the thread is busy with one."""
        return self.id if self.kind is BusyKind.RUN else None


@dataclass(frozen=True, slots=True)
class ThreadState:
    agent_id: str | None
    busy: Busy | None


class Intake(StrEnum):
    """What ``ThreadStore.take`` made of a person's message."""

    DUPLICATE = "duplicate"  # the Slack message was taken before (a retry, its twin event)
    NOT_OURS = "not_ours"  # no agent in the thread, and the message may not start one
    QUEUED = "queued"  # the thread is busy: the prompt waits in its queue
    FULL = "full"  # the thread is busy and its queue is full: the prompt is refused
    KEPT = "kept"  # kept for a sender: a new agent, or the agent's next run


@dataclass(frozen=True, slots=True)
class Taken:
    outcome: Intake
    kind: PromptKind | None = None  # KEPT
    agent_id: str = ""  # KEPT as FOLLOW
    position: int = 0  # QUEUED: place in the queue
    busy: Busy | None = None  # QUEUED, FULL: what the thread is busy with
    notice: str | None = None  # QUEUED: the busy period's "waiting" message, once posted


# Origami's limit on a prompt, in UTF-16 code units (as its API counts).
PROMPT_MAX_UNITS = 10_000
# Prompts a busy thread keeps waiting; past it a reply is refused, and its author told.
QUEUE_MAX = 50
_JOIN = "\n\n"


def next_batch(
    queued: Sequence[Prompt], max_units: int = PROMPT_MAX_UNITS
) -> tuple[int, Prompt] | None:
    """The follow-up that goes next from a thread's queue: the oldest prompts, in order,
    joined, as many as fit in one Origami prompt (at least one: intake refuses a single
    prompt that is too long). Its cause names every prompt in it, so each batch has its
    own Idempotency-Key. Returns how many it took, and the prompt."""
    if not queued:
        return None
    taken = [queued[0]]
    units = utf16_len(queued[0].text)
    for prompt in queued[1:]:
        units += utf16_len(_JOIN) + utf16_len(prompt.text)
        if units > max_units:
            break
        taken.append(prompt)
    files = {f.id: f for p in taken for f in p.files}  # each file once, in order
    return len(taken), Prompt(
        text=_JOIN.join(p.text for p in taken),
        user_id=taken[-1].user_id,
        cause="queued:" + ",".join(p.cause for p in taken),
        files=tuple(files.values()),
    )


@dataclass(frozen=True, slots=True)
class Released:
    """What a thread did when it finished with what it was busy with."""

    sent: int = 0  # queued prompts that went on as the next follow-up
    left: int = 0  # still waiting behind it
    notice: str | None = None  # the busy period's "waiting" message
    forgotten: Sequence[Prompt] = ()  # what was queued and cannot go (the thread has no agent)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run the app started, and where in Slack it is shown."""

    team: str
    run_id: str
    agent_id: str
    channel: str
    thread_ts: str
    progress_ts: str  # the "On it" message, turned into the progress line
    user_id: str
    prompt: str
    started_at: float = field(default_factory=time.time)

    @property
    def thread(self) -> ThreadRef:
        return ThreadRef(self.team, self.channel, self.thread_ts)


class StepKind(StrEnum):
    """What clicking a next step does (from its Origami ``type``)."""

    PROMPT = "prompt"  # its label goes to the agent as the next run
    EXPORT_CSV = "export_csv"  # the table's rows are uploaded as a CSV, as Export CSV does
    ASK_FOR_FILE = "ask_for_file"  # the person is asked to share a file in the thread
    SCHEDULE = "schedule"  # the schedule modal opens, with the run's prompt


@dataclass(frozen=True, slots=True)
class NextStep:
    kind: StepKind
    table_id: str = ""  # EXPORT_CSV: the run's table it exports


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a finished run's buttons may act on, saved when it is delivered (ids from a
    click are untrusted: a button acts only on what its run really showed)."""

    status: str
    next_actions: list[str]
    table_ids: list[str]
    # What each next step does, by index; a record from before typed steps has none, and
    # every step of it is a prompt.
    steps: list[NextStep] = field(default_factory=list)

    def step(self, index: int) -> NextStep:
        return self.steps[index] if index < len(self.steps) else NextStep(StepKind.PROMPT)


@dataclass(frozen=True, slots=True)
class Answer:
    user_id: str
    text: str


@dataclass(frozen=True, slots=True)
class QuestionSet:
    team: str
    run_id: str
    agent_id: str
    channel: str
    thread_ts: str
    message_ts: str
    questions: list[dict[str, Any]]
    answers: dict[int, Answer]
    sent: bool
    # The run's text, shown above its questions in one message (``questions_intro``).
    intro: str = ""

    @property
    def thread(self) -> ThreadRef:
        return ThreadRef(self.team, self.channel, self.thread_ts)


# A started conversation's title in ``/origami list``: one line.
STARTED_TITLE_MAX = 80


@dataclass(frozen=True, slots=True)
class StartedConversation:
    """A conversation someone started, for their own list (``/origami list``)."""

    channel: str
    thread_ts: str
    title: str  # the first line of the first prompt, clipped
    started_at: float = 0.0

    def thread(self, team: str) -> ThreadRef:
        return ThreadRef(team, self.channel, self.thread_ts)

    @classmethod
    def of(cls, thread: ThreadRef, prompt: str) -> StartedConversation:
        """Listed under the first line of its first prompt, clipped to a list's line."""
        lines = prompt.strip().splitlines()
        first = lines[0] if lines else ""
        title = first if len(first) <= STARTED_TITLE_MAX else first[: STARTED_TITLE_MAX - 1] + "…"
        return cls(thread.channel, thread.thread_ts, title, time.time())


# A needs_input run's text at most this long is shown with its questions, in one message.
INTRO_MAX_CHARS = 2_000


def questions_intro(run: Run) -> str:
    """The text a ``needs_input`` run shows above its questions, in the questions' message
    (one message instead of two), or "" when its text goes in a result message of its own:
    when the run also built tables or suggests next steps, or its text is long."""
    if run.status is not RunStatus.NEEDS_INPUT or not run.todo.pending_questions:
        return ""
    response = run.response
    if response is None or response.tables or run.todo.next_actions:
        return ""
    text = (response.text or "").strip()
    return text if len(text) <= INTRO_MAX_CHARS else ""


@dataclass(frozen=True, slots=True)
class PastedLinks:
    """Where links were pasted (``link_shared``): a posted message (channel and ts), or a
    message still being written (``source`` ``composer``, named by its unfurl id)."""

    team: str
    channel: str
    message_ts: str
    unfurl_id: str
    source: str

    @property
    def in_composer(self) -> bool:
        return self.source == "composer"

    @property
    def identity(self) -> str:
        return self.unfurl_id if self.in_composer else f"{self.channel}:{self.message_ts}"


@dataclass(frozen=True, slots=True)
class TypedAnswer:
    """An open "Or something else" modal: the question it answers, where, and for whom."""

    channel: str
    thread_ts: str
    run_id: str
    question: int
    user_id: str


class AnswerRecorded(StrEnum):
    RECORDED = "recorded"
    TAKEN = "taken"  # someone answered that question first
    CLOSED = "closed"  # the answers were sent already


@dataclass(frozen=True, slots=True)
class Progress:
    run_id: str
    steps_completed: int
    steps_max: int
    elapsed_s: float
    leads_found: int | None
    queued: int


class Verdict(StrEnum):
    """A person's feedback on a result (Slack's feedback buttons)."""

    GOOD = "good"
    BAD = "bad"


class GiveUp(StrEnum):
    """Why the watcher stopped handling a run or a kept prompt."""

    FAILING = "failing"  # it failed every time it was tried
    TOO_OLD = "too_old"  # a run still not finished long after any run finishes


class Note(StrEnum):
    """Short private notes shown to one person (ephemeral)."""

    ALREADY_ANSWERED = "already_answered"
    EXPIRED = "expired"
    ALREADY_DONE = "already_done"
    ALREADY_SHARED = "already_shared"
    TABLE_UNKNOWN = "table_unknown"
    QUEUE_FULL = "queue_full"
    NOT_HERE = "not_here"  # a button that names another thread's run, table or question
    THANKS_GOOD = "thanks_good"  # feedback: helpful
    THANKS_BAD = "thanks_bad"  # feedback: not helpful
    FEEDBACK_GIVEN = "feedback_given"  # this person already gave feedback on this result
    STEPS_SHOWN = "steps_shown"  # Show steps was pressed before: the steps are in the thread
    SHARE_A_FILE = "share_a_file"  # an "upload a CSV" next step: where and how


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a delivery: a stable name (its marker in Slack and its record in
    Redis) and the message itself, rendered by and for the presenter."""

    name: str
    body: Any
