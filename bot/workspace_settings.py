"""A workspace's own settings, changed by its admins in App Home: where the app answers,
who may start agents, and the Messages tab's suggested prompts.

Kept in Redis (``bot.stores.settings``) rather than in the SQL database beside the
installation: one workspace (``SLACK_BOT_TOKEN``) has no database, and every message's
intake reads them (through a short per-process cache), which Redis serves in both modes.
Whatever is stored is validated again on the way out, like any input.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.agent_platform import PROMPTS_MAX, SuggestedPrompt

# Bounds: a settings record stays small, and fits a modal's selects.
CHANNELS_MAX = 100
GROUPS_MAX = 30

ChannelId = Annotated[str, StringConstraints(pattern=r"^[CG][A-Z0-9]{1,32}$")]
GroupId = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{1,32}$")]


class Audience(StrEnum):
    """Who may start agents (and talk to them)."""

    EVERYONE = "everyone"
    GROUPS = "groups"  # members of ``WorkspaceSettings.groups`` only


class NotAllowed(StrEnum):
    """Why the app may not answer a person's message (each has its note to the person)."""

    CHANNEL = "channel"  # the channel is not one of those the app answers in
    GROUP = "group"  # the person is in none of the groups that may start agents
    UNCHECKED = "unchecked"  # Slack did not say who is in those groups: refused, to be safe
    UNREADABLE = "unreadable"  # the stored settings do not read: refused until saved again


class WorkspaceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Empty: every channel the app is invited to (DMs with the app are always allowed).
    channels: tuple[ChannelId, ...] = Field(default=(), max_length=CHANNELS_MAX)
    audience: Audience = Audience.EVERYONE
    groups: tuple[GroupId, ...] = Field(default=(), max_length=GROUPS_MAX)
    # Empty: the SUGGESTED_PROMPTS setting.
    prompts: tuple[SuggestedPrompt, ...] = Field(default=(), max_length=PROMPTS_MAX)
    updated_by: str = Field(default="", max_length=32)
    updated_at: float = 0.0
    # Only on what ``SettingsStore`` could not read, never stored: an admin chose limits
    # that cannot be known, so no one is answered until one saves the settings again.
    unreadable: bool = Field(default=False, exclude=True)

    @model_validator(mode="after")
    def _groups_when_limited(self) -> WorkspaceSettings:
        if self.audience is Audience.GROUPS and not self.groups:
            raise ValueError("members of which groups: none chosen")
        return self

    def refusal_where(self, channel: str) -> NotAllowed | None:
        """Whether the app may not answer in ``channel``, whoever wrote there (checked
        first: it costs no call to Slack). A DM with the app (a ``D`` id) is never a
        channel left out."""
        if self.unreadable:
            return NotAllowed.UNREADABLE
        if self.channels and not channel.startswith("D") and channel not in self.channels:
            return NotAllowed.CHANNEL
        return None

    def refusal_of(self, in_groups: bool | None) -> NotAllowed | None:
        """Whether the person may not start agents: ``in_groups``, whether they are in one
        of the chosen groups (None: Slack did not say); only asked for when limited."""
        if self.audience is Audience.GROUPS:
            if in_groups is None:
                return NotAllowed.UNCHECKED
            if not in_groups:
                return NotAllowed.GROUP
        return None


DEFAULT_SETTINGS = WorkspaceSettings()
UNREADABLE_SETTINGS = WorkspaceSettings(unreadable=True)
