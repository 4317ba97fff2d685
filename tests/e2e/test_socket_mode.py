"""Socket Mode: the app (or its web half) connects to the fake Slack's websocket, acks
envelopes, works, and still answers both probes on PORT."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, flush, start_deployment, stop_app, wait_readyz
from tests.e2e.test_conversations import thread_text, wait_finished
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack


@pytest.fixture
async def socket_app(
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
    deployment: str,
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    flush(redis_target)
    running = await start_deployment(
        deployment,
        slack,
        origami,
        redis_target.url,
        http,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_SIGNING_SECRET="",
    )
    try:
        yield running
    finally:
        log = await stop_app(running)
        print(f"--- app log ---\n{log}")
        assert slack.rejections == []
        assert "Traceback" not in log


async def test_socket_mode_acks_and_starts_an_agent_once(socket_app: AppProcess) -> None:
    slack, origami = socket_app.slack, socket_app.origami
    origami.script(RunScript(polls=1, text="Socket answer"))
    event = payloads.app_mention("find founders over the socket")
    envelope_payload = payloads.events_api(event)
    ack = await slack.socket_send(payloads.to_socket_envelope(envelope_payload))
    # Slack redelivers over the socket with retry_attempt set: still one agent.
    retry = payloads.to_socket_envelope(envelope_payload, retry_attempt=1, retry_reason="timeout")
    retry_ack = await slack.socket_send(retry)
    assert "envelope_id" in ack and "envelope_id" in retry_ack
    await wait_finished(socket_app, str(event["ts"]))
    assert len(origami.requests("POST", "/agents")) == 1
    assert origami.requests("POST", "/agents")[0].body["prompt"] == "find founders over the socket"
    assert "Socket answer" in thread_text(socket_app, str(event["ts"]))
    # The port only answers the probes in Socket Mode.
    health = await socket_app.http.get(f"{socket_app.url}/healthz")
    assert health.status_code == 200 and health.json()["role"] == (socket_app.role or "all")
    assert (await wait_readyz(socket_app, 200))["workers"] == 1
    events = await socket_app.http.post(f"{socket_app.url}/slack/events", content=b"{}")
    assert events.status_code in (404, 405)
