"""Build the Bolt app: the Web API client, middleware and listeners, nothing global."""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.slack import listeners
from bot.slack.failures import build_handle_errors
from bot.slack.middleware import bind_log_context
from bot.tenancy.tenants import Tenants

log = logging.getLogger(__name__)


def build_web_client(
    token: str | None, base_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """The Slack Web API client; retries 429 (after Retry-After), 5xx and dropped
    connections, so a Slack hiccup delays a post instead of losing it.

    Pass a ``session`` to reuse connections: without one, slack_sdk opens a new session
    (and a new TLS connection) for every call, which costs more CPU than the call itself.
    """
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        session=session,
        timeout=15,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def create_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    conversations: Conversations,
    tenants: Tenants | None = None,
) -> AsyncApp:
    """``tenants``: who the app serves (default: the one workspace of ``client``'s token).
    With many workspaces, Bolt's OAuth flow installs the app and its installation store
    authorizes each request (the listeners' ``client`` carries that workspace's token)."""
    oauth = tenants.oauth if tenants is not None else None
    app = AsyncApp(
        client=client,
        oauth_settings=oauth,
        # Kept for bot.slack.web, which checks every HTTP request's signature before Bolt
        # sees it (Bolt would only check it again, and it logs the whole body of a request
        # that fails). Socket Mode requests are not signed: the websocket is authenticated.
        signing_secret=signing_secret or "",
        request_verification_enabled=False,
        process_before_response=False,
        # A request no listener takes goes to the error handler, which acks it with 200:
        # Bolt's own answer is a 404, which Slack retries (HTTP) or an unacked envelope,
        # which it redelivers (Socket Mode).
        raise_error_for_unhandled_request=True,
    )
    app.middleware(bind_log_context)
    app.error(build_handle_errors(client))
    listeners.register(app, conversations, tenants)
    return app
