"""The schedule modal: opened by a result's Schedule button or a ``schedule_play`` next
step, and its submission, which creates the schedule in Origami before Slack's 3 s (so
that a cron Origami refuses is said under its field)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.domain import ThreadRef
from bot.schedules.manage import Created, Draft
from bot.slack import actions, payloads, settings_texts
from bot.slack import schedule_actions as ids
from bot.slack import schedule_texts as texts
from bot.slack.blocks.schedules import build_schedule_failed_view, build_schedule_modal
from bot.slack.messages import slack_error
from bot.slack.schedule_form import cron_error_block, to_form
from bot.workspace_settings import NotAllowed

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


async def open_schedule_modal(
    client: AsyncWebClient, trigger_id: str, draft: Draft, thread: ThreadRef
) -> None:
    metadata = ids.origin_metadata(ids.Origin(thread.channel, thread.thread_ts))
    try:
        await client.views_open(
            trigger_id=trigger_id, view=build_schedule_modal(draft.prompt, draft.channel, metadata)
        )
    except SlackApiError as exc:
        # An expired trigger (the click waited too long): the person clicks again.
        log.warning("could not open the schedule modal", extra={"error": slack_error(exc)})


def build_handle_schedule_run(conversations: Conversations) -> Handler:
    async def handle_schedule_run(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        run_id = str(body["actions"][0].get("value", ""))
        if not actions.is_run_id(run_id):
            log.warning("malformed schedule button value")
            return
        thread = payloads.to_action_thread(body)
        # trigger_id lives 3 s: one Redis read, then the modal.
        draft = await conversations.next_steps.schedule_draft(
            thread, run_id, payloads.to_user(body)
        )
        if draft is not None:
            await open_schedule_modal(client, str(body.get("trigger_id") or ""), draft, thread)

    return handle_schedule_run


def build_handle_schedule_submission(conversations: Conversations) -> Handler:
    async def handle_schedule_submission(ack: AsyncAck, body: dict[str, Any]) -> None:
        raw = body.get("view")
        view: dict[str, Any] = raw if isinstance(raw, dict) else {}
        form = to_form(view)
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        schedules = conversations.schedules
        if schedules is None:
            await ack(response_action="update", view=build_schedule_failed_view(texts.FAILED_OTHER))
            return
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        # The view's id is the submission's own: a resubmission of the same values (after
        # a timeout) replays Origami's answer instead of making a second schedule.
        try:
            result = await schedules.create(team, user_id, form, cause=str(view.get("id") or ""))
        except Exception:
            # Redis or a bug: said plainly; a submission again replays Origami's answer.
            log.exception("a schedule's creation failed")
            failed = build_schedule_failed_view(texts.FAILED_OTHER)
            await ack(response_action="update", view=failed)
            return
        if result.outcome is Created.INVALID_CRON:
            await ack(response_action="errors", errors={cron_error_block(view): texts.INVALID_CRON})
            return
        if result.outcome is Created.TOO_FREQUENT:
            await ack(response_action="errors", errors={cron_error_block(view): texts.TOO_FREQUENT})
            return
        if result.outcome is Created.NOT_ALLOWED and result.not_allowed is not None:
            # The intake's own sentences: under the channel picked when only the channel is
            # left out (another may do), else in place of the modal.
            why = settings_texts.NOT_ALLOWED[result.not_allowed]
            if result.not_allowed is NotAllowed.CHANNEL:
                await ack(response_action="errors", errors={ids.CHANNEL_BLOCK: why})
            else:
                await ack(response_action="update", view=build_schedule_failed_view(why))
            return
        if result.outcome is Created.TIMED_OUT:
            await ack(response_action="errors", errors={ids.WHEN_BLOCK: texts.TIMED_OUT})
            return
        if result.outcome is Created.FAILED or result.record is None:
            failed = build_schedule_failed_view(texts.failed(result.problem))
            await ack(response_action="update", view=failed)
            return
        await ack()
        record = result.record
        if result.new and not await schedules.confirm(record):
            origin = ids.parse_origin(view.get("private_metadata"))
            if origin is not None:
                await schedules.posts.cannot_post(record, origin.channel, origin.thread_ts, user_id)

    return handle_schedule_submission
