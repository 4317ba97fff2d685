"""Schedules in Slack: the modal (a result's Schedule button, a ``schedule_play`` step,
its submission) and App Home's section with its Pause / Resume / Delete buttons."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack import schedule_actions as ids
from bot.slack.listeners.home.home_tab import HomeTab
from bot.slack.listeners.schedules.home import CHANGES, build_handle_schedule_change
from bot.slack.listeners.schedules.modal import (
    build_handle_schedule_run,
    build_handle_schedule_submission,
)


def register(app: AsyncApp, conversations: Conversations, tab: HomeTab) -> None:
    app.action(ids.SCHEDULE_RUN)(build_handle_schedule_run(conversations))
    app.view(ids.SCHEDULE_MODAL)(build_handle_schedule_submission(conversations))
    if conversations.schedules is None:
        return
    changed = build_handle_schedule_change(conversations.schedules, tab)
    for action_id in CHANGES:
        app.action(action_id)(changed)
