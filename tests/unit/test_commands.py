"""``/origami``'s text parser and replies: pure, on untrusted input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import StartedConversation
from bot.slack.blocks.commands import (
    build_command_help,
    build_started_list,
    build_thread_opener,
    thread_link,
)
from bot.slack.commands import Verb, parse_command
from tests.fakes.slack import message_errors


def test_verbs_and_the_rest() -> None:
    assert parse_command("") == parse_command(None) == parse_command("   ")
    assert parse_command("").verb is Verb.HELP
    new = parse_command("  NEW   find 20 founders\nin Austin ")
    assert new.verb is Verb.NEW and new.rest == "find 20 founders\nin Austin"
    assert parse_command("list").verb is Verb.LIST
    assert parse_command("schedules").verb is Verb.SCHEDULES
    odd = parse_command("frobnicate now")
    assert odd.verb is None and odd.word == "frobnicate"


@settings(max_examples=50)
@given(st.text(max_size=300))
def test_any_text_parses_and_its_help_is_a_message_slack_takes(text: str) -> None:
    command = parse_command(text)
    message = build_command_help(command.word if command.verb is None else None)
    assert message_errors(message.blocks, message.text) == []


@settings(max_examples=50)
@given(
    st.lists(
        st.builds(
            StartedConversation,
            channel=st.text(max_size=40),
            thread_ts=st.text(max_size=30),
            title=st.text(max_size=200),
            started_at=st.floats(min_value=0, max_value=2e9),
        ),
        max_size=10,
    ),
    st.text(max_size=80),
)
def test_any_list_is_a_message_slack_takes(started: list[StartedConversation], domain: str) -> None:
    message = build_started_list(started, domain, now=2e9)
    assert message_errors(message.blocks, message.text) == []


def test_a_link_only_from_parts_shaped_like_slacks() -> None:
    ok = StartedConversation("C0CHAN", "1700000000.000100", "t", 0)
    assert thread_link("acme", ok) == "https://acme.slack.com/archives/C0CHAN/p1700000000000100"
    assert thread_link("evil.example/x", ok) is None
    assert thread_link("acme", StartedConversation("C0|x>", "1.2", "t", 0)) is None


@settings(max_examples=50)
@given(st.text(max_size=40), st.text(min_size=1, max_size=10_000))
def test_the_thread_opener_is_a_message_slack_takes(who: str, prompt: str) -> None:
    message = build_thread_opener(who, prompt)
    assert message_errors(message.blocks, message.text) == []
