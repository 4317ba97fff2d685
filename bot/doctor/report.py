"""The doctor's report: aligned lines for a person, or one JSON document for a script."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import replace

from bot.doctor.verdicts import Check, Status
from bot.logs import REDACTED

MARKS = {Status.PASS: "✓", Status.WARN: "!", Status.FAIL: "✗"}
# For a terminal that cannot print the marks above.
ASCII_MARKS = {Status.PASS: "+", Status.WARN: "!", Status.FAIL: "x"}
WIDTH = 100


def redacted(checks: Iterable[Check], secrets: Iterable[str]) -> list[Check]:
    """The checks with every secret value blanked out of their texts: an error message
    that quotes a URL or a token never prints it."""
    values = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(text: str) -> str:
        for value in values:
            text = text.replace(value, REDACTED)
        return text

    return [replace(c, detail=clean(c.detail), fix=clean(c.fix)) for c in checks]


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing fails (warnings allowed), 1 otherwise."""
    return 1 if any(c.status is Status.FAIL for c in checks) else 0


def _counts(checks: Sequence[Check]) -> dict[str, int]:
    return {status.value: sum(c.status is status for c in checks) for status in Status}


def summary(checks: Sequence[Check]) -> str:
    counts = _counts(checks)
    line = ", ".join(
        f"{counts[s.value]} {s.value}" for s in (Status.FAIL, Status.WARN, Status.PASS)
    )
    if counts[Status.FAIL.value]:
        return f"{line}: fix what fails, then run `python -m bot doctor` again."
    return f"{line}."


def render_text(checks: Sequence[Check], *, ascii_only: bool = False) -> str:
    marks = ASCII_MARKS if ascii_only else MARKS
    width = max((len(c.name) for c in checks), default=0)
    indent = " " * (len("✓ PASS  ") + width + 2)
    lines: list[str] = []
    for c in checks:
        head = f"{marks[c.status]} {c.status.name:<4}  {c.name:<{width}}  "
        lines += _wrapped(c.detail, head, indent)
        if c.fix and c.status is not Status.PASS:
            lines += _wrapped(c.fix, indent + "fix: ", indent + "     ")
    return "\n".join([*lines, "", summary(checks)])


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def render_json(checks: Sequence[Check]) -> str:
    document = {
        "ok": exit_code(checks) == 0,
        "counts": _counts(checks),
        "checks": [
            {
                "name": c.name,
                "status": c.status.value,
                "detail": c.detail,
                "fix": c.fix or None,
            }
            for c in checks
        ],
    }
    return json.dumps(document, indent=2)
