"""Which installation a Slack request belongs to, as one short string.

Bolt's installation store keys an installation by ``(enterprise_id, team_id)``, with
``team_id`` left out of an org-wide Enterprise Grid install (``is_enterprise_install``).
Every Redis key, schedule entry and database row of a workspace is scoped by the same
key, spelled so it round-trips (``Workspace.parse``):

- ``T123``: a workspace outside Enterprise Grid (the key the app has always used);
- ``E123.T456``: a workspace of a Grid organisation, installed on its own;
- ``E123``: an org-wide install (one installation for every workspace of the org; channel
  ids are unique across the org, so its threads never collide).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.internals import (
    extract_enterprise_id,
    extract_is_enterprise_install,
    extract_team_id,
)

_ID = r"[A-Z0-9]{1,32}"
_KEY_RE = re.compile(
    rf"(?:(?P<enterprise>E{_ID})(?:\.(?P<team>[A-Z0-9]{{1,32}}))?|(?P<solo>{_ID}))"
)
# What a request without any team id is filed under (never a real installation).
UNKNOWN = "T0"


@dataclass(frozen=True, slots=True)
class Workspace:
    enterprise_id: str | None
    team_id: str | None

    @property
    def is_enterprise_install(self) -> bool:
        return self.enterprise_id is not None and self.team_id is None

    @property
    def key(self) -> str:
        if self.enterprise_id is None:
            return self.team_id or UNKNOWN
        if self.team_id is None:
            return self.enterprise_id
        return f"{self.enterprise_id}.{self.team_id}"

    @classmethod
    def parse(cls, key: str) -> Workspace | None:
        """The workspace a key names; None for a key no installation can have."""
        match = _KEY_RE.fullmatch(key)
        if match is None:
            return None
        solo = match["solo"]
        if solo is None:
            return cls(enterprise_id=match["enterprise"], team_id=match["team"])
        if solo.startswith("E"):
            return cls(enterprise_id=solo, team_id=None)
        return cls(enterprise_id=None, team_id=solo)

    @classmethod
    def of_body(cls, body: dict[str, Any]) -> Workspace:
        """The installation a Slack payload is for, read as Bolt reads it (the first of
        ``authorizations`` in a shared channel, ``app_installed_team_id`` in a modal)."""
        enterprise = _clean(extract_enterprise_id(body))
        if extract_is_enterprise_install(body) and enterprise is not None:
            return cls(enterprise_id=enterprise, team_id=None)
        return cls(enterprise_id=enterprise, team_id=_clean(extract_team_id(body)))


def _clean(value: Any) -> str | None:
    # Untrusted: only an id of Slack's shape is a key part (no separator, bounded).
    if isinstance(value, str) and re.fullmatch(_ID, value):
        return value
    return None
