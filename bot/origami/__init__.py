"""The Origami v2 agent API: a typed async client, its models and its exception tree."""

from bot.origami.client import OrigamiClient, Poll, Priority, RetryPolicy, build_http_client
from bot.origami.models import Run, RunStatus, Table

__all__ = [
    "OrigamiClient",
    "Poll",
    "Priority",
    "RetryPolicy",
    "Run",
    "RunStatus",
    "Table",
    "build_http_client",
]
