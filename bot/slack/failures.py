"""When handling a Slack request fails: tell the person, in plain words, what was not done.

Used as Bolt's error handler: anything that escapes a listener after the ack, Redis down
included. A click gets a private note; a message addressed to the app gets a reply in its
thread. Nobody sees a stack trace; the log gets it, with context.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.problems import Problem, problem_from_error
from bot.slack import blocks, payloads

log = logging.getLogger(__name__)


def is_addressed_to_app(body: dict[str, Any], bot_user_id: str | None) -> bool:
    """A mention or a DM: a person is waiting for this app's answer.

    A channel message that mentions the app arrives twice, as ``app_mention`` and as
    ``message``: only the first speaks, so a failure is told once."""
    event = body.get("event") or {}
    if not payloads.is_human_message(event):
        return False
    return event.get("type") == "app_mention" or payloads.is_direct_message(event)


async def tell_user(
    client: AsyncWebClient, body: dict[str, Any], problem: Problem, bot_user_id: str | None
) -> None:
    message = blocks.build_problem(problem)
    try:
        if body.get("type") in ("block_actions", "view_submission"):
            thread = (
                payloads.to_action_thread(body) if body.get("type") == "block_actions" else None
            )
            user = payloads.to_user(body)
            if thread is not None and user:
                await client.chat_postEphemeral(
                    channel=thread.channel,
                    user=user,
                    thread_ts=thread.thread_ts,
                    text=message.text,
                    blocks=message.blocks,
                )
            return
        if body.get("type") == "event_callback" and is_addressed_to_app(body, bot_user_id):
            thread = payloads.to_event_thread(body)
            await client.chat_postMessage(
                channel=thread.channel,
                thread_ts=thread.thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
    except SlackApiError:
        log.warning("could not tell the user about a failure", exc_info=True)


def build_handle_errors(client: AsyncWebClient) -> Any:
    async def handle_errors(error: Exception, body: dict[str, Any], context: Any) -> None:
        problem = problem_from_error(error)
        log.error(
            "request failed after the ack",
            exc_info=error,
            extra={"problem": problem.kind.value, "kind": body.get("type")},
        )
        bot_user_id = getattr(context, "bot_user_id", None)
        await tell_user(client, body, problem, bot_user_id)

    return handle_errors
