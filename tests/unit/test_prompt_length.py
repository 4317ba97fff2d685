"""Prompt length as Origami counts it: UTF-16 code units (its server is TypeScript), not
Python characters, so 6,000 emoji are refused here with a clear message rather than by
Origami with a vague one."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.origami import errors
from bot.origami.client import PROMPT_MAX_CHARS, check_prompt, utf16_len
from bot.slack import actions as ids
from bot.slack.listeners.views.freeform_answer import build_handle_freeform_answer

EMOJI = "🚀"  # outside the Basic Multilingual Plane: two UTF-16 code units


def test_utf16_len_counts_code_units() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é漢") == 2  # inside the BMP: one unit each, whatever their UTF-8 size
    assert utf16_len(EMOJI) == 2
    assert utf16_len("👩‍💻") == 5  # woman, zero-width joiner, laptop
    assert utf16_len("\ud800") == 1  # a lone surrogate (JSON can carry one) does not raise


@pytest.mark.parametrize(
    ("prompt", "length"),
    [
        (EMOJI * 5_001, 10_002),
        ("a" * 9_999 + EMOJI, 10_001),
        (EMOJI * 6_000, 12_000),
        ("a" * 10_001, 10_001),
    ],
)
def test_prompts_too_long_as_origami_counts_are_refused(prompt: str, length: int) -> None:
    assert len(prompt) <= 10_001  # every one of them passed the old check but the last
    with pytest.raises(errors.PromptError) as caught:
        check_prompt(prompt)
    assert caught.value.length == length
    assert f"{length:,}" in str(caught.value)


@pytest.mark.parametrize("prompt", [EMOJI * 5_000, "a" * 9_998 + EMOJI, "a" * 10_000])
def test_prompts_of_exactly_ten_thousand_units_pass(prompt: str) -> None:
    assert check_prompt(f"  {prompt}\n") == prompt


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=60), st.integers(min_value=0, max_value=10_010))
def test_check_prompt_accepts_exactly_what_fits(piece: str, repeat: int) -> None:
    prompt = (piece * (repeat // max(len(piece), 1) + 1))[: max(repeat, 0)]
    text = prompt.strip()
    units = sum(2 if ord(char) > 0xFFFF else 1 for char in text)
    assert utf16_len(text) == units
    if not text:
        with pytest.raises(errors.PromptError):
            check_prompt(prompt)
    elif units > PROMPT_MAX_CHARS:
        with pytest.raises(errors.PromptError) as caught:
            check_prompt(prompt)
        assert caught.value.length == units
    else:
        assert check_prompt(prompt) == text


def _submission(text: str) -> dict[str, Any]:
    values = {ids.FREEFORM_BLOCK: {ids.FREEFORM_INPUT: {"value": text}}}
    return {
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "view": {"state": {"values": values}, "private_metadata": "{}"},
    }


class _Buttons:
    """Records what the handler asks of the button use cases, whatever it is called."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any, **kwargs: Any) -> bool:
            self.calls.append(name)
            return False

        return record


async def test_the_freeform_modal_counts_as_origami_does() -> None:
    acks: list[dict[str, Any]] = []

    async def ack(**kwargs: Any) -> None:
        acks.append(kwargs)

    buttons = _Buttons()
    handler = build_handle_freeform_answer(SimpleNamespace(buttons=buttons))  # type: ignore[arg-type]
    await handler(ack=ack, body=_submission(EMOJI * 5_001))
    [refused] = acks
    assert refused["response_action"] == "errors"
    assert "10,002 characters" in refused["errors"][ids.FREEFORM_BLOCK]
    assert buttons.calls == []
    acks.clear()
    # Exactly the limit: accepted (the modal closes without an error).
    await handler(ack=ack, body=_submission(EMOJI * 5_000))
    assert acks == [{}]
