"""Delivery records: which messages were posted for an owner (a finished run's result, a
kept prompt's "On it"), and which may have been.

For each message (a *part*) the record holds its intent, written before the post (the
epoch seconds when it was first written), and its ts once posted. A part with an intent
and no ts may or may not be in Slack: the delivery looks for it by its marker before
posting it again (``bot.delivery``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bot.domain import RunOutcome
from bot.stores import codec, keys

_INTENT = "intent:"
_POSTED = "posted:"


@dataclass(frozen=True, slots=True)
class Ledger:
    """What an earlier delivery of the same owner left (a crash cut it short)."""

    posted: dict[str, str]  # part -> ts
    intended: dict[str, float]  # part -> when its post was first intended
    fields: dict[str, str]  # what ``begin`` keeps once (the run's duration, its outcome)


class DeliveryStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def begin(
        self,
        team: str,
        owner: str,
        parts: Sequence[str],
        keep: Mapping[str, str] | None = None,
    ) -> Ledger:
        """Start (or resume) a delivery in one MULTI: read what an earlier one left, record
        the intent of every part (kept if one was recorded before) and ``keep`` the fields
        (only where an earlier delivery did not). Returns the state before this call, with
        ``keep`` filled in."""
        key = keys.delivery(team, owner)
        now = f"{time.time():.3f}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            for part in parts:
                pipe.hsetnx(key, _INTENT + part, now)
            for name, value in (keep or {}).items():
                pipe.hsetnx(key, name, value)
            pipe.expire(key, keys.seconds(keys.DELIVERY_TTL))
            before, *_ = await pipe.execute()
        data = cast(dict[str, str], before)
        fields = {k: v for k, v in data.items() if not k.startswith((_INTENT, _POSTED))}
        for name, value in (keep or {}).items():
            fields.setdefault(name, value)
        return Ledger(
            posted={k[len(_POSTED) :]: v for k, v in data.items() if k.startswith(_POSTED)},
            intended={
                k[len(_INTENT) :]: float(v) for k, v in data.items() if k.startswith(_INTENT)
            },
            fields=fields,
        )

    async def record(self, team: str, owner: str, posted: Mapping[str, str]) -> None:
        if not posted:
            return
        key = keys.delivery(team, owner)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={_POSTED + part: ts for part, ts in posted.items()})
            pipe.expire(key, keys.seconds(keys.DELIVERY_TTL))
            await pipe.execute()

    async def outcome(self, team: str, run_id: str) -> RunOutcome | None:
        """What a delivered run showed (see ``domain.RunOutcome``)."""
        return codec.load_outcome(await self.redis.hget(keys.delivery(team, run_id), OUTCOME))


# The field a run's delivery keeps its outcome in (``begin``'s ``keep``).
OUTCOME = "outcome"
ELAPSED = "elapsed"
