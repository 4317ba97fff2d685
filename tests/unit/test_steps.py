"""Show steps: a transcript's tool calls (``bot.origami.transcript``) as a plan of task
cards (``bot.slack.blocks.steps``), checked against the fake Slack's validator."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.origami.models import TranscriptMessage
from bot.origami.transcript import StepStatus, tool_steps
from bot.slack.blocks import build_steps
from tests.fakes.slack import MAX_UPDATE_TEXT, message_errors


def transcript(*messages: dict[str, Any]) -> list[TranscriptMessage]:
    return [TranscriptMessage.model_validate(m) for m in messages]


def call(call_id: str | None, name: str | None, args: Any) -> dict[str, Any]:
    return {"role": "assistant", "toolCalls": [{"id": call_id, "name": name, "input": args}]}


def result(call_id: str, text: str) -> dict[str, Any]:
    return {"role": "tool", "toolCallId": call_id, "result": text}


def test_tool_calls_become_steps_with_their_results() -> None:
    steps = tool_steps(
        transcript(
            {"role": "user", "content": "find founders"},
            call("c1", "present-plan", {"plan": "Search, then enrich."}),
            result("c1", "Shown."),
            call("c2", "ask-questions", {"questions": ["Which stage?", "Where?"]}),
            call(None, "teleport-leads", 42),
            {"role": "assistant", "content": "Done."},
        )
    )
    assert [(s.title, s.status) for s in steps] == [
        ("Made a plan", StepStatus.COMPLETE),
        ("Asked you questions", StepStatus.PENDING),
        ("Teleport leads", StepStatus.PENDING),
    ]
    assert steps[0].details == "Search, then enrich." and steps[0].output == "Shown."
    assert steps[1].details == "• Which stage?\n• Where?"
    assert steps[2].details == "42"
    assert tool_steps([]) == []


def test_build_steps_is_a_plan_of_task_cards() -> None:
    steps = tool_steps(
        transcript(
            call("c1", "present-plan", {"plan": "Ping <!channel> & <@U1>"}), result("c1", "ok")
        )
    )
    message = build_steps(steps, truncated=True)
    assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
    plan, note = message.blocks
    assert plan["type"] == "plan" and plan["title"] == "What I did"
    [task] = plan["tasks"]
    assert task["type"] == "task_card" and task["status"] == "complete"
    assert task["title"] == "Made a plan"
    shown = task["details"]["elements"][0]["elements"][0]["text"]
    assert shown == "Ping ‹!channel› & ‹@U1›"
    assert "cut this record short" in note["elements"][0]["text"]
    assert message.text == "What I did: Made a plan"
    empty = build_steps([], truncated=False)
    assert [b["type"] for b in empty.blocks] == ["context"]


def test_many_steps_are_counted_past_the_plan() -> None:
    many = transcript(*[call(f"c{n}", "present-plan", {"plan": "x"}) for n in range(25)])
    message = build_steps(tool_steps(many), truncated=False)
    plan, note = message.blocks
    assert len(plan["tasks"]) == 20
    assert note["elements"][0]["text"] == "…and 5 more steps."


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=400),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
_messages = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "tool"]),
            "toolCalls": st.lists(
                st.fixed_dictionaries(
                    {
                        "id": st.none() | st.text(max_size=300),
                        "name": st.none() | st.text(max_size=300),
                        "input": _json,
                    }
                ),
                max_size=4,
            ),
            "toolCallId": st.none() | st.text(max_size=300),
            "result": st.none() | st.text(max_size=5000),
        }
    ),
    max_size=30,
)


@settings(max_examples=50, deadline=None)
@given(messages=_messages, truncated=st.booleans())
def test_any_transcript_makes_a_valid_message(
    messages: list[dict[str, Any]], truncated: bool
) -> None:
    message = build_steps(tool_steps(transcript(*messages)), truncated=truncated)
    assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
    assert message.text.strip()
