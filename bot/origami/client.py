"""A small async client for the Origami v2 agent API.

The client owns no connection: it takes an ``httpx.AsyncClient`` (``build_http_client``
makes the production one, tests pass one aimed at the fake server). It retries what is
transient (connect errors, timeouts, 5xx, request-rate 429) with exponential backoff and
full jitter, bounded in attempts and in total time, and honours ``Retry-After``. Everything
else raises at once, as a class of ``bot.origami.errors``.

Every POST carries an ``Idempotency-Key``. Callers pass one derived from what caused the
request (a Slack event id, an action id) so that a retry, by this client or by another
process after a crash, replays the first answer instead of starting a second run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from bot.origami import documents, errors, models
from bot.origami.models import Account, CreatedAgent, Credits, ErrorBody, Run, Table
from bot.origami.rows import RowsPage

# The client's vocabulary, importable from here as from ``bot.origami.wire``.
from bot.origami.wire import PROMPT_MAX_CHARS as PROMPT_MAX_CHARS
from bot.origami.wire import build_http_client as build_http_client
from bot.origami.wire import check_prompt as check_prompt
from bot.origami.wire import clip_utf16 as clip_utf16
from bot.origami.wire import idempotency_key as idempotency_key
from bot.origami.wire import parse_retry_after as parse_retry_after
from bot.origami.wire import utf16_len as utf16_len

log = logging.getLogger(__name__)

# Poll URLs kept parsed: more than the runs one process has in flight.
_POLL_URLS_KEPT = 10_000


class Priority(Enum):
    """Who is asking: a person waiting (POSTs) or the background watcher (polls)."""

    USER = "user"
    POLL = "poll"


class RequestGate(Protocol):
    """Admission for every request, so processes can share Origami's org-wide rate budget."""

    async def acquire(self, priority: Priority) -> None: ...


class _OpenGate:
    async def acquire(self, priority: Priority) -> None:
        return None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A person is waiting behind most calls; past this, give up and tell them.
    total_budget: float = 30.0


@dataclass(frozen=True, slots=True)
class Poll:
    """A polled run and the server's pacing hint (``None`` once the run is terminal)."""

    run: Run
    retry_after: float | None


def _is_transient(exc: BaseException) -> bool:
    return isinstance(
        exc, errors.OrigamiUnreachable | errors.ServerError | errors.RequestRateLimited
    )


def _failure(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


def _worth_retrying(state: RetryCallState) -> bool:
    failure = _failure(state)
    if failure is None:
        return False
    # After our own attempt timed out or was cut, the server answers this same key
    # 409 IDEMPOTENCY_ERROR while that attempt is still in flight, then replays it.
    in_flight = state.attempt_number > 1 and isinstance(failure, errors.IdempotencyConflict)
    return _is_transient(failure) or in_flight


class _Backoff(wait_base):
    """Exponential backoff with full jitter (AWS architecture blog: it spreads the retries
    of many processes apart), but never sooner than the server's ``Retry-After``."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._jitter = wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def __call__(self, state: RetryCallState) -> float:
        delay = self._jitter(state)
        failure = _failure(state)
        retry_after = failure.retry_after if isinstance(failure, errors.OrigamiAPIError) else None
        return delay if retry_after is None else max(delay, retry_after)


class OrigamiClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy | None = None,
        gate: RequestGate | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_answer: Callable[[str, str | httpx.URL, int | None], None] | None = None,
        api_key: str | None = None,
    ) -> None:
        # Told of every attempt's answer (method, path, status; None: no answer): metrics.
        self._on_answer = on_answer or (lambda method, path, status: None)
        self._http = http
        # A key of its own (one workspace's, see ``bound``) instead of the one ``http``
        # sends by default.
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._poll_urls: dict[tuple[str, str, bool], httpx.URL] = {}
        policy = retry or RetryPolicy()
        self._retry = policy
        # Give up after the policy's attempts, or rather than sleep past its total budget.
        self._stop = stop_after_attempt(policy.attempts) | stop_before_delay(policy.total_budget)
        self._wait = _Backoff(policy)
        self._gate: RequestGate = gate or _OpenGate()
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

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
        return _parsed(CreatedAgent, data, 202)

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
        return _parsed(Run, data.get("run"), 202)

    async def get_run(
        self, agent_id: str, run_id: str, *, include_stats: bool = True, admitted: bool = False
    ) -> Poll:
        response = await self._request(
            "GET",
            self._poll_url(agent_id, run_id, include_stats),
            priority=Priority.POLL,
            admitted=admitted,
        )
        run = _parsed(Run, _body(response), response.status_code)
        retry_after = parse_retry_after(response.headers)
        return Poll(run=run, retry_after=None if run.status.is_terminal else retry_after)

    async def get_transcript(self, agent_id: str, run_id: str) -> Run:
        """The run with ``response.transcript``: what the agent did, as a UI user sees it.
        Read when a person asks (Show steps), so it takes a person's share of the budget."""
        data = await self._json(
            "GET", f"agents/{agent_id}/runs/{run_id}", params={"include": "transcript"}
        )
        return _parsed(Run, data, 200)

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
        return _parsed(models.AgentSummary, await self._json("GET", f"agents/{agent_id}"), 200)

    # -- workspaces and documents (files shared in Slack) ------------------------------

    async def create_workspace(self, name: str, *, idempotency_key: str) -> str:
        body = {"name": clip_utf16(name.strip() or "Slack", 80)}
        data = await self._json("POST", "workspaces", json=body, key=idempotency_key)
        return _parsed(models.WorkspaceRef, data, 201).id

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

    async def get_table(self, table_id: str, *, include_stats: bool = True) -> Table:
        params = {"include": "stats"} if include_stats else None
        return Table.model_validate(await self._json("GET", f"tables/{table_id}", params=params))

    async def table_rows(self, table_id: str, *, limit: int) -> RowsPage:
        """The first ``limit`` rows (1-200) of a table, in the table's saved order. Read
        for previews, not by a person's click: it takes a poll's share of the budget."""
        response = await self._request(
            "GET",
            f"tables/{table_id}/rows",
            params={"limit": str(max(1, min(limit, 200)))},
            priority=Priority.POLL,
        )
        return RowsPage.model_validate(_body(response))

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
        return _parsed(Account, _body(response), response.status_code), limits

    async def get_credits(self) -> tuple[Credits, dict[str, str]]:
        response = await self._request("GET", "account/credits", priority=Priority.USER)
        limits = {k: v for k, v in response.headers.items() if k.startswith("x-ratelimit-")}
        return _parsed(Credits, _body(response), response.status_code), limits

    # -- transport -------------------------------------------------------------------

    async def _json(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        key: str | None = None,
        admitted: bool = False,
    ) -> dict[str, Any]:
        response = await self._request(
            method,
            path,
            json=json,
            params=params,
            key=key,
            priority=Priority.USER,
            admitted=admitted,
        )
        return _body(response)

    async def _request(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        priority: Priority,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        key: str | None = None,
        accept: str | None = None,
        admitted: bool = False,
    ) -> httpx.Response:
        headers: dict[str, str] = dict(self._auth)
        if method == "POST":
            if key is None:
                raise ValueError("every POST needs an Idempotency-Key derived from its cause")
            headers["Idempotency-Key"] = idempotency_key(key)
        if accept:
            headers["Accept"] = accept

        def log_retry(state: RetryCallState) -> None:
            log.warning(
                "origami request failed, retrying",
                extra={
                    "method": method,
                    "path": path,
                    "attempt": state.attempt_number,
                    "delay_s": round(state.upcoming_sleep, 2),
                    "error": type(_failure(state)).__name__,
                },
            )

        retrying = AsyncRetrying(
            sleep=self._sleep,
            stop=self._stop,
            wait=self._wait,
            retry=_worth_retrying,
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                if attempt.retry_state.attempt_number > 1 or not admitted:
                    await self._gate.acquire(priority)
                return await self._send(method, path, json=json, params=params, headers=headers)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _send(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
        headers: dict[str, str],
    ) -> httpx.Response:
        """One attempt: the response if it succeeded, else its failure raised."""
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.TransportError as exc:
            self._on_answer(method, path, None)
            raise errors.OrigamiUnreachable(f"{method} {path}: {type(exc).__name__}") from exc
        self._on_answer(method, path, response.status_code)
        if not response.is_success:
            raise _error_from_response(response)
        return response


M = TypeVar("M", bound=BaseModel)


def _parsed(model: type[M], data: object, status: int) -> M:
    """A success body as ``model``: one without what nothing can be done without (a run's
    id) is the server's fault, as any other malformed success body is."""
    try:
        return model.model_validate(data)
    except PydanticValidationError:
        raise errors.ServerError(status, ErrorBody(error=f"malformed {model.__name__}")) from None


def _body(response: httpx.Response) -> dict[str, Any]:
    """A success body as a JSON object; anything else is the server's fault, not ours."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise errors.ServerError(response.status_code, ErrorBody(error="not a JSON object"))
    return data


def _error_from_response(response: httpx.Response) -> errors.OrigamiAPIError:
    try:
        payload = response.json()
        body = ErrorBody.model_validate(payload if isinstance(payload, dict) else {})
    except (ValueError, PydanticValidationError):
        body = ErrorBody(error=response.reason_phrase or "error")
    return errors.error_for(response.status_code, body, parse_retry_after(response.headers))
