"""``/origami``: start a conversation in a channel, and list the ones a person started.

``new`` takes the same path as a mention: the app opens a thread in the channel with the
prompt (there is no message of the person's to answer under), and intake keeps the prompt
as that thread's first, claimed by the opener's ts, so it is sent once.
"""

from __future__ import annotations

from enum import StrEnum

from bot.conversations.intake import Intake
from bot.domain import Prompt, StartedConversation, ThreadRef
from bot.ports import Presenter
from bot.stores import Stores
from bot.workspace_settings import NotAllowed

# How many of a person's conversations ``/origami list`` shows.
LIST_MAX = 10


class Opened(StrEnum):
    """What ``/origami new`` made of a prompt."""

    STARTED = "started"
    NOT_IN_CHANNEL = "not_in_channel"  # the app cannot post there (not invited)
    DUPLICATE = "duplicate"  # the same command again (a retry): nothing more


class Commands:
    def __init__(self, stores: Stores, presenter: Presenter, intake: Intake) -> None:
        self.stores = stores
        self.presenter = presenter
        self.intake = intake

    async def new(
        self, team: str, channel: str, user_id: str, user_name: str, text: str, command_id: str
    ) -> Opened | NotAllowed:
        """Open a thread in ``channel`` with ``text`` and start its agent. ``command_id``:
        the command's own id (its trigger id), claimed first, so one command opens one
        thread however often it is delivered. Where the workspace's settings leave the
        channel or the person out, nothing is posted or sent: why is returned."""
        not_allowed = await self.intake.refusal(team, channel, user_id)
        if not_allowed is not None:
            return not_allowed
        if not await self.stores.claims.claim_event(team, f"cmd:{command_id}"):
            return Opened.DUPLICATE
        ts = await self.presenter.open_thread(team, channel, user_name, text)
        if ts is None:
            return Opened.NOT_IN_CHANNEL
        thread = ThreadRef(team, channel, ts)
        prompt = Prompt(text=text, user_id=user_id, cause=f"{channel}:{ts}")
        await self.intake.take(thread, prompt, may_start=True, event=f"msg:{channel}:{ts}")
        return Opened.STARTED

    async def started(self, team: str, user_id: str) -> list[StartedConversation]:
        """The newest conversations ``user_id`` started that the app still remembers (one
        whose agent could not be made is forgotten, and left out)."""
        found = await self.stores.started.newest(team, user_id, LIST_MAX)
        return [s for s in found if await self.stores.threads.get(s.thread(team)) is not None]
