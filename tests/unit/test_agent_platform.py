"""The agent platform's pure parts: reading its events, the session title, the status
lines, the messages, and the suggested prompts setting."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent_platform import (
    DEFAULT_PROMPTS,
    PROMPTS_MAX,
    SESSION_TITLE_MAX,
    Shown,
    status_window,
)
from bot.config import SettingsProblem, load_settings
from bot.domain import Progress, ThreadRef
from bot.live_status import session_title, should_show
from bot.slack.agent_events import to_messages_tab_opened, to_session_stopped
from bot.slack.agent_surface import SlackAgentSurface
from bot.slack.agent_texts import LOADING_MESSAGES_MAX, loading_messages
from bot.slack.blocks.agent import build_onboarding, build_stopped_by, build_working
from tests.fakes import payloads
from tests.fakes.slack import MAX_UPDATE_TEXT, FakeSlack, message_errors
from tests.unit.test_config import VALID

_ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


def test_a_messages_tab_opening_is_read() -> None:
    opened = to_messages_tab_opened(payloads.app_home_opened(user="U0BOB", channel="D0BOB"))
    assert opened is not None and (opened.user, opened.channel) == ("U0BOB", "D0BOB")
    assert to_messages_tab_opened(payloads.app_home_opened(tab="home")) is None


def test_a_session_stop_is_read() -> None:
    event = payloads.agent_session_stopped(thread_ts="1700000000.000100", user="U0BOB")
    stopped = to_session_stopped(event)
    assert stopped is not None
    assert (stopped.channel, stopped.thread_ts, stopped.user) == (
        payloads.CHANNEL_ID,
        "1700000000.000100",
        "U0BOB",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", "<!channel>"),
        ("user", ""),
        ("channel", "C0CHAN:ogs:x"),
        ("thread_ts", "1700000000"),
        ("thread_ts", "1.2.3"),
        ("thread_ts", None),
        ("type", "message"),
    ],
)
def test_a_malformed_session_stop_is_ignored(field: str, value: Any) -> None:
    event = {**payloads.agent_session_stopped(thread_ts="1700000000.000100"), field: value}
    assert to_session_stopped(event) is None


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "user", "channel", "thread_ts", "tab"]), _ANY_JSON))
def test_any_payload_reads_as_an_event_or_none_never_raises(event: dict[str, Any]) -> None:
    for read in (to_session_stopped, to_messages_tab_opened):
        parsed = read(event)
        if parsed is not None:
            # What is read is only ever Slack-shaped ids: safe in calls and Redis keys.
            assert parsed.user.isalnum() and parsed.channel.isalnum()


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=600))
def test_a_session_title_is_one_line_within_slacks_limit(prompt: str) -> None:
    title = session_title(prompt)
    assert 0 < len(title) <= SESSION_TITLE_MAX
    assert "\n" not in title


def test_a_session_title_is_the_prompts_first_line() -> None:
    assert session_title("  find 20 founders\nin Austin") == "find 20 founders"
    assert session_title("x" * 500) == "x" * (SESSION_TITLE_MAX - 1) + "…"
    assert session_title(" \n ") == "Origami"


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none() | st.integers(0, 10**9),
    st.integers(0, 10**4),
)
def test_loading_messages_stay_within_slacks_limit(
    done: int, most: int, elapsed: float, leads: int | None, queued: int
) -> None:
    progress = Progress("run", done, most, elapsed, leads, queued)
    lines = loading_messages(progress)
    assert 1 <= len(lines) <= LOADING_MESSAGES_MAX
    assert all(line and len(line) <= 100 for line in lines)
    assert lines[0] == f"Step {max(done, 0):,}"


def test_loading_messages_say_steps_leads_time_and_what_waits() -> None:
    lines = loading_messages(Progress("run", 3, 50, 80, 12, 2))
    assert lines == [
        "Step 3",
        "12 leads found so far",
        "Working for 1 min",
        "2 messages waiting for this run",
    ]


def test_the_time_worked_reads_in_whole_minutes() -> None:
    # So that a status whose steps did not move has the same text for a minute.
    worked = [loading_messages(Progress("run", 3, 50, s, None, 0))[-1] for s in (0, 59, 61, 3725)]
    assert worked == [
        "Working for under a minute",
        "Working for under a minute",
        "Working for 1 min",
        "Working for 1h 02m",
    ]
    # A clock that makes no sense reads as no time, not as a failed status.
    for odd in (float("nan"), -5.0):
        assert loading_messages(Progress("run", 3, 50, odd, None, 0))[-1] == (
            "Working for under a minute"
        )


def test_the_agent_messages_are_ones_slack_takes() -> None:
    for message in (
        build_onboarding("U0USER"),
        build_working("v2_run-abcdEFGH1234"),
        build_stopped_by("U0BOB"),
    ):
        assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
        assert "*" not in message.text  # notification previews show no raw marks
    assert "stop_run" in str(build_working("v2_run-abcdEFGH1234").blocks)
    assert "stop_run" not in str(build_working("not a run id").blocks)


def test_suggested_prompts_default_to_sales_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUGGESTED_PROMPTS", raising=False)
    loaded = load_settings(_env_file=None, **VALID)
    assert loaded.suggested_prompts == list(DEFAULT_PROMPTS)
    assert 1 <= len(DEFAULT_PROMPTS) <= PROMPTS_MAX


def test_suggested_prompts_come_from_a_json_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = [{"title": "CFOs in Berlin", "message": "Find 10 CFOs of Berlin startups"}]
    monkeypatch.setenv("SUGGESTED_PROMPTS", json.dumps(prompts))
    loaded = load_settings(_env_file=None, **VALID)
    assert [p.model_dump() for p in loaded.suggested_prompts] == prompts
    monkeypatch.setenv("SUGGESTED_PROMPTS", "[]")
    assert load_settings(_env_file=None, **VALID).suggested_prompts == []
    # Left blank, as in a copy of .env.example: the defaults.
    monkeypatch.setenv("SUGGESTED_PROMPTS", " ")
    monkeypatch.setenv("SUGGESTED_PROMPTS_TITLE", "")
    blank = load_settings(_env_file=None, **VALID)
    assert blank.suggested_prompts == list(DEFAULT_PROMPTS)
    assert blank.suggested_prompts_title == "Try one of these"


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps([{"title": f"t{i}", "message": "m"} for i in range(PROMPTS_MAX + 1)]),
        json.dumps([{"title": "", "message": "m"}]),
        json.dumps([{"title": "x" * 76, "message": "m"}]),
        json.dumps([{"title": "t"}]),
        "not json",
    ],
)
def test_bad_suggested_prompts_stop_the_start(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUGGESTED_PROMPTS", raw)
    with pytest.raises(SettingsProblem) as info:
        load_settings(_env_file=None, **VALID)
    assert "SUGGESTED_PROMPTS" in str(info.value)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.05, 30.0), min_size=1, max_size=200),
    st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_a_status_is_set_again_before_slacks_2_minutes_run_out(
    intervals: list[float], flags: list[bool]
) -> None:
    # Polls at any Retry-After up to 30 s, the allowance flagging any of them: the status
    # is never left unset for 2 minutes (Slack's expiry) while the run is polled.
    elapsed, last_shown = 0.0, 0.0
    for i, interval in enumerate(intervals):
        elapsed += interval
        if should_show(flagged=flags[i % len(flags)], elapsed_s=elapsed, interval_s=interval):
            assert elapsed - last_shown < 120.0
            last_shown = elapsed


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0.05, 30.0), min_size=1, max_size=200),
    st.lists(st.booleans(), min_size=1, max_size=200),
)
def test_an_unchanged_status_left_as_it_is_still_never_runs_out(
    intervals: list[float], flags: list[bool]
) -> None:
    # The worst case for the surface's rule (a status is not set again with the same text
    # in the same window): the text never changes. It is still set within every 2 minutes.
    elapsed, last_set, last_window = 0.0, 0.0, -1
    for i, interval in enumerate(intervals):
        elapsed += interval
        shown = should_show(flagged=flags[i % len(flags)], elapsed_s=elapsed, interval_s=interval)
        if shown and status_window(elapsed) != last_window:
            assert elapsed - last_set < 120.0
            last_set, last_window = elapsed, status_window(elapsed)
    assert elapsed - last_set < 120.0 + 30.0  # the next poll, at most 30 s on, sets it


async def test_a_status_is_set_only_when_its_text_or_window_changes(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    surface = SlackAgentSurface(client)
    thread = ThreadRef("T0001", "C0CHAN", "1700000000.000100")
    fake.add_message("C0CHAN", "find founders", ts=thread.thread_ts)

    async def show(run: str, steps: int, elapsed: float) -> Shown:
        return await surface.set_status(thread, Progress(run, steps, 50, elapsed, None, 0))

    assert await show("r1", 1, 5) is Shown.SHOWN
    assert await show("r1", 1, 20) is Shown.SHOWN  # the same text: Slack still shows it
    assert len(fake.calls("assistant.threads.setStatus")) == 1
    await show("r1", 2, 25)  # a step more
    await show("r1", 2, 91)  # the same text, a new window: set again before it runs out
    await show("r1", 2, 95)
    await show("r2", 2, 95)  # another run (the result cleared the last one's status)
    calls = fake.calls("assistant.threads.setStatus")
    assert len(calls) == 4 and all(c.ok for c in calls)
    assert [c.args["loading_messages"][0] for c in calls] == ["Step 1"] + ["Step 2"] * 3


async def test_a_status_slack_did_not_take_is_set_again(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    surface = SlackAgentSurface(client)
    thread = ThreadRef("T0001", "C0CHAN", "1700000000.000200")
    fake.add_message("C0CHAN", "find founders", ts=thread.thread_ts)
    fake.fail("assistant.threads.setStatus", times=1, error="internal_error")
    progress = Progress("r1", 1, 50, 5, None, 0)
    assert await surface.set_status(thread, progress) is Shown.FAILED
    assert await surface.set_status(thread, progress) is Shown.SHOWN
    assert len(fake.calls("assistant.threads.setStatus")) == 2


def test_an_unflagged_poll_shows_nothing_inside_a_window() -> None:
    assert should_show(flagged=True, elapsed_s=10, interval_s=15)
    assert not should_show(flagged=False, elapsed_s=40, interval_s=15)
    assert should_show(flagged=False, elapsed_s=95, interval_s=15)  # crossed 90 s
    assert not should_show(flagged=False, elapsed_s=110, interval_s=15)
