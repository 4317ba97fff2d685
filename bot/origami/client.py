"""A small async client for the Origami v2 agent API.

The client owns no connection: it takes an ``httpx.AsyncClient`` (``build_http_client``
makes the production one, tests pass one aimed at the fake server). How each request is
admitted, retried and failed is ``bot.origami.requester``'s; the endpoints are here.

Every POST carries an ``Idempotency-Key``. Callers pass one derived from what caused the
request (a Slack event id, an action id) so that a retry, by this client or by another
process after a crash, replays the first answer instead of starting a second run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.origami import documents, models
from bot.origami.models import Account, CreatedAgent, Credits, Run, Table
from bot.origami.requester import Priority as Priority
from bot.origami.requester import RequestGate as RequestGate
from bot.origami.requester import RetryPolicy as RetryPolicy
from bot.origami.requester import json_object, parsed
from bot.origami.rows import RowsPage
from bot.origami.scheduled import ScheduledAgentEndpoints

# The client's vocabulary, importable from here as from ``bot.origami.wire``.
from bot.origami.wire import PROMPT_MAX_CHARS as PROMPT_MAX_CHARS
from bot.origami.wire import build_http_client as build_http_client
from bot.origami.wire import check_prompt as check_prompt
from bot.origami.wire import clip_utf16 as clip_utf16
from bot.origami.wire import idempotency_key as idempotency_key
from bot.origami.wire import parse_retry_after as parse_retry_after
from bot.origami.wire import utf16_len as utf16_len

# Poll URLs kept parsed: more than the runs one process has in flight.
_POLL_URLS_KEPT = 10_000


@dataclass(frozen=True, slots=True)
class Poll:
    """A polled run and the server's pacing hint (``None`` once the run is terminal)."""

    run: Run
    retry_after: float | None


class OrigamiClient(ScheduledAgentEndpoints):
    """The Origami v2 endpoints this app uses (requests made by ``Requester``; the
    scheduled agents' in ``bot.origami.scheduled``)."""

    def bound(self, api_key: str, gate: RequestGate | None = None) -> OrigamiClient:
        """This client under another key (a workspace's), on the same connections, retry
        policy and metrics hook; ``gate``: that key's request budget (default: this one's).
        Close only the client ``bound`` was called on: they share one connection pool."""
        other = OrigamiClient(
            self._http,
            retry=self._retry,
            gate=gate or self._gate,
            sleep=self._sleep,
            on_answer=self._on_answer,
            api_key=api_key,
        )
        other._poll_urls = self._poll_urls  # the same base URL: the same parsed URLs
        return other

    # -- agents and runs -------------------------------------------------------------

    # ``admitted=True``: the caller already took this request's slot of the request budget
    # (as part of a larger Redis step); retries still ask the gate.

    async def create_agent(
        self,
        prompt: str,
        *,
        idempotency_key: str,
        name: str | None = None,
        admitted: bool = False,
        workspace_id: str | None = None,
        attachments: Sequence[dict[str, str]] = (),
    ) -> CreatedAgent:
        body: dict[str, Any] = {"prompt": check_prompt(prompt)}
        if name:
            body["name"] = clip_utf16(name, 80)
        if workspace_id:
            body["workspaceId"] = workspace_id
        if attachments:
            body["attachments"] = list(attachments[: documents.MAX_ATTACHMENTS])
        data = await self._json("POST", "agents", json=body, key=idempotency_key, admitted=admitted)
        return parsed(CreatedAgent, data, 202)

    async def send_run(
        self,
        agent_id: str,
        prompt: str,
        *,
        idempotency_key: str,
        admitted: bool = False,
        attachments: Sequence[dict[str, str]] = (),
    ) -> Run:
        body: dict[str, Any] = {"prompt": check_prompt(prompt)}
        if attachments:
            body["attachments"] = list(attachments[: documents.MAX_ATTACHMENTS])
        data = await self._json(
            "POST", f"agents/{agent_id}/runs", json=body, key=idempotency_key, admitted=admitted
        )
        return parsed(Run, data.get("run"), 202)

    async def get_run(
        self, agent_id: str, run_id: str, *, include_stats: bool = True, admitted: bool = False
    ) -> Poll:
        response = await self._request(
            "GET",
            self._poll_url(agent_id, run_id, include_stats),
            priority=Priority.POLL,
            admitted=admitted,
        )
        run = parsed(Run, json_object(response), response.status_code)
        retry_after = parse_retry_after(response.headers)
        return Poll(run=run, retry_after=None if run.status.is_terminal else retry_after)

    async def get_transcript(self, agent_id: str, run_id: str) -> Run:
        """The run with ``response.transcript``: what the agent did, as a UI user sees it.
        Read when a person asks (Show steps), so it takes a person's share of the budget."""
        data = await self._json(
            "GET", f"agents/{agent_id}/runs/{run_id}", params={"include": "transcript"}
        )
        return parsed(Run, data, 200)

    def _poll_url(self, agent_id: str, run_id: str, include_stats: bool) -> httpx.URL:
        # A run is polled many times at one URL: parse it once. httpx's URL parsing and
        # merging was a quarter of the CPU of a poll (bench/, watcher capacity).
        key = (agent_id, run_id, include_stats)
        url = self._poll_urls.get(key)
        if url is None:
            if len(self._poll_urls) >= _POLL_URLS_KEPT:
                self._poll_urls.clear()
            url = self._http.base_url.join(f"agents/{agent_id}/runs/{run_id}")
            if include_stats:
                url = url.copy_merge_params({"include": "stats"})
            self._poll_urls[key] = url
        return url

    async def cancel(self, agent_id: str, *, idempotency_key: str) -> Run | None:
        data = await self._json("POST", f"agents/{agent_id}/cancel", key=idempotency_key)
        raw = data.get("run")
        return Run.model_validate(raw) if isinstance(raw, dict) else None

    async def get_agent(self, agent_id: str) -> models.AgentSummary:
        return parsed(models.AgentSummary, await self._json("GET", f"agents/{agent_id}"), 200)

    # -- workspaces and documents (files shared in Slack) ------------------------------

    async def create_workspace(self, name: str, *, idempotency_key: str) -> str:
        body = {"name": clip_utf16(name.strip() or "Slack", 80)}
        data = await self._json("POST", "workspaces", json=body, key=idempotency_key)
        return parsed(models.WorkspaceRef, data, 201).id

    async def upload_document(
        self, workspace_id: str, filename: str, content: bytes, mode: str, *, idempotency_key: str
    ) -> documents.UploadedFile:
        """One file into a workspace; what it became (an entry that names nothing, or
        none at all, reads as a failed upload)."""
        data = await self._json(
            "POST",
            f"workspaces/{workspace_id}/documents",
            json=documents.upload_body(filename, content, mode),
            key=idempotency_key,
        )
        results = documents.UploadResults.model_validate(data).results
        return results[0] if results else documents.UploadedFile(kind="error")

    # -- tables ----------------------------------------------------------------------

    async def get_table(
        self, table_id: str, *, include_stats: bool = True, priority: Priority = Priority.USER
    ) -> Table:
        """``priority``: a person's read by default; the background re-reads of a table
        still being enriched (``bot.enrichment``) take a poll's share of the budget."""
        params = {"include": "stats"} if include_stats else None
        response = await self._request(
            "GET", f"tables/{table_id}", params=params, priority=priority
        )
        return Table.model_validate(json_object(response))

    async def table_rows(self, table_id: str, *, limit: int) -> RowsPage:
        """The first ``limit`` rows (1-200) of a table, in the table's saved order. Read
        for previews, not by a person's click: it takes a poll's share of the budget."""
        response = await self._request(
            "GET",
            f"tables/{table_id}/rows",
            params={"limit": str(max(1, min(limit, 200)))},
            priority=Priority.POLL,
        )
        return RowsPage.model_validate(json_object(response))

    async def table_rows_csv(self, table_id: str) -> bytes:
        response = await self._request(
            "GET",
            f"tables/{table_id}/rows",
            params={"format": "csv", "limit": "200"},
            priority=Priority.USER,
            accept="text/csv",
        )
        return response.content

    # -- account (read by ``python -m bot doctor``) ----------------------------------
    # Each also returns the answer's ``x-ratelimit-*`` headers (names lower-cased).

    async def get_account(self) -> tuple[Account, dict[str, str]]:
        response = await self._request("GET", "account", priority=Priority.USER)
        limits = {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}
        return parsed(Account, json_object(response), response.status_code), limits

    async def get_credits(self) -> tuple[Credits, dict[str, str]]:
        response = await self._request("GET", "account/credits", priority=Priority.USER)
        limits = {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}
        return parsed(Credits, json_object(response), response.status_code), limits
