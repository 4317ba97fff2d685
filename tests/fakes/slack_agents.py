"""Slack's agent platform in the fake Slack: agent sessions, the thread status and the
Messages tab's suggested prompts, with Slack's limits and errors.

``FakeSlack`` serves these methods through ``AgentPlatform.methods``; what they did is
kept here for tests to read (``sessions``, ``status``, ``suggested``). Like Slack:

- ``agents.sessions.setStatus``: only for an app declared as an agent (the manifest's
  ``features.agent_view``; else ``not_allowed``), with ``chat:write``; status one of
  ``active | processing | suspended | closed``; ``title`` at most 200 characters and,
  with ``initiator_user_id``, taken only when the call creates the session; answers with
  the warning ``missing_agent_session_stopped_event_subscription`` when the app does not
  subscribe to ``agent_session_stopped``;
- ``assistant.threads.setStatus``: ``chat:write``; ``channel_id``, ``thread_ts`` of a
  thread that exists, ``status``; at most 10 ``loading_messages``. A status is cleared
  by the app's next message in the thread, an empty status, or 2 minutes;
- ``assistant.threads.setSuggestedPrompts``: ``assistant:write``; 1 to 4 prompts, each
  with a ``title`` and a ``message``. Under agent_view a call with ``thread_ts`` is
  accepted and does nothing (Slack's silent failure), and is listed in ``ignored``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs installed; only tests use it

from tests.fakes.payloads import new_ts

JSON = dict[str, Any]
MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yml"

SESSION_STATUSES = ("active", "processing", "suspended", "closed")
MAX_SESSION_TITLE = 200
MAX_LOADING_MESSAGES = 10
MAX_SUGGESTED_PROMPTS = 4
STATUS_EXPIRY_S = 120.0
STOPPED_EVENT = "agent_session_stopped"


@dataclass
class Session:
    """An agent session: its current status, and every status it was set to, in order."""

    status: str
    title: str | None
    initiator: str | None
    history: list[str] = field(default_factory=list)


@dataclass
class Status:
    status: str
    loading_messages: list[str]
    set_ts: str  # when it was set, as a message ts: a later app message clears it
    set_at: float  # monotonic seconds: it lasts 2 minutes


def _err(error: str, **extra: Any) -> JSON:
    return {"ok": False, "error": error, **extra}


def _invalid(messages: Sequence[str]) -> JSON:
    return _err(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {m}" for m in messages]},
    )


def _thread_args(args: JSON) -> tuple[Any, Any, Any]:
    return args.get("channel_id"), args.get("thread_ts"), args.get("status")


def _missing(args: JSON, names: Sequence[str]) -> list[str]:
    return [
        f"missing required field: {name}"
        for name in names
        if not isinstance(args.get(name), str) or not args[name]
    ]


def manifest_agent_facts() -> tuple[bool, list[str]]:
    """Whether the manifest declares the app an agent, and the bot events it subscribes."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    declared = "agent_view" in (manifest.get("features") or {})
    events = (manifest.get("settings") or {}).get("event_subscriptions", {}).get("bot_events")
    return declared, [str(e) for e in events or []]


class AgentPlatform:
    def __init__(
        self,
        scopes: Callable[[], Sequence[str]],
        thread_messages: Callable[[str, str], list[JSON]],
        bot_id: str,
    ) -> None:
        self._scopes = scopes
        self._thread_messages = thread_messages
        self._bot_id = bot_id
        self.declared, self.bot_events = manifest_agent_facts()
        self.sessions: dict[tuple[str, str], Session] = {}
        self._status: dict[tuple[str, str], Status] = {}
        self.suggested: dict[str, JSON] = {}
        self.ignored: list[JSON] = []

    def methods(self) -> dict[str, Callable[[JSON], JSON]]:
        return {
            "agents.sessions.setStatus": self._session_status,
            "assistant.threads.setStatus": self._thread_status,
            "assistant.threads.setSuggestedPrompts": self._suggested_prompts,
        }

    # -- reading what happened -------------------------------------------------------------

    def session(self, channel: str, thread_ts: str) -> Session | None:
        return self.sessions.get((channel, thread_ts))

    def status(self, channel: str, thread_ts: str) -> Status | None:
        """The status a person would see in the thread now (None once cleared)."""
        status = self._status.get((channel, thread_ts))
        if status is None or not status.status:
            return None
        if time.monotonic() - status.set_at > STATUS_EXPIRY_S:
            return None
        since = Decimal(status.set_ts)
        for message in self._thread_messages(channel, thread_ts):
            if message.get("bot_id") == self._bot_id and Decimal(message["ts"]) > since:
                return None
        return status

    # -- methods ---------------------------------------------------------------------------

    def _scope_error(self, scope: str) -> JSON | None:
        granted = list(self._scopes())
        if scope in granted:
            return None
        return _err("missing_scope", needed=scope, provided=",".join(granted))

    def _session_status(self, args: JSON) -> JSON:
        if not self.declared:
            return _err("not_allowed")
        denied = self._scope_error("chat:write")
        if denied is not None:
            return denied
        channel, thread_ts, status = _thread_args(args)
        problems = _missing(args, ("channel_id",))
        if status not in SESSION_STATUSES:
            problems.append(f"must be one of {', '.join(SESSION_STATUSES)} [json-pointer:/status]")
        title = args.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > MAX_SESSION_TITLE):
            problems.append(f"must be at most {MAX_SESSION_TITLE} characters [json-pointer:/title]")
        if problems:
            return _invalid(problems)
        key = (str(channel), str(thread_ts or ""))
        session = self.sessions.get(key)
        if session is None:
            # Title and initiator are taken only here, when the call creates the session.
            session = Session(str(status), title, args.get("initiator_user_id"))
            self.sessions[key] = session
        session.status = str(status)
        session.history.append(str(status))
        answer: JSON = {"ok": True}
        if STOPPED_EVENT not in self.bot_events:
            answer["warning"] = "missing_agent_session_stopped_event_subscription"
        return answer

    def _thread_status(self, args: JSON) -> JSON:
        denied = self._scope_error("chat:write")
        if denied is not None:
            return denied
        channel, thread_ts, status = _thread_args(args)
        problems = _missing(args, ("channel_id", "thread_ts"))
        if not isinstance(status, str):
            problems.append("missing required field: status")
        loading = args.get("loading_messages")
        if loading is not None and (
            not isinstance(loading, list)
            or len(loading) > MAX_LOADING_MESSAGES
            or not all(isinstance(m, str) and m for m in loading)
        ):
            problems.append(
                f"must be at most {MAX_LOADING_MESSAGES} strings [json-pointer:/loading_messages]"
            )
        if problems:
            return _invalid(problems)
        if not any(
            m["ts"] == thread_ts for m in self._thread_messages(str(channel), str(thread_ts))
        ):
            return _err("invalid_thread_ts")
        self._status[(str(channel), str(thread_ts))] = Status(
            str(status), list(loading or []), new_ts(), time.monotonic()
        )
        return {"ok": True}

    def _suggested_prompts(self, args: JSON) -> JSON:
        denied = self._scope_error("assistant:write")
        if denied is not None:
            return denied
        channel, prompts = args.get("channel_id"), args.get("prompts")
        problems = _missing(args, ("channel_id",))
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS:
            problems.append(f"must have 1 to {MAX_SUGGESTED_PROMPTS} items [json-pointer:/prompts]")
        else:
            for i, prompt in enumerate(prompts):
                if not (
                    isinstance(prompt, Mapping)
                    and isinstance(prompt.get("title"), str)
                    and prompt["title"]
                    and isinstance(prompt.get("message"), str)
                    and prompt["message"]
                ):
                    problems.append(f"needs a title and a message [json-pointer:/prompts/{i}]")
        if problems:
            return _invalid(problems)
        if self.declared and args.get("thread_ts"):
            self.ignored.append(dict(args))  # agent_view: accepted, and silently nothing
            return {"ok": True}
        self.suggested[str(channel)] = {"title": args.get("title"), "prompts": prompts}
        return {"ok": True}
