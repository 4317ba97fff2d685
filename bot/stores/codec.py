"""Domain values to Redis records and back, validated on the way in.

What Redis gives back is checked like any input: a record another version of the app
wrote, or one cut short, is refused (``None``) rather than half-read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot.domain import (
    Answer,
    KeptPrompt,
    Prompt,
    PromptKind,
    RunOutcome,
    RunRecord,
    SlackFile,
    StartedConversation,
    TypedAnswer,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_RUN = TypeAdapter(RunRecord)
_QUEUED = TypeAdapter(Prompt)
_OUTCOME = TypeAdapter(RunOutcome)
_ANSWER = TypeAdapter(Answer)


def _load(adapter: TypeAdapter[T], raw: str | bytes | None, what: str) -> T | None:
    if not raw:
        return None
    try:
        return adapter.validate_json(raw)
    except ValidationError:
        log.warning("unreadable record in Redis", extra={"record": what})
        return None


def dump_run(record: RunRecord) -> str:
    return _RUN.dump_json(record).decode()


def load_run(raw: str | None) -> RunRecord | None:
    return _load(_RUN, raw, "run")


def dump_queued(item: Prompt) -> str:
    return _QUEUED.dump_json(item).decode()


def load_queued(raw: str) -> Prompt | None:
    return _load(_QUEUED, raw, "queued")


def dump_outcome(outcome: RunOutcome) -> str:
    return _OUTCOME.dump_json(outcome).decode()


def load_outcome(raw: str | None) -> RunOutcome | None:
    return _load(_OUTCOME, raw, "outcome")


_TYPED = TypeAdapter(TypedAnswer)


def dump_typed(opened: TypedAnswer) -> str:
    return _TYPED.dump_json(opened).decode()


def load_typed(raw: str | None) -> TypedAnswer | None:
    return _load(_TYPED, raw, "typed answer")


_STARTED = TypeAdapter(StartedConversation)


def dump_started(started: StartedConversation) -> str:
    # When is the member's score: the same conversation is the same member whenever.
    return _STARTED.dump_json(started, exclude={"started_at"}).decode()


def load_started(raw: str, started_at: float) -> StartedConversation | None:
    loaded = _load(_STARTED, raw, "started conversation")
    return replace(loaded, started_at=started_at) if loaded is not None else None


def dump_answer(answer: Answer) -> str:
    return _ANSWER.dump_json(answer).decode()


def load_answer(raw: str) -> Answer | None:
    return _load(_ANSWER, raw, "answer")


# A kept prompt's hash: what the sender may change (its kind and agent are decided by the
# intake script; attempt and tries by the sender) in fields of their own, the rest as one
# JSON document written once.
_FIXED = ("id", "team", "channel", "thread_ts", "text", "user_id", "cause")


_FILES = TypeAdapter(tuple[SlackFile, ...])


def kept_fixed_json(item: KeptPrompt) -> str:
    fixed: dict[str, Any] = {name: getattr(item, name) for name in _FIXED}
    if item.files:
        fixed["files"] = _FILES.dump_python(item.files, mode="json")
    if item.keyed_by_team:
        fixed["keyed_by_team"] = True
    return json.dumps(fixed, ensure_ascii=False)


def dump_kept(item: KeptPrompt) -> dict[str, str]:
    return {
        "prompt": kept_fixed_json(item),
        "kind": item.kind.value,
        "agent_id": item.agent_id,
        "attempt": str(item.attempt),
        "tries": str(item.tries),
    }


def load_kept(data: Mapping[str, str]) -> KeptPrompt | None:
    try:
        fixed: dict[str, Any] = json.loads(data["prompt"])
        return KeptPrompt(
            **{name: str(fixed[name]) for name in _FIXED},
            kind=PromptKind(data["kind"]),
            agent_id=data.get("agent_id", ""),
            attempt=int(data.get("attempt", "1")),
            tries=int(data.get("tries", "0")),
            files=_FILES.validate_python(fixed.get("files", ())),
            # Absent: kept by a version whose keys did not carry the workspace.
            keyed_by_team=fixed.get("keyed_by_team") is True,
        )
    except (KeyError, ValueError, TypeError, ValidationError):
        log.warning("unreadable kept prompt in Redis")
        return None
