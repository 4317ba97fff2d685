"""The Origami client's exceptions: one tree, one class per documented error family.

    OrigamiError
    ├── PromptError                   refused before sending: empty or over 10,000 chars
    ├── NotConnected                  not sent: the Slack workspace has no Origami key
    ├── OrigamiUnreachable            connect errors / timeouts, after the retries ran out
    └── OrigamiAPIError               the API answered with an error status (.status, .body)
        ├── InvalidRequest            400 VALIDATION_ERROR and friends (.issues)
        ├── Unauthorized              401 UNAUTHORIZED: missing, bad or revoked key
        ├── PaymentRequired           402, admission refused for billing reasons
        │   ├── InsufficientCredits   INSUFFICIENT_CREDITS (.top_up_url, credits fields)
        │   ├── SubscriptionRequired  SUBSCRIPTION_REQUIRED (plan has no API access)
        │   ├── BudgetExceeded        BUDGET_EXCEEDED (.blocked_by_budgets)
        │   └── AccountBlocked        ACCOUNT_BLOCKED (.reason)
        ├── Forbidden                 403
        ├── NotFound                  404 AGENT_NOT_FOUND, RUN_NOT_FOUND, TABLE_NOT_FOUND, ...
        ├── Conflict                  409
        │   ├── AgentBusy             AGENT_BUSY (.current_run)
        │   └── IdempotencyConflict   IDEMPOTENCY_ERROR
        ├── RateLimited               429 (.retry_after)
        │   ├── ConcurrencyLimited    CONCURRENT_LIMIT_EXCEEDED (.limit, .active_sessions)
        │   └── RequestRateLimited    any other 429: the 100/min org or 300/min IP window
        └── ServerError               5xx, after the retries ran out

Every ``OrigamiAPIError`` keeps ``handoff_url`` when the API sent a ``handoff``: it is the
link a human follows to fix the problem in the Origami app, forwarded unchanged.
"""

from __future__ import annotations

import httpx

from bot.origami.models import ActiveSession, CurrentRun, ErrorBody, ValidationIssue


class OrigamiError(Exception):
    """Base of everything the Origami client raises."""


class PromptError(OrigamiError, ValueError):
    """The prompt breaks the API's 1-10,000 character rule; nothing was sent."""

    def __init__(self, message: str, length: int) -> None:
        super().__init__(message)
        self.length = length


class NotConnected(OrigamiError):
    """Nothing was sent: the workspace has not connected an Origami key (App Home), or an
    admin removed it (``bot.tenancy.origami``)."""


class OrigamiUnreachable(OrigamiError):
    """No HTTP answer (connect error, timeout) after every retry."""

    @property
    def may_have_arrived(self) -> bool:
        """Whether Origami may have received the request: anything but a failure to
        connect (a timeout waiting for the answer, a connection cut mid-way) may have
        reached it, so it may be acting on it."""
        cause = self.__cause__
        return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class OrigamiAPIError(OrigamiError):
    def __init__(self, status: int, body: ErrorBody, retry_after: float | None = None) -> None:
        super().__init__(f"{status} {body.code or 'ERROR'}: {body.error}")
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def code(self) -> str:
        return self.body.code

    @property
    def handoff_url(self) -> str | None:
        return self.body.handoff.url if self.body.handoff else None


class InvalidRequest(OrigamiAPIError):
    @property
    def issues(self) -> list[ValidationIssue]:
        return self.body.issues


class Unauthorized(OrigamiAPIError):
    pass


class PaymentRequired(OrigamiAPIError):
    @property
    def fix_url(self) -> str | None:
        """Where the user goes to fix billing: the handoff link, else the top-up link."""
        return self.handoff_url or self.body.top_up_url


class InsufficientCredits(PaymentRequired):
    @property
    def top_up_url(self) -> str | None:
        return self.body.top_up_url


class SubscriptionRequired(PaymentRequired):
    pass


class BudgetExceeded(PaymentRequired):
    @property
    def blocked_by_budgets(self) -> list[str]:
        return self.body.blocked_by_budgets


class AccountBlocked(PaymentRequired):
    @property
    def reason(self) -> str | None:
        return self.body.reason


class Forbidden(OrigamiAPIError):
    pass


class NotFound(OrigamiAPIError):
    pass


class Conflict(OrigamiAPIError):
    pass


class AgentBusy(Conflict):
    @property
    def current_run(self) -> CurrentRun | None:
        return self.body.current_run


class IdempotencyConflict(Conflict):
    @property
    def in_flight(self) -> bool:
        """Origami is still handling the first request with this key (the other 409 with
        this code is the key reused for a different request). v2 tells them apart only by
        the message; a later version splits the code (``IDEMPOTENCY_PENDING``)."""
        return self.body.code == "IDEMPOTENCY_PENDING" or "in flight" in self.body.error.lower()


class RateLimited(OrigamiAPIError):
    pass


class ConcurrencyLimited(RateLimited):
    @property
    def limit(self) -> int | None:
        return self.body.limit

    @property
    def active_sessions(self) -> list[ActiveSession]:
        return self.body.active_sessions


class RequestRateLimited(RateLimited):
    pass


class ServerError(OrigamiAPIError):
    pass


_BY_CODE: dict[str, type[OrigamiAPIError]] = {
    "INSUFFICIENT_CREDITS": InsufficientCredits,
    "SUBSCRIPTION_REQUIRED": SubscriptionRequired,
    "BUDGET_EXCEEDED": BudgetExceeded,
    "ACCOUNT_BLOCKED": AccountBlocked,
    "AGENT_BUSY": AgentBusy,
    "IDEMPOTENCY_ERROR": IdempotencyConflict,
    "IDEMPOTENCY_PENDING": IdempotencyConflict,
    "IDEMPOTENCY_MISMATCH": IdempotencyConflict,
    "CONCURRENT_LIMIT_EXCEEDED": ConcurrencyLimited,
}

_BY_STATUS: dict[int, type[OrigamiAPIError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RequestRateLimited,
}


def error_for(status: int, body: ErrorBody, retry_after: float | None) -> OrigamiAPIError:
    """The most specific exception for an error response."""
    cls = _BY_CODE.get(body.code)
    # A code only picks a class within its own status family, so a surprising pairing
    # (say AGENT_BUSY on a 500) still lands in the family its status says.
    if cls is not None and _family(cls) is _family_for_status(status):
        return cls(status, body, retry_after)
    return _family_for_status(status)(status, body, retry_after)


def _family_for_status(status: int) -> type[OrigamiAPIError]:
    if status >= 500:
        return ServerError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status == 422:
        return InvalidRequest
    return OrigamiAPIError


def _family(cls: type[OrigamiAPIError]) -> type[OrigamiAPIError]:
    for family in (PaymentRequired, Conflict):
        if issubclass(cls, family):
            return family
    if issubclass(cls, RateLimited):
        return RequestRateLimited
    return cls
