"""What the agent did, from a run's transcript (``?include=transcript``): its tool calls,
each with what it was given and what came back.

The transcript shows what an Origami user with dev mode off sees (API.md 3.3): only the
tool calls ``present-plan``, ``ask-questions``, ``contact-support`` and
``suggest-document-write`` appear. A call is matched to its result by ``toolCallId``; a
call without one is still pending. Inputs and results are the agent's data: they are
turned into bounded text here, and shown as plain text by whoever renders them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.origami.models import TranscriptMessage

# Text kept of a call's input and of its result (Slack shows them folded in a task card).
MAX_DETAILS_CHARS = 500
MAX_OUTPUT_CHARS = 1_000
_TITLES = {
    "present-plan": "Made a plan",
    "ask-questions": "Asked you questions",
    "contact-support": "Contacted support",
    "suggest-document-write": "Suggested a document",
}


class StepStatus(StrEnum):
    COMPLETE = "complete"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class ToolStep:
    id: str
    title: str
    details: str
    output: str
    status: StepStatus


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _describe(value: Any) -> str:
    """A tool call's input as a person reads it: its text values, not its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(d for v in value.values() if (d := _describe(v)))
    if isinstance(value, list):
        return "\n".join(f"• {d}" for v in value if (d := _describe(v)))
    return json.dumps(value, default=str)


def title_of(name: str | None) -> str:
    if not name:
        return "A step"
    return _TITLES.get(name, name.replace("-", " ").replace("_", " ").strip().capitalize())


def tool_steps(messages: Sequence[TranscriptMessage]) -> list[ToolStep]:
    """The tool calls of a transcript, in order, each with its result if it has one."""
    results = {m.tool_call_id: m.result or m.content or "" for m in messages if m.tool_call_id}
    steps: list[ToolStep] = []
    for message in messages:
        for n, call in enumerate(message.tool_calls):
            call_id = call.id or f"step-{len(steps)}-{n}"
            output = results.get(call.id) if call.id else None
            steps.append(
                ToolStep(
                    id=call_id[:64],
                    title=title_of(call.name),
                    details=_clip(_describe(call.input), MAX_DETAILS_CHARS),
                    output=_clip(output or "", MAX_OUTPUT_CHARS),
                    status=StepStatus.COMPLETE if output is not None else StepStatus.PENDING,
                )
            )
    return steps
