"""The sentences of App Home's Origami connection and of its key modal (many workspaces).

Apart from ``bot.slack.texts`` only because that module is long already; the same rules:
fixed sentences, what to do next, nothing from the payload unescaped.
"""

from __future__ import annotations

from datetime import datetime

from bot.slack.mrkdwn import escape, mention
from bot.tenancy.connections import KeyRefused

HOME_FALLBACK = "Origami for this workspace"
HOME_TITLE = "Origami"
CONNECT = "Connect Origami"
CHANGE_KEY = "Use another key"
DISCONNECT = "Disconnect"
DISCONNECT_CONFIRM_TITLE = "Disconnect Origami?"
DISCONNECT_CONFIRM_TEXT = (
    "Nobody in this workspace can start or continue a conversation until a key is connected again."
)
DISCONNECT_CONFIRM_YES = "Disconnect"
DISCONNECT_CONFIRM_NO = "Cancel"

NOT_CONNECTED = (
    ":warning: *This workspace is not connected to Origami yet.* Mentions of the app get "
    "no answer from an agent until a workspace admin (or whoever installed the app) "
    "connects an Origami API key here."
)
ASK_AN_ADMIN = (
    "Ask a workspace admin or owner, or whoever installed the app, to connect it: only they can."
)
ONLY_ADMINS = (
    "Only a workspace admin or owner, or whoever installed the app, can change the "
    "workspace's Origami key."
)
GET_A_KEY = (
    "Get an API key in Origami → *Settings → Developers → API keys* (it starts with "
    "`og_live_`; a paid plan is needed). It is checked with Origami, stored encrypted, "
    "and never shown again: only its last 4 characters."
)


def connected(organization: str, plan: str, last4: str, set_by: str, set_at: datetime) -> str:
    org = escape(organization) or "your Origami organisation"
    plan_part = f" (plan {escape(plan)})" if plan else ""
    when = set_at.strftime("%Y-%m-%d")
    return (
        f":white_check_mark: *Connected to Origami*: {org}{plan_part}, with the key "
        f"ending in `{escape(last4)}`, connected by {mention(set_by)} on {when}."
    )


MODAL_TITLE = "Connect Origami"
MODAL_SUBMIT = "Connect"
MODAL_CLOSE = "Cancel"
MODAL_INPUT_LABEL = "Origami API key"
MODAL_PLACEHOLDER = "og_live_…"

REFUSED: dict[KeyRefused, str] = {
    KeyRefused.MALFORMED: "That is not an Origami API key: paste the whole key, nothing else.",
    KeyRefused.REJECTED: "Origami did not accept this key: check that it is whole and "
    "not revoked (Origami → Settings → Developers).",
    KeyRefused.NO_API: "This Origami plan has no API access: a paid plan is needed.",
    KeyRefused.UNCHECKED: "Origami did not answer in time, so nothing was saved: try "
    "again in a moment.",
}


def not_connected_notice(team_id: str | None, app_id: str | None) -> str:
    """The answer to a mention in a workspace with no Origami key, with a link to the
    app's Home tab (ids checked by the caller: they go into the link as they are)."""
    where = "my *Home* tab (click my name, then *Home*)"
    if team_id and app_id:
        where = f"my <slack://app?team={team_id}&id={app_id}&tab=home|Home tab>"
    return (
        "I'm not connected to Origami in this workspace yet, so I can't start an agent. "
        f"A workspace admin (or whoever installed me) can connect an Origami API key in "
        f"{where}; then mention me again."
    )
