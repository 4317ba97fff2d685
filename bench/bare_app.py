"""A bare Bolt app: the yardstick for the app's ack latency.

Same stack as ``python -m bot`` in HTTP mode (``AsyncApp`` with the same options, the
Starlette adapter, uvicorn with the same settings, signature verification with the same
secret, the Web API client pointed at the same fake Slack), but its listeners do nothing
and it has no middleware of its own. ``python -m bench.bare_app --port N ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.__main__ import serve_web


def build(slack_url: str, token: str, signing_secret: str) -> Starlette:
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=slack_url, timeout=15),
        signing_secret=signing_secret,
        request_verification_enabled=True,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    async def do_nothing() -> None:
        return None

    app.event("app_mention")(do_nothing)
    app.event("message")(do_nothing)
    handler = AsyncSlackRequestHandler(app)

    async def handle_slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/slack/events", handle_slack_events, methods=["POST"]),
        ]
    )


async def serve(args: argparse.Namespace) -> None:
    await serve_web(build(args.slack_url, args.token, args.signing_secret), "127.0.0.1", args.port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A do-nothing Bolt app for the ack benchmark.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--signing-secret", required=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
