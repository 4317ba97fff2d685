"""Build everything a process needs from the settings, and close it again.

The web half (Slack's requests: intake and buttons) and the worker half (the watcher:
sends, polls, deliveries) are built from the same parts, so ``python -m bot`` runs both in
one process and ``python -m bot web`` / ``python -m bot worker`` run one each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent_platform import (
    DEFAULT_PROMPTS,
    SUGGESTED_PROMPTS_TITLE,
    AgentSurface,
    SuggestedPrompt,
)
from bot.config import Settings, Tenancy
from bot.conversations import Conversations
from bot.conversations.agent_dm import AgentDm
from bot.conversations.buttons import Buttons
from bot.conversations.commands import Commands
from bot.conversations.feedback import Feedback
from bot.conversations.gate import Gate
from bot.conversations.home import Home
from bot.conversations.intake import Intake
from bot.conversations.links import Links
from bot.conversations.next_steps import NextSteps
from bot.conversations.sessions import Sessions
from bot.conversations.steps import Steps
from bot.conversations.tables import Tables
from bot.credits import CreditWatch
from bot.delivery import Delivery
from bot.enrichment import EnrichmentConfig, EnrichmentFollower, EnrichmentView
from bot.files.attach import Attachments
from bot.live_status import LiveStatus
from bot.metrics import Metrics, count_slack_errors
from bot.origami.client import OrigamiClient, build_http_client
from bot.ports import FileSource, GroupMembers, Presenter
from bot.previews import LeadPreviews
from bot.run_events import RunEvents
from bot.schedules.manage import SchedulePosts, Schedules
from bot.schedules.runs import PollerConfig, ScheduledRunPoller
from bot.sending import BUSY_RETRY_S, SendConfig, Sender
from bot.slack.agent_surface import SlackAgentSurface
from bot.slack.app import build_web_client
from bot.slack.blocks import ORIGAMI_APP_URL
from bot.slack.enrichment_view import SlackEnrichmentView
from bot.slack.files import SlackFileSource
from bot.slack.presenter import SlackPresenter
from bot.slack.schedule_posts import SlackSchedulePosts
from bot.slack.usergroups import SlackUserGroups
from bot.stores import Stores, connect
from bot.stores.budget import NO_BUDGET, BudgetRule
from bot.tenancy.origami import OneKey, OrigamiFor
from bot.tenancy.tenants import Tenants, many_workspaces, one_workspace
from bot.watcher import Watcher, WatcherConfig


@dataclass
class Core:
    """The use cases and the watcher, wired to one presenter."""

    conversations: Conversations
    sender: Sender
    watcher: Watcher
    # Re-reads the tables still being enriched after their run (None: not followed).
    follower: EnrichmentFollower | None = None
    # The worker's reader of scheduled runs (None: a harness that posts no schedules).
    schedule_poller: ScheduledRunPoller | None = None


@dataclass
class Parts:
    """Everything a process builds from the settings, and how to close it."""

    stores: Stores
    origami: OrigamiClient
    slack: AsyncWebClient
    core: Core
    slack_session: aiohttp.ClientSession
    # One workspace, or many (the installations' database and the OAuth flow).
    tenants: Tenants
    # What this process counts (GET /metrics): its own registry, as each process is its
    # own scrape target.
    metrics: Metrics

    @property
    def conversations(self) -> Conversations:
        return self.core.conversations

    @property
    def watcher(self) -> Watcher:
        return self.core.watcher

    async def aclose(self) -> None:
        await self.origami.aclose()
        await self.slack_session.close()
        await self.tenants.aclose()
        await self.stores.close()


def build(settings: Settings) -> Parts:
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    stores = connect(redis_url)
    metrics = Metrics(process=True)
    rule = BudgetRule.of(settings.origami_requests_per_minute)
    metrics.set_budget(rule.per_minute, rule.poll_limit)
    gate = stores.budget(rule)
    gate.on_wait = metrics.budget_waited
    api_key = settings.origami_api_key.get_secret_value() if settings.origami_api_key else None
    origami = OrigamiClient(
        build_http_client(settings.origami_api_url, api_key),
        gate=gate,
        on_answer=metrics.origami_answered,
    )
    slack_session = aiohttp.ClientSession()

    def make_client(token: str | None) -> AsyncWebClient:
        client = build_web_client(token, settings.slack_api_url, slack_session)
        count_slack_errors(client, metrics)
        return client

    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    # Many workspaces: Bolt's client has no token (each request gets its installation's).
    slack = make_client(token)
    per_organization = settings.tenancy is not Tenancy.SINGLE
    if not per_organization:
        tenants = one_workspace(slack, origami)
    else:
        # ORIGAMI_REQUESTS_PER_MINUTE is then each organisation's share of its own limit.
        budgets = stores.organization_budgets(rule)
        budgets.on_wait = metrics.budget_waited
        tenants = many_workspaces(settings, origami, make_client, stores.forget_workspace, budgets)
    core = assemble(
        stores,
        tenants.origami,
        SlackPresenter(tenants.slack, app_url=settings.origami_app_url),
        SendConfig(
            first_poll_s=settings.origami_first_poll_seconds,
            transient_retry_s=settings.origami_retry_seconds,
            # An agent busy with a run we do not watch: look again at the poll interval,
            # or sooner where retries are set to be quicker.
            busy_retry_s=min(BUSY_RETRY_S, settings.origami_retry_seconds),
            hold_s=settings.prompt_hold_seconds,
        ),
        WatcherConfig(
            lease_s=settings.watcher_lease_seconds,
            progress_per_minute=settings.slack_progress_updates_per_minute,
        ),
        rule,
        metrics,
        surface=SlackAgentSurface(tenants.slack),
        dm=DmSettings(settings.suggested_prompts, settings.suggested_prompts_title),
        files=SlackFileSource(tenants.slack, slack_session, settings.slack_api_url),
        app_url=settings.origami_app_url,
        low_credits=settings.low_credits_warning,
        groups=SlackUserGroups(tenants.slack),
        enriching=(
            SlackEnrichmentView(tenants.slack, app_url=settings.origami_app_url),
            EnrichmentConfig(
                first_read_s=settings.enrichment_read_seconds,
                max_wait_s=4 * settings.enrichment_read_seconds,
                follow_s=settings.enrichment_follow_minutes * 60,
                updates_per_minute=settings.slack_progress_updates_per_minute,
            ),
        ),
        per_organization=per_organization,
        schedules=ScheduleSettings(
            SlackSchedulePosts(tenants.slack),
            PollerConfig(
                pace_s=settings.schedule_poll_seconds,
                first_poll_s=settings.origami_first_poll_seconds,
            ),
        ),
    )
    schedules = core.conversations.schedules
    if tenants.connections is not None and schedules is not None:
        # An uninstall pauses what the workspace scheduled while its key is still known.
        tenants.connections.before_uninstall.append(schedules.pause_all)
    return Parts(stores, origami, slack, core, slack_session, tenants, metrics)


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """Where schedules post (their channels' messages), and how their runs are read."""

    posts: SchedulePosts
    poller: PollerConfig = field(default_factory=PollerConfig)


@dataclass(frozen=True, slots=True)
class DmSettings:
    """The Messages tab's suggested prompts, and the line above them."""

    prompts: Sequence[SuggestedPrompt] = DEFAULT_PROMPTS
    title: str = SUGGESTED_PROMPTS_TITLE


def assemble(
    stores: Stores,
    origami: OrigamiClient | OrigamiFor,
    presenter: Presenter,
    send: SendConfig,
    watch: WatcherConfig,
    rule: BudgetRule = NO_BUDGET,
    metrics: Metrics | None = None,
    *,
    surface: AgentSurface,
    dm: DmSettings | None = None,
    files: FileSource | None = None,
    app_url: str = ORIGAMI_APP_URL,
    low_credits: int = 0,
    groups: GroupMembers | None = None,
    enriching: tuple[EnrichmentView, EnrichmentConfig] | None = None,
    per_organization: bool = False,
    schedules: ScheduleSettings | None = None,
) -> Core:
    """``origami``: the one client (one workspace), or the lookup of each workspace's.
    ``metrics``: what the parts count into (the Origami client's own hook is given
    where the client is made); by default a registry no one reads. ``surface``: Slack's
    agent platform (sessions, status, the Messages tab). ``files``: where shared files
    are read (without, prompts go without their files). ``low_credits``: the balance
    below which a finished run's thread says it is low (0: never). ``groups``: who is in
    the workspace's user groups (without, a workspace that limits who may start agents
    answers nobody but says why). ``per_organization``: ``rule`` is each Origami
    organisation's budget (many workspaces), not one for all. ``enriching``: how tables
    still being enriched after their run are shown, and followed (None: they are not
    followed). ``schedules``: where schedules post (without, the app makes no
    schedules)."""
    metrics = metrics if metrics is not None else Metrics()
    dm = dm or DmSettings()
    if isinstance(origami, OrigamiClient):
        origami = OneKey(origami)
    intake = Intake(stores, presenter, metrics, Gate(stores, groups))
    delivery = Delivery(stores, presenter)
    live = LiveStatus(stores, surface, presenter, metrics)
    attachments = Attachments(stores, origami, files) if files is not None else None
    sender = Sender(
        stores,
        origami,
        delivery,
        presenter,
        intake,
        send,
        metrics,
        live=live,
        attachments=attachments,
    )
    credits = CreditWatch(stores, origami, presenter, low_credits)
    previews = LeadPreviews(origami)
    follower = None
    if enriching is not None:
        view, config = enriching
        follower = EnrichmentFollower(stores.enrichment, origami, view, delivery, previews, config)
    events = RunEvents(
        stores, sender, delivery, presenter, intake, live, previews, credits, follower
    )
    watch = _with_hold(watch, send)
    watcher = Watcher(
        stores.schedule,
        origami,
        events,
        watch,
        budget=rule,
        per_organization=per_organization,
        metrics=metrics,
    )
    buttons = Buttons(stores, origami, presenter, intake)
    tables = Tables(stores, origami, presenter)
    poller = None
    manage = None
    if schedules is not None:
        manage = Schedules(
            stores,
            origami,
            schedules.posts,
            first_read_s=schedules.poller.pace_s,
            refusal=intake.refusal,
        )
        poller = ScheduledRunPoller(
            stores, origami, schedules.posts, delivery, presenter, live, schedules.poller, metrics
        )
    conversations = Conversations(
        intake=intake,
        buttons=buttons,
        tables=tables,
        agent_dm=AgentDm(stores, surface, dm.prompts, dm.title),
        sessions=Sessions(stores, origami, presenter, surface),
        commands=Commands(stores, presenter, intake),
        next_steps=NextSteps(stores, presenter, buttons, tables, intake),
        links=Links(stores, origami, presenter, app_url),
        feedback=Feedback(stores, presenter, metrics),
        steps=Steps(stores, origami, presenter),
        home=Home(stores, origami),
        schedules=manage,
    )
    return Core(conversations, sender, watcher, follower, poller)


def _with_hold(watch: WatcherConfig, send: SendConfig) -> WatcherConfig:
    # A kept prompt is held as long as its sender may take (the client's retry budget).
    return replace(watch, kept_lease_s=send.hold_s)
