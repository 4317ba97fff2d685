"""The agent platform's events, read field by field: ``app_home_opened`` on the Messages
tab and ``agent_session_stopped``. A payload with a missing or malformed field reads as
None (and is ignored): ids go into Slack calls and Redis keys, so each is bounded to the
shape Slack gives it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

ChannelId = Annotated[str, StringConstraints(pattern=r"^[CDG][A-Z0-9]{1,30}$")]
UserId = Annotated[str, StringConstraints(pattern=r"^[UW][A-Z0-9]{1,30}$")]
Ts = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,9}$")]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class MessagesTabOpened(_Event):
    """``app_home_opened`` with ``tab == "messages"``: the app's DM under agent_view."""

    type: Literal["app_home_opened"]
    tab: Literal["messages"]
    user: UserId
    channel: ChannelId


class SessionStopped(_Event):
    """``agent_session_stopped``: someone pressed Slack's Stop on a thread's session."""

    type: Literal["agent_session_stopped"]
    user: UserId
    channel: ChannelId
    thread_ts: Ts


def to_messages_tab_opened(event: Any) -> MessagesTabOpened | None:
    try:
        return MessagesTabOpened.model_validate(event)
    except ValidationError:
        return None


def to_session_stopped(event: Any) -> SessionStopped | None:
    try:
        return SessionStopped.model_validate(event)
    except ValidationError:
        return None
