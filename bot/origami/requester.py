"""How every request to Origami is made: admitted by the request budget, sent with its
Idempotency-Key, retried when transient (connect errors, timeouts, 5xx, request-rate 429)
with exponential backoff and full jitter, bounded in attempts and in total time, never
sooner than ``Retry-After``, and its failure raised as a class of ``bot.origami.errors``.
The endpoints are ``bot.origami.client.OrigamiClient``'s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
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

from bot.origami import errors
from bot.origami.models import ErrorBody
from bot.origami.wire import idempotency_key, parse_retry_after

log = logging.getLogger(__name__)


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


class Requester:
    """The request machinery the client's endpoints share (see the module's doc)."""

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
        return json_object(response)

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


def parsed(model: type[M], data: object, status: int) -> M:
    """A success body as ``model``: one without what nothing can be done without (a run's
    id) is the server's fault, as any other malformed success body is."""
    try:
        return model.model_validate(data)
    except PydanticValidationError:
        raise errors.ServerError(status, ErrorBody(error=f"malformed {model.__name__}")) from None


def json_object(response: httpx.Response) -> dict[str, Any]:
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
        error = ErrorBody.model_validate(payload if isinstance(payload, dict) else {})
    except (ValueError, PydanticValidationError):
        error = ErrorBody(error=response.reason_phrase or "error")
    return errors.error_for(response.status_code, error, parse_retry_after(response.headers))
