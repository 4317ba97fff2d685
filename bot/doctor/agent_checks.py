"""The doctor's look at Slack's agent platform: whether this workspace refused agent
sessions (Slack's Stop) or the thread status, as runs learnt it (``WorkspaceStore``), and
what to change so that runs get them. A refusal is kept a day, then asked again."""

from __future__ import annotations

from bot.agent_platform import AgentFeature
from bot.config import Settings
from bot.doctor.verdicts import CALL_TIMEOUT_S, SLACK_APPS, Check, Status, reason
from bot.stores import StoreError
from bot.stores.health import connect_briefly

NAME = "Slack agent features"

_FALLBACK = {
    AgentFeature.SESSIONS: "agent sessions (runs show the app's own Stop button instead)",
    AgentFeature.STATUS: "the thread status (runs show a progress line instead)",
}


def agent_features(refused: frozenset[AgentFeature]) -> Check:
    if not refused:
        return Check(
            NAME,
            Status.PASS,
            "no refusal recorded: runs get Slack's Stop and the thread status",
        )
    what = " and ".join(_FALLBACK[f] for f in AgentFeature if f in refused)
    return Check(
        NAME,
        Status.WARN,
        f"this workspace refused {what}",
        fix=f"paste slack-app-manifest.yml again under {SLACK_APPS} → your app → App "
        "Manifest (it declares features.agent_view and chat:write), then Reinstall to "
        "Workspace; runs ask Slack again within a day",
    )


async def check_agent_features(settings: Settings, team: str) -> list[Check]:
    """What runs learnt of ``team``'s agent features, in the shared Redis (none without
    one: the embedded store of another process cannot be read from here)."""
    if settings.redis_url is None or not team:
        return []
    stores = connect_briefly(settings.redis_url.get_secret_value(), CALL_TIMEOUT_S)
    try:
        return [agent_features(await stores.workspaces.refused(team))]
    except (StoreError, OSError) as exc:
        return [
            Check(
                NAME,
                Status.WARN,
                f"what runs learnt could not be read ({reason(exc)})",
                fix="see the Redis lines below",
            )
        ]
    finally:
        await stores.close()
