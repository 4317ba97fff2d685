"""``python -m bot doctor``: checks a deployment with the app's own settings, one line per
check (pass, warn or fail, and the fix when it does not pass), then exits: 0 when nothing
fails, 1 when something does (a settings error exits 2 before, as the app does).

The areas run side by side, each within ``AREA_TIMEOUT_S``: an area that takes longer, or
that breaks in a way its checks did not foresee, is one failing line that says what to
check, never a traceback. No secret is printed: every secret value of the settings is
blanked out of the report.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.doctor.checks import check_origami, check_redis, check_slack
from bot.doctor.report import exit_code, redacted, render_json, render_text
from bot.doctor.verdicts import Check, Status, reason

AREA_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    run: Callable[[Settings], Awaitable[list[Check]]]
    # What to look at when the area does not answer at all.
    what_to_check: str


AREAS = (
    Area("Slack", check_slack, "SLACK_API_URL and that this host can reach Slack"),
    Area("Origami", check_origami, "ORIGAMI_API_URL and that this host can reach Origami"),
    Area("Redis", check_redis, "REDIS_URL and that this host can reach that Redis"),
    # Many workspaces: the Slack area checks the installations' database (DATABASE_URL)
    # instead of one token, and the Origami area says each workspace connects its own key.
)


async def diagnose(settings: Settings) -> list[Check]:
    """Every check, in the report's order."""
    found = await asyncio.gather(*(_run(area, settings) for area in AREAS))
    return redacted((c for checks in found for c in checks), settings.secrets())


async def _run(area: Area, settings: Settings) -> list[Check]:
    try:
        async with asyncio.timeout(AREA_TIMEOUT_S):
            return await area.run(settings)
    except TimeoutError:
        detail = f"no answer within {AREA_TIMEOUT_S:g} s"
    except Exception as exc:  # the report says what broke; a traceback would say less
        detail = f"the check could not run ({reason(exc)})"
    return [Check(area.name, Status.FAIL, detail, fix=f"check {area.what_to_check}")]


def run_doctor(settings: Settings, *, as_json: bool = False) -> int:
    """Run every check, print the report on stdout; the exit code."""
    checks = asyncio.run(diagnose(settings))
    if as_json:
        print(render_json(checks))
    else:
        print(render_text(checks, ascii_only=not _prints_marks()))
    return exit_code(checks)


def _prints_marks() -> bool:
    """Whether stdout can print ✓ and ✗; if not, what it cannot print becomes ``?``."""
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")
    try:
        "✓✗→…".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
