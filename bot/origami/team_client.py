"""Which Origami client speaks for a Slack team."""

from __future__ import annotations

from bot.origami.client import OrigamiClient


def client_for(team: str, shared: OrigamiClient) -> OrigamiClient:
    """The client of ``team``'s Origami organisation: for now the one every team shares
    (the sender's, on ORIGAMI_API_KEY); once each team connects its own key, the lookup
    of that key goes here, and every caller follows."""
    return shared
