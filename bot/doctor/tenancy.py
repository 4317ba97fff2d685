"""The doctor's verdicts on a many-workspaces deployment (no one token or key to test)."""

from __future__ import annotations

from bot.doctor.verdicts import Check, Status


def database_ok(installed: int) -> Check:
    return Check(
        "Installations",
        Status.PASS,
        f"DATABASE_URL answers: {installed:,} workspace(s) installed through Add to Slack",
    )


def database_failed(exc: BaseException) -> Check:
    return Check(
        "Installations",
        Status.FAIL,
        f"DATABASE_URL cannot be read ({type(exc).__name__})",
        fix="check DATABASE_URL, and that the app has started once with it (it creates "
        "its tables on start)",
    )


def origami_per_workspace(per_minute: int) -> Check:
    return Check(
        "Origami",
        Status.PASS,
        "many workspaces: each connects its own Origami key in the app's Home tab "
        "(checked with GET /account before it is saved); each Origami organisation's keys "
        f"get ORIGAMI_REQUESTS_PER_MINUTE ({per_minute}) requests a minute of their own",
    )
