"""The test fakes served in a process of their own, with a small control API for the bench.

``python -m bench.fakeserver slack`` or ``... origami --retry-after 1 --polls 10`` prints
one JSON line (``url``, ``control_url``, the token or key) and serves until SIGTERM. Its
own process keeps the fakes' CPU out of the app's and the load generator's. The control
API (loopback only) exposes what the fakes record, through their public methods:

- ``GET /calls?since=N`` (slack): the Web API calls from index N on, compactly;
- ``POST /teams`` (slack): ``{"team_ids": [...]}`` adds those workspaces, each with its
  own bot token; answers their ``team_id``, ``bot_token``, ``bot_user_id``, ``bot_id``;
- ``GET /requests?since=N`` (origami): the API requests from index N on, compactly
  (``&org=1``: each with the organisation of its key last);
- ``POST /orgs`` (origami): ``{"count": n}`` adds that many organisations, a key each;
  answers their ``api_key`` and ``org_id``;
- ``POST /script`` (origami): ``{"polls": int|null, "status": str}`` for every next run;
- ``POST /finish`` (origami): ``{"run_ids": [...]}`` ends those runs now;
- ``GET /health``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

from aiohttp import web

from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack

BOT_TOKEN = "xoxb-bench-token"
API_KEY = "og_live_" + "b" * 40


def _marker(meta: Any) -> tuple[str | None, str | None]:
    """What a delivery's marker says a post is: ``origami_ack`` (a prompt's "On it") or
    ``origami_result`` (a part of a run's result, with the run's id)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("event_payload"), dict):
        return None, None
    payload = meta["event_payload"]
    part, owner = str(payload.get("part", "")), payload.get("owner")
    if part == "ack":
        return "origami_ack", None
    if part.startswith("result-"):
        return "origami_result", str(owner)
    return str(meta.get("event_type")), None


def _slack_control(fake: FakeSlack) -> web.Application:
    async def calls(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        recorded = fake.calls()
        items: list[list[Any]] = []
        for call in recorded[since:]:
            event_type, run_id = _marker(call.args.get("metadata"))
            response = call.response or {}
            items.append(
                [
                    call.method,
                    call.timestamp,
                    call.args.get("channel"),
                    call.args.get("ts") or response.get("ts"),
                    call.args.get("thread_ts"),
                    event_type,
                    run_id,
                    call.status,
                    response.get("error"),
                ]
            )
        return web.json_response(
            {"total": len(recorded), "items": items, "rejections": len(fake.rejections)}
        )

    async def teams(request: web.Request) -> web.Response:
        body = await request.json()
        added = [fake.add_team(str(team_id)) for team_id in body.get("team_ids", [])]
        return web.json_response(
            [
                {
                    "team_id": t.team_id,
                    "bot_token": t.bot_token,
                    "bot_user_id": t.bot_user_id,
                    "bot_id": t.bot_id,
                }
                for t in added
            ]
        )

    app = web.Application()
    app.router.add_get("/calls", calls)
    app.router.add_post("/teams", teams)
    app.router.add_get("/health", _health)
    return app


def _origami_control(fake: FakeOrigami) -> web.Application:
    async def requests(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        with_org = request.query.get("org") == "1"
        recorded = fake.requests()
        items = [
            [
                r.method,
                r.path,
                r.time,
                r.status,
                r.response_headers.get("Retry-After"),
                *([r.org] if with_org else []),
            ]
            for r in recorded[since:]
        ]
        return web.json_response({"total": len(recorded), "items": items})

    async def script(request: web.Request) -> web.Response:
        body = await request.json()
        fake.default_script = RunScript(
            status=str(body.get("status", "completed")), polls=body.get("polls")
        )
        return _ok()

    async def finish(request: web.Request) -> web.Response:
        body = await request.json()
        for run_id in body.get("run_ids", []):
            fake.finish(str(run_id))
        return _ok()

    async def orgs(request: web.Request) -> web.Response:
        body = await request.json()
        keys = [fake.add_org(f"Bench org {i}") for i in range(int(body.get("count", 0)))]
        return web.json_response([{"api_key": k, "org_id": fake.org_of(k)} for k in keys])

    app = web.Application()
    app.router.add_get("/requests", requests)
    app.router.add_post("/orgs", orgs)
    app.router.add_post("/script", script)
    app.router.add_post("/finish", finish)
    app.router.add_get("/health", _health)
    return app


def _ok() -> web.Response:
    return web.json_response({"ok": True})


async def _health(request: web.Request) -> web.Response:
    return _ok()


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    info: dict[str, Any]
    if args.kind == "slack":
        slack = FakeSlack(bot_token=BOT_TOKEN)
        await slack.start()
        control = _slack_control(slack)
        info = {"url": slack.api_url, "bot_token": BOT_TOKEN}
        stopper = slack.stop
    else:
        origami = FakeOrigami(
            api_key=API_KEY, retry_after=args.retry_after, rate_limit_per_minute=args.rate_limit
        )
        origami.default_script = RunScript(polls=args.polls)
        await origami.start()
        control = _origami_control(origami)
        info = {"url": origami.url, "api_key": API_KEY}
        stopper = origami.stop
    runner = web.AppRunner(control, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    info["control_url"] = f"http://127.0.0.1:{port}"
    print(json.dumps(info), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await stopper()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a test fake with a bench control API.")
    parser.add_argument("kind", choices=["slack", "origami"])
    parser.add_argument("--retry-after", default="1", help="origami: Retry-After while running")
    parser.add_argument("--polls", type=int, default=0, help="origami: running polls per run")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=None,
        help="origami: requests a minute per organisation before 429 (default: no limit)",
    )
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
