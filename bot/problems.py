"""What went wrong, in terms a user can act on.

The use cases turn every failure into a ``Problem``: a fixed kind plus the few safe facts
the message needs (a link to fix billing, a number). Exception text never reaches a user; the
Slack layer renders a fixed, friendly sentence per kind (``bot.slack.blocks``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.origami import errors
from bot.stores import StoreError

if TYPE_CHECKING:
    from bot.domain import ThreadRef
    from bot.ports import Presenter

log = logging.getLogger(__name__)


class ProblemKind(StrEnum):
    BAD_API_KEY = "bad_api_key"  # 401: ORIGAMI_API_KEY is wrong or revoked
    NOT_CONNECTED = "not_connected"  # the workspace has no Origami key (many workspaces)
    OUT_OF_CREDITS = "out_of_credits"  # 402 INSUFFICIENT_CREDITS
    PLAN_REQUIRED = "plan_required"  # 402 SUBSCRIPTION_REQUIRED
    BUDGET_EXCEEDED = "budget_exceeded"  # 402 BUDGET_EXCEEDED
    ACCOUNT_BLOCKED = "account_blocked"  # 402 ACCOUNT_BLOCKED
    PAYMENT_REQUIRED = "payment_required"  # any other 402
    AGENT_NOT_FOUND = "agent_not_found"  # 404 on the thread's agent
    NOT_FOUND = "not_found"  # 404 on anything else (a table, a run)
    PROMPT_EMPTY = "prompt_empty"
    PROMPT_TOO_LONG = "prompt_too_long"
    INVALID_REQUEST = "invalid_request"  # 400 other than the prompt
    FORBIDDEN = "forbidden"  # 403
    UNREACHABLE = "unreachable"  # no answer / 5xx after every retry: surely not sent
    # No answer, but the request may have reached Origami (a timeout, a request still in
    # flight): never "not sent", as it may be running.
    UNCONFIRMED = "unconfirmed"
    RATE_LIMITED = "rate_limited"  # request-rate 429 after every retry
    STORE_DOWN = "store_down"  # Redis unreachable: nothing could be recorded or sent
    NOT_SENT = "not_sent"  # queued prompts dropped because the conversation could not start
    RUN_FAILING = "run_failing"  # a run this app failed to handle, again and again
    RUN_TOO_OLD = "run_too_old"  # a run still not finished long past any run's end
    INTERNAL = "internal"  # a bug of ours; logged with its traceback


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    # A link the user can follow to fix it (Origami's handoff or top-up URL), unchanged.
    fix_url: str | None = None
    # Safe, short facts for the message: budget names, credit counts, prompt length.
    detail: str | None = None
    # The prompt is kept and will be sent again by itself (so the message says so).
    retrying: bool = False
    # The people it is about (whose messages could not be sent), to be named.
    who: tuple[str, ...] = ()
    # The run a Retry button sends again (the run was given up).
    retry_run: str | None = None


def problem_from_error(exc: BaseException, *, agent_call: bool = True) -> Problem:
    """Map any exception to the user-facing problem it means.

    ``agent_call`` says whether a 404 refers to the thread's agent (the agent was deleted in
    Origami) rather than to a table or run.
    """
    if isinstance(exc, StoreError | ConnectionError):
        return Problem(ProblemKind.STORE_DOWN)
    if isinstance(exc, errors.PromptError):
        kind = ProblemKind.PROMPT_EMPTY if exc.length == 0 else ProblemKind.PROMPT_TOO_LONG
        return Problem(kind, detail=str(exc.length))
    if isinstance(exc, errors.NotConnected):
        return Problem(ProblemKind.NOT_CONNECTED)
    if isinstance(exc, errors.Unauthorized):
        return Problem(ProblemKind.BAD_API_KEY, fix_url=exc.handoff_url)
    if isinstance(exc, errors.InsufficientCredits):
        detail = None
        if exc.body.credits_available is not None and exc.body.credits_required is not None:
            detail = f"{exc.body.credits_available:g} of {exc.body.credits_required:g}"
        return Problem(ProblemKind.OUT_OF_CREDITS, fix_url=exc.fix_url, detail=detail)
    if isinstance(exc, errors.SubscriptionRequired):
        return Problem(ProblemKind.PLAN_REQUIRED, fix_url=exc.fix_url)
    if isinstance(exc, errors.BudgetExceeded):
        names = ", ".join(exc.blocked_by_budgets) or None
        return Problem(ProblemKind.BUDGET_EXCEEDED, fix_url=exc.fix_url, detail=names)
    if isinstance(exc, errors.AccountBlocked):
        return Problem(ProblemKind.ACCOUNT_BLOCKED, fix_url=exc.fix_url, detail=exc.reason)
    if isinstance(exc, errors.PaymentRequired):
        return Problem(ProblemKind.PAYMENT_REQUIRED, fix_url=exc.fix_url)
    if isinstance(exc, errors.NotFound):
        kind = ProblemKind.AGENT_NOT_FOUND if agent_call else ProblemKind.NOT_FOUND
        return Problem(kind)
    if isinstance(exc, errors.Forbidden):
        return Problem(ProblemKind.FORBIDDEN, fix_url=exc.handoff_url)
    if isinstance(exc, errors.InvalidRequest):
        return Problem(ProblemKind.INVALID_REQUEST, fix_url=exc.handoff_url)
    if isinstance(exc, errors.RequestRateLimited):
        return Problem(ProblemKind.RATE_LIMITED)
    if isinstance(exc, errors.IdempotencyConflict) and exc.in_flight:
        return Problem(ProblemKind.UNCONFIRMED)
    if isinstance(exc, errors.OrigamiUnreachable) and exc.may_have_arrived:
        return Problem(ProblemKind.UNCONFIRMED)
    if isinstance(exc, errors.OrigamiUnreachable | errors.ServerError):
        return Problem(ProblemKind.UNREACHABLE)
    return Problem(ProblemKind.INTERNAL)


async def report(
    presenter: Presenter,
    thread: ThreadRef,
    exc: BaseException,
    message_ts: str | None,
    *,
    agent_call: bool,
) -> None:
    """Tell the thread what went wrong in plain words (in place of ``message_ts`` if
    given), and log it: with its traceback when it is a bug of ours."""
    problem = problem_from_error(exc, agent_call=agent_call)
    if problem.kind is ProblemKind.INTERNAL:
        log.exception("unexpected failure", exc_info=exc)
    else:
        log.warning("origami refused", extra={"problem": problem.kind.value, "error": repr(exc)})
    await presenter.problem(thread, problem, message_ts)
