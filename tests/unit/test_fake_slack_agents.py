"""The fake Slack's agent platform, driven by slack_sdk's real client: Slack's limits and
errors for agent sessions, the thread status and suggested prompts."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack
from tests.unit.test_fake_slack import error_of

CHANNEL = "C0CHAN"


async def test_a_session_is_created_once_with_its_title(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    first = await client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="processing", title="t", initiator_user_id="U1"
    )
    assert first["ok"] and "warning" not in first.data  # the manifest hears Slack's Stop
    await client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="active", title="other"
    )
    session = fake.agents.session(CHANNEL, thread)
    assert session is not None
    assert (session.title, session.initiator, session.history) == (
        "t",
        "U1",
        ["processing", "active"],
    )


async def test_a_session_breaking_slacks_rules_is_refused(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    bad_status = client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="thinking"
    )
    assert await error_of(bad_status) == "invalid_arguments"
    long_title = client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="processing", title="x" * 201
    )
    assert await error_of(long_title) == "invalid_arguments"
    assert len(fake.rejections) == 2


async def test_sessions_are_for_apps_declared_as_agents_with_chat_write(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    fake.agents.declared = False
    call = client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=thread, status="active")
    assert await error_of(call) == "not_allowed"
    fake.agents.declared = True
    fake.bot_scopes = [s for s in fake.bot_scopes if s != "chat:write"]
    call = client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=thread, status="active")
    assert await error_of(call) == "missing_scope"


async def test_a_session_without_the_stop_event_warns(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    fake.agents.bot_events.remove("agent_session_stopped")
    answer = await client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="processing"
    )
    assert answer["warning"] == "missing_agent_session_stopped_event_subscription"


async def test_a_status_shows_until_the_apps_next_reply(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    await client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="is working…", loading_messages=["Step 1"]
    )
    status = fake.agents.status(CHANNEL, thread)
    assert status is not None and status.loading_messages == ["Step 1"]
    await client.chat_postMessage(channel=CHANNEL, thread_ts=thread, text="done")
    assert fake.agents.status(CHANNEL, thread) is None


async def test_a_status_breaking_slacks_rules_is_refused(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    thread = fake.add_message(CHANNEL, "find founders")
    eleven = client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts=thread, status="s", loading_messages=["m"] * 11
    )
    assert await error_of(eleven) == "invalid_arguments"
    nowhere = client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts="1.000001", status="s"
    )
    assert await error_of(nowhere) == "invalid_thread_ts"


async def test_suggested_prompts_need_1_to_4_with_title_and_message(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    five = [{"title": f"t{i}", "message": "m"} for i in range(5)]
    call = client.assistant_threads_setSuggestedPrompts(channel_id="D0DM", prompts=five)
    assert await error_of(call) == "invalid_arguments"
    untitled = client.assistant_threads_setSuggestedPrompts(
        channel_id="D0DM", prompts=[{"message": "m"}]
    )
    assert await error_of(untitled) == "invalid_arguments"
    fine = [{"title": "t", "message": "m"}]
    await client.assistant_threads_setSuggestedPrompts(channel_id="D0DM", prompts=fine, title="T")
    assert fake.agents.suggested["D0DM"] == {"title": "T", "prompts": fine}


async def test_suggested_prompts_with_a_thread_silently_do_nothing_under_agent_view(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fine = [{"title": "t", "message": "m"}]
    answer = await client.assistant_threads_setSuggestedPrompts(
        channel_id="D0DM", thread_ts="1700000000.000100", prompts=fine
    )
    assert answer["ok"]
    assert fake.agents.suggested == {} and len(fake.agents.ignored) == 1


async def test_suggested_prompts_need_assistant_write(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.bot_scopes = [s for s in fake.bot_scopes if s != "assistant:write"]
    call = client.assistant_threads_setSuggestedPrompts(
        channel_id="D0DM", prompts=[{"title": "t", "message": "m"}]
    )
    assert await error_of(call) == "missing_scope"
