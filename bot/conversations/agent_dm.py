"""The app's Messages tab (its DM under Slack's agent_view): suggested prompts each time
it is opened, and a short onboarding the first time a person opens it.

A DM itself starts a conversation like a mention does, and a reply in its thread
continues it (``intake``); nothing here is needed for that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.agent_platform import PROMPTS_MAX, AgentSurface, SuggestedPrompt
from bot.stores import Stores

log = logging.getLogger(__name__)


class AgentDm:
    def __init__(
        self,
        stores: Stores,
        surface: AgentSurface,
        prompts: Sequence[SuggestedPrompt],
        title: str,
    ) -> None:
        self.stores = stores
        self.surface = surface
        self.prompts = list(prompts)[:PROMPTS_MAX]
        self.title = title

    async def opened(self, team: str, user_id: str, channel: str) -> None:
        """``user_id`` opened the Messages tab, whose DM is ``channel``."""
        # The workspace's own prompts (App Home) before the SUGGESTED_PROMPTS setting.
        prompts = list((await self.stores.settings.get(team)).prompts) or self.prompts
        if prompts:
            # Set at every opening: cheap, and a changed setting shows at once.
            await self.surface.suggest_prompts(team, channel, self.title, prompts)
        if not await self.stores.workspaces.first_visit(team, user_id):
            return
        try:
            await self.surface.onboard(team, channel, user_id)
        except Exception:
            # Not lost: shown at the next opening instead.
            await self.stores.workspaces.forget_visit(team, user_id)
            raise
