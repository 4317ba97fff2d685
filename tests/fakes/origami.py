"""A fake of the Origami v2 agent API, served over real HTTP by aiohttp.

It follows the behaviour the Origami docs describe (see the project's notes on the v2 API):
Bearer auth, ``POST /agents`` and ``POST /agents/{id}/runs`` answering ``202`` with a running
run, polling with ``Retry-After`` while running, the terminal run object once done, the
per-agent lock (``409 AGENT_BUSY``), org concurrency slots (``429
CONCURRENT_LIMIT_EXCEEDED``), a request-rate budget (``429 RATE_LIMITED``), billing refusals
(``402``), cooperative cancel, tables with optional ``stats``, CSV rows, and
``Idempotency-Key`` replay, and the account (``GET /account``, ``GET /account/credits``:
the plan and the credit balance are plain attributes a test sets).

A test scripts what the next runs do (``fake.script(RunScript(...))``, FIFO, consumed by each
POST that starts a run) and injects transport faults (``fail_next``, ``delay_next``,
``drop_next``). Every request is recorded for assertions.

Layering of one request, in order (the first that answers wins):

1. recorded; a ``drop_next`` fault (before) closes the connection;
2. a ``fail_next`` fault answers its status (infrastructure: never stored for idempotency);
3. auth (401), then the request-rate budget (429 RATE_LIMITED), neither stored;
4. ``Idempotency-Key`` (POST only): bad key 400; stored answer replayed; mismatch or
   in-flight original 409 IDEMPOTENCY_ERROR; else the key is marked in flight;
5. a ``delay_next(..., after_execute=False)`` fault holds the request (still in flight);
6. the endpoint runs; its answer is stored under the key unless it is a 5xx;
7. a ``drop_next(..., after_execute=True)`` fault loses the answer (the key keeps it), and a
   ``delay_next`` fault (default ``after_execute=True``) delays sending it.

Standalone: ``python -m tests.fakes.origami --port 8787`` prints the base URL and API key.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import copy
import csv
import hashlib
import io
import json
import math
import random
import re
import secrets
import signal
import socket
import string
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import EllipsisType, TracebackType
from typing import Any, Literal

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.enrichment import Enrichments

JSON = dict[str, Any]

API_PREFIX = "/api/v2"
APP_ORIGIN = "https://origami.chat"
PROMPT_MAX_CHARS = 10_000
NAME_MAX_CHARS = 80
PROMPT_PREVIEW_CHARS = 200
DEFAULT_STEPS_MAX = 50  # the pro plan's cap
IDEMPOTENCY_TTL_S = 24 * 3600
# Documents: the per-request file cap behind 413 TOO_MANY_FILES, and a per-file size past
# which the file errors (neither is documented; the fake picks plausible ones).
UPLOAD_MAX_FILES = 10
UPLOAD_MAX_FILE_BYTES = 20 * 1024 * 1024
UPLOAD_MODES = ("table", "append", "document")
FREEFORM_OPTION = "Or something else"
TOP_UP_URL = f"{APP_ORIGIN}/settings/billing?source=api"
MODELS = ("origami-lite", "origami-max")
LEGACY_MODELS = {"origami-fast": "origami-lite", "origami-mid": "origami-lite"}
KNOWN_TERMINAL = (
    "completed",
    "needs_input",
    "incomplete",
    "step_cap_hit",
    "cancelled",
    "errored",
    "timed_out",
)
NEXT_ACTION_TYPES = (
    "upload_csv",
    "find_more_leads",
    "export_csv",
    "input_required",
    "send_messages",
    "schedule_play",
)
BillingCode = Literal[
    "INSUFFICIENT_CREDITS", "SUBSCRIPTION_REQUIRED", "BUDGET_EXCEEDED", "ACCOUNT_BLOCKED"
]

_IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def new_api_key() -> str:
    """A key in the documented shape: ``og_live_`` and 40 alphanumerics."""
    alphabet = string.ascii_letters + string.digits
    return "og_live_" + "".join(secrets.choice(alphabet) for _ in range(40))


def new_run_id() -> str:
    return "v2_run-" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.match(value))


def _is_csv(filename: str) -> bool:
    return filename.lower().endswith(".csv")


def js_length(text: str) -> int:
    """String length as a TypeScript server counts it: UTF-16 code units.

    The spec says ``maxLength: 10000``; Origami's server is TypeScript, whose validators
    count ``String.length``. (Inference: so the fake is the stricter of the two readings.)
    """
    return len(text.encode("utf-16-le")) // 2


def truncate_prompt(prompt: str) -> str:
    """``Run.prompt``: cut to 200 chars with an ellipsis (the ellipsis is the 200th)."""
    if len(prompt) <= PROMPT_PREVIEW_CHARS:
        return prompt
    return prompt[: PROMPT_PREVIEW_CHARS - 1] + "…"


def table_url(workspace_id: str, table_id: str) -> str:
    return f"{APP_ORIGIN}/workspace/{workspace_id}?table={table_id}"


# -- content builders ----------------------------------------------------------------------


def _column(
    name: str,
    slug: str,
    *,
    kind: str,
    credits: int = 0,
    running: int = 0,
    errored: int = 0,
    stats: JSON | None = None,
    qualification: JSON | None = None,
) -> JSON:
    column: JSON = {
        "object": "column",
        "id": str(uuid.uuid4()),
        "name": name,
        "type": "static" if kind == "input" else "code",
        "kind": kind,
        "slug": slug,
        "autoTrigger": kind != "input",
        "credits": {"lifetimeUsed": credits},
        "cells": {"running": running, "errored": errored},
    }
    if stats is not None:
        column["stats"] = stats
    if qualification is not None:
        column["qualification"] = qualification
    return column


def make_table(
    name: str,
    lead_count: int,
    *,
    running_cells: int = 0,
    errored_cells: int = 0,
    qualified: int | None = None,
    credits: int | None = None,
    table_id: str | None = None,
    workspace_id: str | None = None,
) -> JSON:
    """A realistic Table object (as ``GET /tables/{id}?include=stats`` returns it).

    Columns: four input columns (name, title, company, LinkedIn URL), a work-email
    enrichment and a fit-score column. ``qualified`` (qualified leads) makes the score
    column a relevance filter and fills ``stats.qualification``; ``None`` leaves it null.
    ``credits`` is the lifetime total (default 3 per lead), split over the two code columns.
    ``running_cells``/``errored_cells`` sit on the email column and roll up to the table.
    The fake re-homes tables a run creates into the agent's container (workspaceId, url).
    """
    table_id = table_id or str(uuid.uuid4())
    workspace_id = workspace_id or str(uuid.uuid4())
    total = lead_count * 3 if credits is None else credits
    email_credits = total * 2 // 3
    score_credits = total - email_credits
    now = time.time()
    score_qualification = None
    if qualified is not None:
        unsure = min(lead_count - qualified, max(lead_count // 10, 0))
        score_qualification = {
            "pass": qualified,
            "fail": lead_count - qualified - unsure,
            "unsure": unsure,
            "total": lead_count,
        }
    columns = [
        _column("Name", "name", kind="input"),
        _column("Title", "title", kind="input"),
        _column("Company", "company", kind="input"),
        _column("LinkedIn URL", "linkedin_url", kind="input"),
        _column(
            "Work email",
            "work_email",
            kind="enrichment",
            credits=email_credits,
            running=running_cells,
            errored=errored_cells,
            stats={
                "avgCreditsPerRun": 2.0,
                "callRate": 0.92 if lead_count else 0.0,
                "totalRuns": lead_count,
            },
        ),
        _column(
            "Fit score",
            "fit_score",
            kind="score",
            credits=score_credits,
            stats={"avgCreditsPerRun": 1.0, "callRate": 1.0, "totalRuns": lead_count},
            qualification=score_qualification,
        ),
    ]
    per_lead = round(total / lead_count, 2) if lead_count else 0.0
    qualification: JSON | None = None
    if qualified is not None:
        rate = round(qualified / lead_count, 4) if lead_count else None
        qualification = {
            "rate": rate,
            "fetchRate": rate,
            "qualifiedLeads": qualified,
            "effectiveLeadsPerQualified": round(lead_count / qualified, 2) if qualified else 0.0,
            "estimatedQualifiedLeads": qualified * 4,
        }
    dupes = lead_count // 5
    sourced = lead_count + dupes
    stats: JSON = {
        "creditsPerLead": per_lead,
        "creditsPerQualifiedLead": round(total / qualified, 2) if qualified else per_lead,
        "findMoreEstimatedCredits": 25.0,
        "qualification": qualification,
        "funnel": {
            "totalSourcedLeads": sourced,
            "postStaticLeads": lead_count,
            "dedupedLeads": dupes,
            "dedupRate": round(dupes / sourced, 4) if sourced else None,
            "excludedLeads": 0,
            "excludedRate": 0.0 if sourced else None,
        },
        "running": {
            "runningLeads": running_cells,
            "oldestActiveRunStartedAt": iso(now - 30) if running_cells else None,
        },
        "leadSources": [
            {
                "id": str(uuid.uuid4()),
                "name": "LinkedIn people search",
                "avgCreditsPerLead": 0.5,
                "totalCredits": round(sourced * 0.5, 1),
                "totalLeads": sourced,
                "source": "historical",
            }
        ],
        "hasUnknownTotalWithMore": False,
    }
    return {
        "object": "table",
        "id": table_id,
        "workspaceId": workspace_id,
        "name": name,
        "leadCount": lead_count,
        "columns": columns,
        "credits": {"lifetimeUsed": total},
        "cells": {"running": running_cells, "errored": errored_cells},
        "url": table_url(workspace_id, table_id),
        "createdAt": iso(now - 120),
        "updatedAt": iso(now),
        "stats": stats,
    }


def without_stats(table: JSON) -> JSON:
    """The table as served without ``?include=stats``."""
    out = {k: v for k, v in table.items() if k != "stats"}
    out["columns"] = [
        {k: v for k, v in c.items() if k not in ("stats", "qualification")}
        for c in table["columns"]
    ]
    return out


def single_choice(question: str, answers: list[str]) -> JSON:
    return {
        "type": "single-choice",
        "question": question,
        "suggestedAnswers": list(answers),
        "freeformOption": FREEFORM_OPTION,
    }


def confirm(question: str) -> JSON:
    return {
        "type": "confirm",
        "question": question,
        "suggestedAnswers": ["Confirm"],
        "freeformOption": FREEFORM_OPTION,
    }


def next_action(label: str, type: str | None = None, table_slug: str | None = None) -> JSON:
    action: JSON = {"label": label}
    if type is not None:
        action["type"] = type
    if table_slug is not None:
        action["tableSlug"] = table_slug
    return action


_FIRST = ["Lena", "Jonas", "Amara", "Mateo", "Sofia", "Karim", "Yuki", "Priya", "Felix", "Nora"]
_LAST = ["Fischer", "Okafor", "Rossi", "Nakamura", "Haddad", "Schulz", "Patel", "Novak", "Berg"]
_TITLES = ["Founder & CEO", "Co-founder, CTO", "Head of Growth", "VP Sales", "COO"]
_COMPANIES = ["Finlytic", "Ledgerly", "PayNest", "Kontor", "Zahlwerk", "Brightbook", "Mintgate"]


def lead_rows(table: JSON) -> list[dict[str, str]]:
    """Plausible, deterministic lead rows for a table, keyed by column slug.

    The first row's company holds a comma and double quotes, and its name a non-ASCII
    letter, so CSV escaping and encoding get exercised.
    """
    rng = random.Random(table["id"])
    rows: list[dict[str, str]] = []
    for i in range(min(int(table["leadCount"]), 1000)):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        company = rng.choice(_COMPANIES) + " GmbH"
        if i == 0:
            first, company = "Renée", 'Acme, Inc. ("the good one")'
        handle = f"{first}-{last}-{i}".lower().replace("é", "e")
        domain = re.sub(r"[^a-z]", "", company.lower())[:12] + ".com"
        rows.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "name": f"{first} {last}",
                "title": rng.choice(_TITLES),
                "company": company,
                "linkedin_url": f"https://www.linkedin.com/in/{handle}",
                "work_email": f"{first.lower().replace('é', 'e')}@{domain}",
                "fit_score": str(rng.randint(40, 99)),
            }
        )
    return rows


def rows_csv(table: JSON, rows: list[dict[str, str]]) -> str:
    """CSV of rows: a header of column names, then one line per row (RFC 4180 quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = table["columns"]
    writer.writerow([c["name"] for c in columns])
    for row in rows:
        writer.writerow([row.get(c["slug"], "") for c in columns])
    return buffer.getvalue()


# -- scripting -----------------------------------------------------------------------------

_DEFAULT_TEXT: dict[str, str | None] = {
    "needs_input": "Before I start searching I need one detail from you.",
    "incomplete": "I started building the list but stopped before the enrichment step finished.",
    "step_cap_hit": "I used every step this plan allows; the table holds what I found so far.",
    "cancelled": "Stopped. Everything found before the stop is kept in the table.",
    "errored": None,
    "timed_out": None,
}


@dataclass
class RunScript:
    """What one run does.

    ``polls``: how many polls answer ``running`` before the terminal object (0: the first
    poll is terminal; ``None``: it runs until ``fake.finish(run_id)``, a cancel, or
    ``duration``). ``duration``: seconds after which the run is over even unpolled.
    Fields left at their defaults get realistic content for the status; ``errored`` and
    ``timed_out`` always have ``response.text`` null.
    """

    status: str = "completed"
    polls: int | None = 1
    text: str | EllipsisType | None = ...
    tables: list[JSON] | None = None
    pending_questions: list[JSON] | None = None
    next_actions: list[JSON] | None = None
    actions: list[JSON] | None = None
    steps_max: int = DEFAULT_STEPS_MAX
    duration: float | None = None
    # What ``?include=transcript`` returns once the run is over (None: a realistic one,
    # with the tool calls a UI user sees: present-plan, ask-questions), and whether it was
    # cut at its size cap.
    transcript: list[JSON] | None = None
    transcript_truncated: bool = False

    def __post_init__(self) -> None:
        if self.status == "running":
            raise ValueError("a script describes how a run ends; 'running' is not an end")


@dataclass
class FakeAgent:
    id: str
    name: str
    workspace_id: str
    created_at: float
    run_ids: list[str] = field(default_factory=list)
    focus_table_ids: list[str] = field(default_factory=list)
    org_id: str = ""  # the organisation whose key created it: no other key sees it


@dataclass
class FakeRun:
    id: str
    agent_id: str
    prompt: str
    model: str
    focus_table_ids: list[str]
    script: RunScript
    started_at: float
    status: str = "running"
    polls: int = 0
    steps_completed: int = 0
    completed_at: float | None = None
    cancel_requested: bool = False
    text: str | None = None
    actions: list[JSON] = field(default_factory=list)
    table_ids: list[str] = field(default_factory=list)
    pending_questions: list[JSON] = field(default_factory=list)
    next_actions: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /api/v2, e.g. "/agents/<id>/runs"
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: Any  # parsed JSON, or None (no body / not JSON)
    raw_body: bytes
    time: float
    status: int | None = None  # None when the connection was dropped
    response_headers: CIMultiDict[str] = field(default_factory=CIMultiDict)
    replayed: bool = False
    fault: str | None = None  # "fail", "drop", "delay" when an injected fault applied
    org: str | None = None  # the organisation of the key it came with (once accepted)


_RECORD = web.RequestKey("record", RecordedRequest)


@dataclass
class _Fault:
    kind: Literal["fail", "delay", "drop"]
    remaining: int
    path_prefix: str | None
    method: str | None
    status: int = 503
    seconds: float = 0.0
    after_execute: bool = False
    retry_after: str | None = None
    body: JSON | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method)
            and (self.path_prefix is None or path.startswith(self.path_prefix))
        )


@dataclass
class _StoredResponse:
    fingerprint: tuple[str, str, str]
    stored_at: float
    in_flight: bool = True
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _error_body(code: str, error: str, **extra: Any) -> JSON:
    return {"error": error, "code": code, **extra}


def _json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def _error(
    status: int, code: str, error: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> web.Response:
    return _json_response(status, _error_body(code, error, **extra), headers)


def _validation_error(issues: list[JSON]) -> web.Response:
    return _error(400, "VALIDATION_ERROR", "Invalid request body", details={"issues": issues})


_NO_BODY = object()
_BAD_JSON = object()


def _billing_body(code: BillingCode) -> JSON:
    if code == "INSUFFICIENT_CREDITS":
        return _error_body(
            code,
            "Insufficient credits",
            creditsRequired=5,
            creditsAvailable=2,
            topUpUrl=TOP_UP_URL,
            message="Origami needs at least 5 credits to start any run; you have 2.",
        )
    if code == "SUBSCRIPTION_REQUIRED":
        return _error_body(
            code,
            "Subscription required",
            hint="API access needs a paid plan. Upgrade in Settings → Billing.",
            handoff={
                "kind": "upgrade-plan",
                "url": f"{APP_ORIGIN}/settings/billing?source=api&intent=upgrade",
                "label": "Upgrade plan",
            },
        )
    if code == "BUDGET_EXCEEDED":
        return _error_body(
            code,
            "Budget exceeded",
            blockedByBudgets=["Marketing Q3"],
            message=(
                "This run is blocked by the credit budget Marketing Q3: the spending limit "
                "has been reached. Increase the budget limit, wait for it to reset, or remove it."
            ),
        )
    return _error_body(
        code,
        "Account blocked",
        reason="payment_failed",
        message="A payment failed. Update your payment method to unblock runs.",
    )


# -- the server ----------------------------------------------------------------------------


class FakeOrigami:
    """The fake server. ``async with FakeOrigami() as fake: ...`` or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_after: str = "1",
        concurrency_limit: int | None = None,
        concurrency_retry_after: str = "60",
        rate_limit_per_minute: int | None = None,
        default_model: str = "origami-max",
        legacy_lists: bool = False,
        enrichment_seconds: float = 60.0,
    ) -> None:
        self.api_key = api_key or new_api_key()
        self.host = host
        self.retry_after = retry_after
        self.concurrency_limit = concurrency_limit
        self.concurrency_retry_after = concurrency_retry_after
        self.rate_limit_per_minute = rate_limit_per_minute
        self.default_model = default_model
        self.legacy_lists = legacy_lists
        self.default_script = RunScript()
        self.agents: dict[str, FakeAgent] = {}
        self.runs: dict[str, FakeRun] = {}
        self.tables: dict[str, JSON] = {}
        # Workspaces made by POST /workspaces (agents' own are theirs), and every file
        # uploaded into one: id -> {workspaceId, filename, mode, content (bytes), kind}.
        self.workspaces: dict[str, JSON] = {}
        self.documents: dict[str, JSON] = {}
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None
        self._closing = asyncio.Event()
        self._scripts: deque[RunScript] = deque()
        self._log: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._idempotency: dict[str, _StoredResponse] = {}
        self._rate_window: deque[float] = deque()
        self._billing: JSON | None = None
        self._revoked = False
        self._time_offset = 0.0
        self._rows: dict[str, list[dict[str, str]]] = {}
        # Tables still filling cells after their run, over ``enrichment_seconds`` of the
        # fake's clock (``advance`` moves them on; ``finish_enrichment`` ends one now).
        self.enrichments = Enrichments(enrichment_seconds)
        # What GET /account and GET /account/credits answer.
        self.organization = {"id": str(uuid.uuid4()), "name": "Fake Org"}
        # Every key the fake accepts, and its organisation (keys are org-wide): agents,
        # runs, Idempotency-Keys and the request window are each organisation's own.
        self.orgs: dict[str, JSON] = {self.api_key: self.organization}
        self._rate_windows: dict[str, deque[float]] = {}
        self.plan = {"id": "pro", "name": "Pro"}
        self.can_use_api = True
        self.credits: float = 5000
        # Scheduled agents (their own module: this one is long); a test fires them.
        from tests.fakes.origami_schedules import FakeSchedules

        self.schedules = FakeSchedules(self)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeOrigami is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeOrigami is not started")
        return self._port

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("already started")
        self._closing = asyncio.Event()
        app = web.Application(middlewares=[self._middleware], client_max_size=4 * 1024**2)
        self._routes(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = int(sock.getsockname()[1])
        self._runner = runner
        self._sock = sock

    async def stop(self) -> None:
        self._closing.set()  # cuts injected delays short
        runner, self._runner = self._runner, None
        sock, self._sock = self._sock, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            if sock is not None:
                sock.close()

    async def __aenter__(self) -> FakeOrigami:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test controls ---------------------------------------------------------------------

    def script(self, *scripts: RunScript) -> None:
        """Queue what the next runs do (FIFO); each run-starting POST takes one."""
        self._scripts.extend(scripts)

    @property
    def queued_scripts(self) -> int:
        return len(self._scripts)

    def finish(self, run_id: str, status: str | None = None) -> None:
        """End a running run now, with its script's status or ``status``."""
        run = self.runs[run_id]
        if run.running:
            self._terminate(run, status or run.script.status)

    def finish_enrichment(self, table_id: str) -> None:
        """The table's background enrichment settles: no running cells left."""
        table = self.tables[table_id]
        self.enrichments.stop(table_id)
        table["cells"]["running"] = 0
        for column in table["columns"]:
            column["cells"]["running"] = 0
        if "stats" in table:
            table["stats"]["running"] = {"runningLeads": 0, "oldestActiveRunStartedAt": None}
        table["updatedAt"] = iso(self._now())

    def add_table(self, table: JSON) -> str:
        """Seed an existing table in the org (for ``focusTableIds`` and table reads)."""
        self.tables[table["id"]] = copy.deepcopy(table)
        self.enrichments.start(self.tables[table["id"]], self._now())
        return str(table["id"])

    def table_rows(self, table_id: str) -> list[dict[str, str]]:
        """The rows the fake serves for a table (keyed by column slug)."""
        if table_id not in self._rows:
            self._rows[table_id] = lead_rows(self.tables[table_id])
        return self._rows[table_id]

    def add_org(self, name: str) -> str:
        """Another organisation; its API key."""
        key = new_api_key()
        self.orgs[key] = {"id": str(uuid.uuid4()), "name": name}
        return key

    def org_of(self, api_key: str) -> str:
        return str(self.orgs[api_key]["id"])

    def revoke_key(self) -> None:
        """The key stops working at once: every request gets 401."""
        self._revoked = True

    def restore_key(self) -> None:
        self._revoked = False

    def billing_error(self, code: BillingCode | None, **overrides: Any) -> None:
        """Run-admitting POSTs answer 402 with the documented body for ``code`` (None: off).

        ``overrides`` are merged into the body's top level (e.g. a ``handoff``).
        """
        self._billing = None if code is None else {**_billing_body(code), **overrides}

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
        retry_after: str | None = None,
        body: JSON | None = None,
    ) -> None:
        """The next ``n`` matching requests answer ``status`` with an error envelope.

        Infrastructure-level: applied before auth and never stored for idempotency. A 429
        gets the RATE_LIMITED body; ``retry_after`` sets the ``Retry-After`` header.
        """
        self._faults.append(
            _Fault(
                "fail", n, path_prefix, method, status=status, retry_after=retry_after, body=body
            )
        )

    def delay_next(
        self,
        n: int,
        seconds: float,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
        after_execute: bool = True,
    ) -> None:
        """Delay the next ``n`` matching responses by ``seconds``.

        ``after_execute=True``: the request is executed (and its answer stored under its
        Idempotency-Key) first, then the answer waits. ``False``: the request waits first,
        still in flight, so a retry with the same key meets 409 IDEMPOTENCY_ERROR.
        """
        self._faults.append(
            _Fault("delay", n, path_prefix, method, seconds=seconds, after_execute=after_execute)
        )

    def drop_next(
        self,
        n: int = 1,
        *,
        path_prefix: str | None = None,
        method: str | None = None,
        after_execute: bool = False,
    ) -> None:
        """Close the connection without an answer for the next ``n`` matching requests.

        ``after_execute=True``: the request is executed (and stored under its key) first and
        only the answer is lost.
        """
        self._faults.append(_Fault("drop", n, path_prefix, method, after_execute=after_execute))

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (idempotency TTL, rate window, run durations)."""
        self._time_offset += seconds

    # -- inspection ------------------------------------------------------------------------

    def requests(
        self, method: str | None = None, path: str | None = None, *, path_prefix: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in self._log
            if (method is None or r.method == method)
            and (path is None or r.path == path)
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]

    def runs_started(self, agent_id: str) -> int:
        return len(self.agents[agent_id].run_ids)

    def runs_of(self, agent_id: str) -> list[FakeRun]:
        return [self.runs[r] for r in self.agents[agent_id].run_ids]

    def active_runs(self) -> list[FakeRun]:
        for run in self.runs.values():
            self._observe(run, poll=False)
        return [r for r in self.runs.values() if r.running]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a bounded poll, not a cancellable wait
        interval: float = 0.01,
    ) -> None:
        """Poll ``predicate`` until it holds; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(interval)

    # -- plumbing --------------------------------------------------------------------------

    def _now(self) -> float:
        return time.time() + self._time_offset

    def _routes(self, app: web.Application) -> None:
        p = API_PREFIX
        app.router.add_post(p + "/agents", self._create_agent)
        app.router.add_get(p + "/agents", self._list_agents)
        app.router.add_get(p + "/agents/{id}", self._get_agent)
        app.router.add_post(p + "/agents/{id}/runs", self._send_run)
        app.router.add_get(p + "/agents/{id}/runs", self._list_runs)
        app.router.add_get(p + "/agents/{id}/runs/{runId}", self._get_run)
        app.router.add_post(p + "/agents/{id}/cancel", self._cancel)
        app.router.add_get(p + "/agents/{id}/tables", self._agent_tables)
        app.router.add_get(p + "/tables/{tableId}", self._get_table)
        app.router.add_get(p + "/tables/{tableId}/rows", self._table_rows)
        app.router.add_post(p + "/workspaces", self._create_workspace)
        app.router.add_post(p + "/workspaces/{id}/documents", self._upload_documents)
        app.router.add_get(p + "/account", self._account)
        app.router.add_get(p + "/account/credits", self._account_credits)
        self.schedules.add_routes(app.router, p)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def _take(
        self, kind: str, method: str, path: str, after_execute: bool | None = None
    ) -> _Fault | None:
        for fault in self._faults:
            if (
                fault.kind == kind
                and fault.matches(method, path)
                and (after_execute is None or fault.after_execute == after_execute)
            ):
                fault.remaining -= 1
                return fault
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)  # never reaches the client

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        path = request.path
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            body=body,
            raw_body=raw,
            time=self._now(),
        )
        self._log.append(record)
        request[_RECORD] = record
        response = await self._serve(request, handler, record)
        if record.fault == "drop":
            record.status = None
            record.response_headers = CIMultiDict()
        elif record.status is None:
            record.status = response.status
            record.response_headers = CIMultiDict(response.headers)
        return response

    async def _serve(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        record: RecordedRequest,
    ) -> web.StreamResponse:
        method, path = record.method, record.path
        if self._take("drop", method, path, after_execute=False):
            record.fault = "drop"
            return self._drop(request)
        fault = self._take("fail", method, path)
        if fault is not None:
            record.fault = "fail"
            return self._injected_failure(fault)
        denied = self._authenticate(request)
        if denied is not None:
            return denied
        limit_headers, limited = self._rate_limit(record.org or "")
        if limited is not None:
            return limited

        key = request.headers.get("Idempotency-Key") if method == "POST" else None
        stored: _StoredResponse | None = None
        if key is not None:
            if not _IDEMPOTENCY_KEY_RE.match(key):
                return _error(
                    400,
                    "VALIDATION_ERROR",
                    "Invalid Idempotency-Key header",
                    details={
                        "issues": [
                            {"path": "Idempotency-Key", "message": "1-255 printable ASCII chars"}
                        ]
                    },
                    headers=limit_headers,
                )
            fingerprint = (method, path, hashlib.sha256(record.raw_body).hexdigest())
            # Origami keeps Idempotency-Keys per organisation.
            key = f"{record.org}:{key}"
            existing = self._idempotency.get(key)
            if existing is not None and self._now() - existing.stored_at > IDEMPOTENCY_TTL_S:
                del self._idempotency[key]
                existing = None
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    return _error(
                        409,
                        "IDEMPOTENCY_ERROR",
                        "Idempotency-Key was already used with a different request",
                        headers=limit_headers,
                    )
                if existing.in_flight:
                    return _error(
                        409,
                        "IDEMPOTENCY_ERROR",
                        "A request with this Idempotency-Key is still in flight",
                        headers=limit_headers,
                    )
                record.replayed = True
                return web.Response(
                    status=existing.status,
                    body=existing.body,
                    headers={**existing.headers, **limit_headers, "Idempotency-Replay": "true"},
                )
            stored = _StoredResponse(fingerprint=fingerprint, stored_at=self._now())
            self._idempotency[key] = stored

        try:
            fault = self._take("delay", method, path, after_execute=False)
            if fault is not None:
                record.fault = "delay"
                await self._pause(fault.seconds)
            response = await handler(request)
        except BaseException:
            if key is not None:
                self._idempotency.pop(key, None)
            raise
        if key is not None and stored is not None:
            if response.status >= 500 or not isinstance(response, web.Response):
                self._idempotency.pop(key, None)
            else:
                stored.in_flight = False
                stored.status = response.status
                stored.body = bytes(response.body) if isinstance(response.body, bytes) else b""
                stored.headers = {
                    k: v
                    for k, v in response.headers.items()
                    if k.lower() in ("content-type", "retry-after")
                }
        response.headers.update(limit_headers)
        record.status = response.status
        record.response_headers = CIMultiDict(response.headers)

        if self._take("drop", method, path, after_execute=True):
            record.fault = "drop"
            return self._drop(request)
        fault = self._take("delay", method, path, after_execute=True)
        if fault is not None:
            record.fault = "delay"
            await self._pause(fault.seconds)
        return response

    def _injected_failure(self, fault: _Fault) -> web.Response:
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        if fault.body is not None:
            return _json_response(fault.status, fault.body, headers)
        if fault.status == 429:
            return _error(429, "RATE_LIMITED", "Rate limit exceeded", headers=headers)
        if fault.status >= 500:
            return _error(fault.status, "INTERNAL_ERROR", "Internal server error", headers=headers)
        return _error(fault.status, "ERROR", "Injected error", headers=headers)

    def _authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "UNAUTHORIZED", "Missing API key")
        known = next((k for k in self.orgs if secrets.compare_digest(token.strip(), k)), None)
        if known is None or (self._revoked and known == self.api_key):
            return _error(401, "UNAUTHORIZED", "Invalid API key")
        request[_RECORD].org = str(self.orgs[known]["id"])
        return None

    def _rate_limit(self, org: str) -> tuple[dict[str, str], web.Response | None]:
        limit = self.rate_limit_per_minute
        if limit is None:
            return {}, None
        # One sliding window per organisation, as Origami's limit is.
        self._rate_window = self._rate_windows.setdefault(org, deque())
        now = self._now()
        while self._rate_window and self._rate_window[0] <= now - 60:
            self._rate_window.popleft()
        reset_at = (self._rate_window[0] + 60) if self._rate_window else now + 60
        if len(self._rate_window) >= limit:
            headers = {
                "X-RateLimit-Limit-Global": str(limit),
                "X-RateLimit-Remaining-Global": "0",
                "X-RateLimit-Reset-Global": str(math.ceil(reset_at)),
                "Retry-After": str(max(1, math.ceil(reset_at - now))),
            }
            return headers, _error(429, "RATE_LIMITED", "Rate limit exceeded", headers=headers)
        self._rate_window.append(now)
        headers = {
            "X-RateLimit-Limit-Global": str(limit),
            "X-RateLimit-Remaining-Global": str(limit - len(self._rate_window)),
            "X-RateLimit-Reset-Global": str(math.ceil(reset_at)),
        }
        return headers, None

    # -- runs ------------------------------------------------------------------------------

    def _next_script(self) -> RunScript:
        return self._scripts.popleft() if self._scripts else copy.deepcopy(self.default_script)

    def _admission(self) -> web.Response | None:
        """402 billing, then 429 concurrency (the per-agent 409 is checked before this)."""
        if self._billing is not None:
            return _json_response(402, self._billing)
        if self.concurrency_limit is not None:
            active = self.active_runs()
            if len(active) >= self.concurrency_limit:
                sessions = [
                    {
                        "agentId": r.agent_id,
                        "name": self.agents[r.agent_id].name,
                        "startedAt": iso(r.started_at),
                    }
                    for r in active
                ]
                return _error(
                    429,
                    "CONCURRENT_LIMIT_EXCEEDED",
                    f"Your plan allows {self.concurrency_limit} concurrent agents; "
                    "all are busy. Retry when one finishes.",
                    headers={"Retry-After": self.concurrency_retry_after},
                    limit=self.concurrency_limit,
                    activeSessions=sessions,
                    canUpgrade=True,
                )
        return None

    def _start_run(self, agent: FakeAgent, body: JSON) -> FakeRun:
        model = body.get("model") or self.default_model
        model = LEGACY_MODELS.get(model, model)
        focus = list(dict.fromkeys(body.get("focusTableIds") or []))
        for attachment in body.get("attachments") or []:
            if attachment.get("kind") == "table" and attachment["tableId"] not in focus:
                focus.append(attachment["tableId"])
        run = FakeRun(
            id=new_run_id(),
            agent_id=agent.id,
            prompt=body["prompt"],
            model=model,
            focus_table_ids=focus,
            script=self._next_script(),
            started_at=self._now(),
            attachments=copy.deepcopy(list(body.get("attachments") or [])),
        )
        self.runs[run.id] = run
        agent.run_ids.append(run.id)
        for table_id in focus:
            if table_id not in agent.focus_table_ids:
                agent.focus_table_ids.append(table_id)
        return run

    def _observe(self, run: FakeRun, *, poll: bool) -> None:
        """Advance a running run: a poll counts, cancels land, scripts and durations end it."""
        if not run.running:
            return
        script = run.script
        if poll:
            if run.cancel_requested:
                self._terminate(run, "cancelled")
                return
            run.polls += 1
        over = script.duration is not None and self._now() - run.started_at >= script.duration
        if poll and script.polls is not None and run.polls > script.polls:
            over = True
        if over and not run.cancel_requested:
            self._terminate(run, script.status)
        elif poll:
            run.steps_completed = min(run.polls, script.steps_max - 1)

    def _terminate(self, run: FakeRun, status: str) -> None:
        script = run.script
        agent = self.agents[run.agent_id]
        run.status = status
        run.completed_at = self._now()
        if status == "step_cap_hit":
            run.steps_completed = script.steps_max
        else:
            run.steps_completed = min(max(run.polls, run.steps_completed + 1), script.steps_max)
        tables = script.tables
        if tables is None:
            tables = (
                [make_table("Seed-stage fintech founders in Berlin", 25, qualified=18)]
                if status == "completed"
                else []
            )
        run.table_ids = []
        created: list[JSON] = []
        for template in tables:
            table = copy.deepcopy(template)
            table["workspaceId"] = agent.workspace_id
            table["url"] = table_url(agent.workspace_id, table["id"])
            table["updatedAt"] = iso(run.completed_at)
            is_new = table["id"] not in self.tables
            self.tables[table["id"]] = table
            self.enrichments.start(table, run.completed_at)
            self._rows.pop(table["id"], None)
            run.table_ids.append(table["id"])
            if is_new:
                created.append(table)
        for table_id in run.focus_table_ids:
            if table_id not in run.table_ids and table_id in self.tables:
                run.table_ids.append(table_id)
        if script.actions is not None:
            run.actions = copy.deepcopy(script.actions)
        else:
            run.actions = []
            for table in created:
                enrich = table["columns"][-2] if len(table["columns"]) >= 2 else None
                run.actions.append(
                    {"type": "table_created", "tableId": table["id"], "tableName": table["name"]}
                )
                if enrich is not None:
                    run.actions.append(
                        {
                            "type": "column_added",
                            "tableId": table["id"],
                            "columnId": enrich["id"],
                            "columnName": enrich["name"],
                        }
                    )
                run.actions.append(
                    {"type": "leads_added", "tableId": table["id"], "leadCount": table["leadCount"]}
                )
        if status in ("errored", "timed_out"):
            run.text = None
        elif not isinstance(script.text, EllipsisType):
            run.text = script.text
        elif status == "completed":
            leads = sum(int(self.tables[t]["leadCount"]) for t in run.table_ids)
            names = ", ".join(str(self.tables[t]["name"]) for t in run.table_ids)
            run.text = (
                f"I found {leads} leads and put them in {names}. Each has a work email "
                "and a fit score."
                if run.table_ids
                else "Done. Nothing in your workspace needed to change."
            )
        else:
            run.text = _DEFAULT_TEXT.get(status, "Done.")
        if script.pending_questions is not None:
            run.pending_questions = copy.deepcopy(script.pending_questions)
        elif status == "needs_input":
            run.pending_questions = [
                single_choice(
                    "Which region should I focus on?", ["DACH", "Nordics", "All of Europe"]
                )
            ]
        if script.next_actions is not None:
            run.next_actions = copy.deepcopy(script.next_actions)
        elif status == "completed" and run.table_ids:
            slug = re.sub(r"[^a-z0-9]+", "-", str(self.tables[run.table_ids[0]]["name"]).lower())
            run.next_actions = [
                next_action("Find 25 more leads like these", "find_more_leads"),
                next_action("Export the table as CSV", "export_csv", slug.strip("-")),
            ]

    def _run_json(self, run: FakeRun, *, stats: bool = False, transcript: bool = False) -> JSON:
        response: JSON | None = None
        if not run.running:
            tables = [self._table(t) for t in run.table_ids if t in self.tables]
            response = {
                "text": run.text,
                "actions": copy.deepcopy(run.actions),
                "tables": [copy.deepcopy(t) if stats else without_stats(t) for t in tables],
                "transcript": None,
                "transcriptTruncated": False,
            }
            if transcript:
                response["transcript"] = self._transcript(run)
                response["transcriptTruncated"] = run.script.transcript_truncated
        return {
            **self._run_summary(run),
            "workspaceId": self.agents[run.agent_id].workspace_id,
            "request": {
                "prompt": run.prompt,
                "model": run.model,
                "focusTableIds": list(run.focus_table_ids),
            },
            "response": response,
            "todo": {
                "pendingQuestions": copy.deepcopy(run.pending_questions),
                "nextActions": copy.deepcopy(run.next_actions),
            },
        }

    def _transcript(self, run: FakeRun) -> list[JSON]:
        """What a UI user with dev mode off sees of the run (API.md 3.3): the prompt, the
        visible tool calls and their results, the answer."""
        if run.script.transcript is not None:
            return copy.deepcopy(run.script.transcript)
        messages: list[JSON] = [{"role": "user", "content": run.prompt}]

        def call(name: str, args: JSON, result: str) -> None:
            call_id = f"call_{len(messages)}"
            messages.append(
                {
                    "role": "assistant",
                    "content": "",
                    "toolCalls": [{"id": call_id, "name": name, "input": args}],
                }
            )
            messages.append({"role": "tool", "toolCallId": call_id, "name": name, "result": result})

        if run.table_ids:
            plan = f"Search for leads matching: {run.prompt}. Then enrich each with a work email."
            call("present-plan", {"plan": plan}, "The plan was shown to the user.")
        if run.pending_questions:
            asked = [q.get("question") for q in run.pending_questions]
            call("ask-questions", {"questions": asked}, "Waiting for the user's answers.")
        if run.text is not None:
            messages.append({"role": "assistant", "content": run.text})
        return messages

    def _run_summary(self, run: FakeRun) -> JSON:
        return {
            "object": "run",
            "id": run.id,
            "agentId": run.agent_id,
            "status": run.status,
            "prompt": truncate_prompt(run.prompt),
            "model": run.model,
            "steps": {"completed": run.steps_completed, "max": run.script.steps_max},
            "startedAt": iso(run.started_at),
            "completedAt": None if run.completed_at is None else iso(run.completed_at),
        }

    def _agent_summary(self, agent: FakeAgent) -> JSON:
        return {
            "object": "agent",
            "id": agent.id,
            "name": agent.name,
            "workspaceId": agent.workspace_id,
            "createdAt": iso(agent.created_at),
        }

    def _agent_json(self, agent: FakeAgent) -> JSON:
        last = self.runs[agent.run_ids[-1]] if agent.run_ids else None
        if last is not None:
            self._observe(last, poll=False)
        return {
            **self._agent_summary(agent),
            "apiKeyOwned": True,
            "lastRun": None if last is None else self._run_summary(last),
        }

    # -- validation ------------------------------------------------------------------------

    def _validate_run_body(self, request: web.Request, *, create: bool) -> list[JSON] | JSON:
        """The body as a dict, or the list of validation issues."""
        record = request[_RECORD]
        body = record.body
        if record.raw_body and body is None:
            return [{"path": "", "message": "Body must be valid JSON"}]
        if not isinstance(body, dict):
            return [{"path": "", "message": "Expected object, received " + type(body).__name__}]
        issues: list[JSON] = []
        prompt = body.get("prompt")
        if "prompt" not in body:
            issues.append({"path": "prompt", "message": "Required"})
        elif not isinstance(prompt, str):
            issues.append({"path": "prompt", "message": "Expected string"})
        elif js_length(prompt) < 1:
            issues.append(
                {"path": "prompt", "message": "String must contain at least 1 character(s)"}
            )
        elif js_length(prompt) > PROMPT_MAX_CHARS:
            issues.append(
                {
                    "path": "prompt",
                    "message": f"String must contain at most {PROMPT_MAX_CHARS} character(s)",
                }
            )
        if create and "name" in body:
            name = body["name"]
            if not isinstance(name, str):
                issues.append({"path": "name", "message": "Expected string"})
            elif js_length(name) > NAME_MAX_CHARS:
                issues.append(
                    {
                        "path": "name",
                        "message": f"String must contain at most {NAME_MAX_CHARS} character(s)",
                    }
                )
        if create and body.get("workspaceId") is not None and not is_uuid(body["workspaceId"]):
            issues.append({"path": "workspaceId", "message": "Invalid uuid"})
        focus = body.get("focusTableIds", [])
        if not isinstance(focus, list):
            issues.append({"path": "focusTableIds", "message": "Expected array"})
        else:
            if len(focus) > 50:
                issues.append(
                    {"path": "focusTableIds", "message": "Array must contain at most 50 element(s)"}
                )
            for i, table_id in enumerate(focus):
                if not is_uuid(table_id):
                    issues.append({"path": f"focusTableIds.{i}", "message": "Invalid uuid"})
        attachments = body.get("attachments", [])
        if not isinstance(attachments, list):
            issues.append({"path": "attachments", "message": "Expected array"})
        else:
            if len(attachments) > 20:
                issues.append(
                    {"path": "attachments", "message": "Array must contain at most 20 element(s)"}
                )
            for i, item in enumerate(attachments):
                ok = isinstance(item, dict) and (
                    (item.get("kind") == "document" and is_uuid(item.get("documentId")))
                    or (item.get("kind") == "table" and is_uuid(item.get("tableId")))
                )
                if not ok:
                    issues.append({"path": f"attachments.{i}", "message": "Invalid attachment"})
        model = body.get("model")
        if model is not None and model not in MODELS and model not in LEGACY_MODELS:
            issues.append({"path": "model", "message": "Expected 'origami-lite' | 'origami-max'"})
        return issues or body

    def _unknown_tables(self, body: JSON) -> web.Response | None:
        ids = list(body.get("focusTableIds") or []) + [
            a["tableId"] for a in body.get("attachments") or [] if a.get("kind") == "table"
        ]
        missing = [t for t in ids if t not in self.tables]
        if missing:
            return _error(400, "UNKNOWN_TABLE", f"Unknown table: {missing[0]}")
        return None

    def _out_of_scope(self, body: JSON, workspace_id: str | None) -> web.Response | None:
        """400 INVALID_ATTACHMENT for a document that is not in the agent's workspace (for
        a new agent, the ``workspaceId`` it is made in), before the run starts."""
        for item in body.get("attachments") or []:
            if item.get("kind") != "document":
                continue
            document = self.documents.get(item["documentId"])
            if document is None or document["workspaceId"] != workspace_id:
                return _error(
                    400, "INVALID_ATTACHMENT", f"Attachment out of scope: {item['documentId']}"
                )
        return None

    def _workspace_known(self, workspace_id: str) -> bool:
        return workspace_id in self.workspaces or any(
            workspace_id in (a.workspace_id, a.id) for a in self.agents.values()
        )

    async def _create_workspace(self, request: web.Request) -> web.Response:
        body = request[_RECORD].body
        body = body if isinstance(body, dict) else {}
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or js_length(name) > NAME_MAX_CHARS):
            return _validation_error([{"path": "name", "message": "Invalid name"}])
        workspace_id = str(uuid.uuid4())
        workspace = {
            "object": "workspace",
            "id": workspace_id,
            "name": name or "Untitled",
            "createdByApi": True,
            "url": f"{APP_ORIGIN}/workspace/{workspace_id}",
            "createdAt": iso(self._now()),
        }
        self.workspaces[workspace_id] = workspace
        return _json_response(201, workspace)

    def _upload_issues(self, files: Any) -> web.Response | None:
        """Preflight, all or nothing, as Origami does: the count cap, then each file's
        shape, mode and append target."""
        if not isinstance(files, list) or not files:
            return _validation_error([{"path": "files", "message": "Expected non-empty array"}])
        if len(files) > UPLOAD_MAX_FILES:
            return _error(413, "TOO_MANY_FILES", f"At most {UPLOAD_MAX_FILES} files a request")
        for i, item in enumerate(files):
            if not isinstance(item, dict):
                return _validation_error([{"path": f"files.{i}", "message": "Expected object"}])
            name, content = item.get("filename"), item.get("content")
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                return _validation_error([{"path": f"files.{i}.filename", "message": "1-255"}])
            if not isinstance(content, str):
                return _validation_error([{"path": f"files.{i}.content", "message": "Required"}])
            mode = item.get("mode")
            as_csv = mode in ("table", "append")
            if mode is not None and (mode not in UPLOAD_MODES or (as_csv and not _is_csv(name))):
                return _error(400, "INVALID_UPLOAD_MODE", f"Mode {mode!r} not allowed for {name}")
            if mode == "append" and item.get("tableId") not in self.tables:
                return _error(404, "TABLE_NOT_FOUND", "Append target not found")
        return None

    def _ingest(self, workspace_id: str, item: JSON) -> JSON:
        name = str(item["filename"])
        try:
            content = base64.b64decode(item["content"], validate=True)
        except ValueError:
            return {"kind": "error", "filename": name, "error": "Content is not base64"}
        if len(content) > UPLOAD_MAX_FILE_BYTES:
            return {"kind": "error", "filename": name, "error": "File too large"}
        mode = item.get("mode") or ("table" if name.lower().endswith(".csv") else "document")
        document_id = str(uuid.uuid4())
        document: JSON = {
            "workspaceId": workspace_id,
            "filename": name,
            "mode": mode,
            "content": content,
            "kind": mode,
        }
        self.documents[document_id] = document
        if mode == "table":
            rows = max(0, len(content.decode("utf-8", "replace").strip().splitlines()) - 1)
            table = make_table(name.rsplit(".", 1)[0], rows, workspace_id=workspace_id)
            self.tables[table["id"]] = table
            document["tableId"] = table["id"]
            return {"kind": "table", "tableId": table["id"], "filename": name, "rows": rows}
        return {
            "kind": "document",
            "object": "document",
            "id": document_id,
            "documentId": document_id,
            "filename": name,
            "vfsPath": f"/{name}",
            "status": "ready",
        }

    async def _upload_documents(self, request: web.Request) -> web.Response:
        workspace_id = request.match_info["id"]
        if not self._workspace_known(workspace_id):
            return _error(404, "WORKSPACE_NOT_FOUND", "Workspace not found")
        body = request[_RECORD].body
        files = body.get("files") if isinstance(body, dict) else None
        refused = self._upload_issues(files)
        if refused is not None:
            return refused
        assert isinstance(files, list)
        results = [self._ingest(workspace_id, item) for item in files]
        if all(r["kind"] == "error" for r in results):
            return _error(422, "UPLOAD_FAILED", "Every file failed", details={"results": results})
        return _json_response(201, {"results": results})

    def uploads(self) -> list[JSON]:
        """Every file that landed, in order (``content`` as bytes)."""
        return [dict(d, id=i) for i, d in self.documents.items()]

    # -- handlers --------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(404, "NOT_FOUND", "Not found")

    def _owns(self, agent: FakeAgent, request: web.Request) -> bool:
        # An agent a test seeded without an organisation is the first organisation's.
        return (agent.org_id or str(self.organization["id"])) == request[_RECORD].org

    def _agent_or_404(self, request: web.Request) -> FakeAgent | web.Response:
        agent = self.agents.get(request.match_info["id"])
        if agent is None or not self._owns(agent, request):
            return _error(404, "AGENT_NOT_FOUND", "Agent not found")
        return agent

    async def _create_agent(self, request: web.Request) -> web.Response:
        body = self._validate_run_body(request, create=True)
        if isinstance(body, list):
            return _validation_error(body)
        unknown = self._unknown_tables(body)
        if unknown is not None:
            return unknown
        out_of_scope = self._out_of_scope(body, body.get("workspaceId"))
        if out_of_scope is not None:
            return out_of_scope
        refused = self._admission()
        if refused is not None:
            return refused
        prompt: str = body["prompt"]
        name = body.get("name") or " ".join(prompt.split()[:6])[:NAME_MAX_CHARS] or "New agent"
        now = self._now()
        workspace_id = body.get("workspaceId") or str(uuid.uuid4())
        agent = FakeAgent(
            id=str(uuid.uuid4()),
            name=name,
            workspace_id=workspace_id,
            created_at=now,
            org_id=request[_RECORD].org or "",
        )
        self.agents[agent.id] = agent
        run = self._start_run(agent, body)
        return _json_response(
            202,
            {
                "agent": self._agent_summary(agent),
                "run": self._run_json(run),
                "workspace": {
                    "object": "workspace",
                    "id": workspace_id,
                    "name": name,
                    "createdAt": iso(now),
                    "createdByApi": True,
                },
            },
        )

    async def _send_run(self, request: web.Request) -> web.Response:
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        body = self._validate_run_body(request, create=False)
        if isinstance(body, list):
            return _validation_error(body)
        unknown = self._unknown_tables(body)
        if unknown is not None:
            return unknown
        if agent.run_ids:
            current = self.runs[agent.run_ids[-1]]
            self._observe(current, poll=False)
            if current.running:
                return _error(
                    409,
                    "AGENT_BUSY",
                    "A run is already in progress on this agent",
                    currentRun={"id": current.id, "startedAt": iso(current.started_at)},
                )
        out_of_scope = self._out_of_scope(body, agent.workspace_id)
        if out_of_scope is not None:
            return out_of_scope
        refused = self._admission()
        if refused is not None:
            return refused
        run = self._start_run(agent, body)
        return _json_response(202, {"run": self._run_json(run)})

    async def _get_run(self, request: web.Request) -> web.Response:
        run_id = request.match_info["runId"]
        run = self.runs.get(run_id) if _RUN_ID_RE.match(run_id) else None
        if (
            run is None
            or run.agent_id != request.match_info["id"]
            or not self._owns(self.agents[run.agent_id], request)
        ):
            return _error(404, "RUN_NOT_FOUND", "Run not found")
        self._observe(run, poll=True)
        include = {t.strip() for t in request.query.get("include", "").split(",")}
        data = self._run_json(run, stats="stats" in include, transcript="transcript" in include)
        headers = {"Retry-After": self.retry_after} if run.running else None
        return _json_response(200, data, headers)

    async def _cancel(self, request: web.Request) -> web.Response:
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        if not agent.run_ids:
            return _json_response(200, {"run": None})
        run = self.runs[agent.run_ids[-1]]
        self._observe(run, poll=False)
        if run.running:
            run.cancel_requested = True
        return _json_response(200, {"run": self._run_json(run)})

    async def _get_agent(self, request: web.Request) -> web.Response:
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        return _json_response(200, self._agent_json(agent))

    def _page(
        self, request: web.Request, items: list[JSON], max_limit: int = 100
    ) -> web.Response | tuple[list[JSON], str | None, int]:
        try:
            limit = int(request.query.get("limit", "50"))
            offset = int(request.query.get("cursor", "0"))
        except ValueError:
            return _validation_error([{"path": "limit", "message": "Expected number"}])
        if not 1 <= limit <= max_limit or offset < 0:
            return _validation_error(
                [{"path": "limit", "message": f"Number must be between 1 and {max_limit}"}]
            )
        page = items[offset : offset + limit]
        next_cursor = str(offset + limit) if offset + limit < len(items) else None
        return page, next_cursor, len(items)

    def _list_body(
        self,
        request: web.Request,
        page: list[JSON],
        next_cursor: str | None,
        total: int,
        legacy_key: str,
    ) -> JSON:
        if self.legacy_lists:
            limit = int(request.query.get("limit", "50"))
            return {
                legacy_key: page,
                "pagination": {
                    "page": int(request.query.get("cursor", "0")) // limit,
                    "pageSize": limit,
                    "total": total,
                    "hasMore": next_cursor is not None,
                },
            }
        return {"object": "list", "items": page, "nextCursor": next_cursor, "url": request.path}

    async def _list_agents(self, request: web.Request) -> web.Response:
        agents = sorted(self.agents.values(), key=lambda a: a.created_at, reverse=True)
        search = request.query.get("search", "").lower()
        items = [self._agent_json(a) for a in agents if search in a.name.lower()]
        paged = self._page(request, items)
        if isinstance(paged, web.Response):
            return paged
        return _json_response(200, self._list_body(request, *paged, legacy_key="agents"))

    async def _list_runs(self, request: web.Request) -> web.Response:
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        runs = [self.runs[r] for r in reversed(agent.run_ids)]
        for run in runs:
            self._observe(run, poll=False)
        paged = self._page(request, [self._run_summary(r) for r in runs])
        if isinstance(paged, web.Response):
            return paged
        return _json_response(200, self._list_body(request, *paged, legacy_key="runs"))

    async def _agent_tables(self, request: web.Request) -> web.Response:
        agent = self._agent_or_404(request)
        if isinstance(agent, web.Response):
            return agent
        ids: list[str] = []
        for run_id in agent.run_ids:
            for table_id in self.runs[run_id].table_ids:
                if table_id not in ids:
                    ids.append(table_id)
        for table_id in agent.focus_table_ids:
            if table_id not in ids:
                ids.append(table_id)
        stats = "stats" in {t.strip() for t in request.query.get("include", "").split(",")}
        items = [
            copy.deepcopy(self.tables[t]) if stats else without_stats(self.tables[t])
            for t in ids
            if t in self.tables
        ]
        if self.legacy_lists:
            return _json_response(200, {"workspaceId": agent.workspace_id, "tables": items})
        return _json_response(
            200,
            {
                "object": "list",
                "items": items,
                "nextCursor": None,
                "url": request.path,
                "workspaceId": agent.workspace_id,
            },
        )

    def _table(self, table_id: str) -> JSON:
        """A stored table as it is now (its enrichment moved on to the fake's clock)."""
        table = self.tables[table_id]
        self.enrichments.advance(table, self._now(), iso(self._now()))
        return table

    async def _get_table(self, request: web.Request) -> web.Response:
        table_id = request.match_info["tableId"]
        table = self._table(table_id) if table_id in self.tables else None
        if table is None:
            return _error(404, "TABLE_NOT_FOUND", "Table not found")
        stats = "stats" in {t.strip() for t in request.query.get("include", "").split(",")}
        return _json_response(200, copy.deepcopy(table) if stats else without_stats(table))

    async def _table_rows(self, request: web.Request) -> web.Response:
        table_id = request.match_info["tableId"]
        table = self._table(table_id) if table_id in self.tables else None
        if table is None:
            return _error(404, "TABLE_NOT_FOUND", "Table not found")
        rows = self.enrichments.rows(table, list(self.table_rows(table_id)))
        paged = self._page(request, rows, max_limit=200)
        if isinstance(paged, web.Response):
            return paged
        page, next_cursor, total = paged
        fmt = request.query.get("format")
        if fmt == "csv":
            return web.Response(
                status=200, text=rows_csv(table, page), content_type="text/csv", charset="utf-8"
            )
        if fmt is not None:
            return _validation_error([{"path": "format", "message": "Expected 'csv'"}])
        if request.query.get("cells") == "flat":
            items = [dict(row) for row in page]
        else:
            items = [
                {
                    "object": "row",
                    "id": row["id"],
                    "cells": {
                        c["slug"]: {
                            "type": "scalar" if c["kind"] == "input" else "value",
                            "value": row.get(c["slug"]),
                        }
                        for c in table["columns"]
                    },
                }
                for row in page
            ]
        return _json_response(
            200,
            {
                "object": "list",
                "items": items,
                "nextCursor": next_cursor,
                "url": request.path,
                "total": total,
            },
        )

    async def _account(self, request: web.Request) -> web.Response:
        # The plan's slots are the fake's concurrency limit (None: unlimited, as the API's
        # null says).
        return _json_response(
            200,
            {
                "object": "account",
                "organization": dict(
                    next(o for o in self.orgs.values() if o["id"] == request[_RECORD].org)
                ),
                "plan": dict(self.plan),
                "capabilities": {
                    "canUseApi": self.can_use_api,
                    "canRunScheduledTasks": self.can_use_api and self.schedules.can_run_scheduled,
                    "concurrentAgents": self.concurrency_limit,
                },
                "workspaces": {"used": len(self.agents), "limit": None},
            },
        )

    async def _account_credits(self, request: web.Request) -> web.Response:
        return _json_response(
            200, {"object": "credits", "balance": self.credits, "currency": "credits"}
        )


# -- standalone ----------------------------------------------------------------------------


async def _serve_forever(args: argparse.Namespace) -> None:
    fake = FakeOrigami(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        retry_after=args.retry_after,
        concurrency_limit=args.concurrency,
        rate_limit_per_minute=args.rate_limit,
    )
    fake.default_script = RunScript(polls=args.polls, duration=args.duration)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with fake:
        print(json.dumps({"url": fake.url, "api_key": fake.api_key}), flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Origami v2 API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="default: a random og_live_ key")
    parser.add_argument("--retry-after", default="1", help="Retry-After while running")
    parser.add_argument("--polls", type=int, default=3, help="running polls before done")
    parser.add_argument("--duration", type=float, default=None, help="or: seconds until done")
    parser.add_argument("--concurrency", type=int, default=None, help="org slots")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests per minute")
    asyncio.run(_serve_forever(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
