from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack import actions as ids
from bot.slack.listeners.actions import answers, feedback, run_buttons, steps, tables


def register(app: AsyncApp, conversations: Conversations) -> None:
    app.action(ids.ANSWER_RE)(answers.build_handle_answer(conversations))
    app.action(ids.ANSWER_OTHER_RE)(answers.build_handle_answer_other(conversations))
    app.action(ids.SEND_ANSWERS)(answers.build_handle_send_answers(conversations))
    app.action(ids.STOP_RUN)(run_buttons.build_handle_stop_run(conversations))
    app.action(ids.CONTINUE_RUN)(run_buttons.build_handle_continue_run(conversations))
    app.action(ids.RETRY_RUN)(run_buttons.build_handle_retry_run(conversations))
    app.action(ids.NEXT_ACTION_RE)(run_buttons.build_handle_next_action(conversations))
    app.action(ids.SHARE_TABLE)(tables.build_handle_share_table(conversations))
    app.action(ids.EXPORT_CSV)(tables.build_handle_export_csv(conversations))
    app.action(ids.FEEDBACK)(feedback.build_handle_feedback(conversations))
    app.action(ids.SHOW_STEPS)(steps.build_handle_show_steps(conversations))
    for link in ids.LINK_ACTION_IDS:
        app.action(link)(tables.handle_open_link)
