"""Run every benchmark: ``.venv/bin/python -m bench [--quick]``.

Prints one line per figure (``name: value unit (target ...) PASS/MISS``) as it is
measured, then a Markdown table of them all with the machine they were measured on.
``--quick`` is a smaller run (under 2 minutes on 2 cores); the default is the full one.

Needs a Redis on loopback (default ``redis://127.0.0.1:6379/12``, a database of its own:
it is flushed before every step). Everything the bench talks to is on 127.0.0.1: the app,
a bare Bolt app, and the test fakes of Slack and Origami, each in a process of its own.

The app runs in one of two layouts (``--layout``, default both): ``split`` is ``python -m
bot web`` with a ``python -m bot worker`` beside it, ``all`` is ``python -m bot``, both
halves in one process. Every step measures the split; with both, the ack step is measured
for the all-in-one too and so is the largest K of the watcher step, their figures' names
ending with ``[all-in-one]``. ``--app-dir DIR`` runs only the ack step, against
``python -m bot`` from a checkout of an older commit (its figures named as the split's,
for comparison: before the two commands, ``python -m bot`` was a Slack process with one
worker process beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import platform
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import httpx

from bench import ack, capacity, procs, roundtrips, tenants
from bench.common import LAYOUTS, Figure, flush

FIGURES = ("ack", "capacity", "roundtrips", "tenants")
# What a run without ``--only`` measures: the many-workspace step (``tenants``, about 3
# minutes more, and a PostgreSQL on 127.0.0.1:5432) is asked for by name.
DEFAULT = ("ack", "capacity", "roundtrips")


def _machine() -> dict[str, str]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = "?"
    return {
        "nproc": nproc,
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _table(figures: list[Figure], command: str, wall_s: float) -> str:
    m = _machine()
    lines = [
        f"Measured on {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, {m['date']}, "
        f"with `{command}` ({wall_s:.0f} s).",
        "",
        "| figure | value | target | |",
        "|---|---|---|---|",
    ]
    for f in figures:
        verdict = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        value = f"{f.value} {f.unit}".strip().replace("|", "/")
        lines.append(f"| {f.name} | {value} | {f.target} | {verdict} |")
    return "\n".join(lines)


async def _main(args: argparse.Namespace, command: str) -> int:
    host = urlparse(args.redis_url).hostname
    if host not in ("127.0.0.1", "localhost"):
        print("the bench only talks to loopback: give a redis://127.0.0.1 URL", file=sys.stderr)
        return 2
    only = set(args.only.split(",")) if args.only else set(DEFAULT)
    layouts = list(LAYOUTS) if args.layout == "both" else [args.layout]
    suffix: str | None = None
    if args.app_dir:
        if only != {"ack"}:
            print(
                "--app-dir measures an older checkout's python -m bot over HTTP alone: "
                "give --only ack (the other steps use this checkout's stores)",
                file=sys.stderr,
            )
            return 2
        procs.set_app_root(args.app_dir)
        layouts, suffix = ["all"], ""
        print(f"(the app's code: python -m bot in {procs.app_root()})")
    figures: list[Figure] = []
    started = time.monotonic()
    await flush(args.redis_url)
    async with httpx.AsyncClient(timeout=30) as http:
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        nice = args.worker_nice
        if "ack" in only:
            config_ack = ack.QUICK if args.quick else ack.FULL
            for layout in layouts:
                profile = args.profile / f"{layout}-ack.txt" if args.profile else None
                await ack.run(
                    config_ack, args.redis_url, http, figures, profile, layout, suffix, nice
                )
        if "capacity" in only:
            config = capacity.QUICK if args.quick else capacity.FULL
            if args.ks:
                ks = tuple(int(k) for k in args.ks.split(",") if k)
                config = dataclasses.replace(config, ks=ks)
            if args.steady is not None:
                config = dataclasses.replace(config, steady_k=args.steady)
            first, *others = layouts
            await capacity.run(config, args.redis_url, http, figures, args.profile, first, nice)
            # The other layout: its largest K only, no steady state.
            rest = dataclasses.replace(config, ks=(max(config.ks),), steady_k=0)
            for layout in others:
                await capacity.run(rest, args.redis_url, http, figures, args.profile, layout, nice)
        if "roundtrips" in only:
            config_rt = roundtrips.QUICK if args.quick else roundtrips.FULL
            await roundtrips.run(config_rt, args.redis_url, http, figures, layouts[0])
        if "tenants" in only:
            config_t = tenants.QUICK if args.quick else tenants.FULL
            await tenants.run(config_t, args.redis_url, http, figures)
    await flush(args.redis_url)
    wall = time.monotonic() - started
    print(f"\n(logs of every process started: {procs.log_dir()})")
    print()
    print(_table(figures, command, wall))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, about 2 minutes")
    parser.add_argument(
        "--only",
        help=f"comma-separated subset of {','.join(FIGURES)} (default: {','.join(DEFAULT)})",
    )
    parser.add_argument("--ks", help="watcher capacity: comma-separated K values to try")
    parser.add_argument(
        "--steady",
        type=int,
        help="runs in flight for the steady-state delivery step (0: skip it); "
        "default 1000, 250 with --quick",
    )
    parser.add_argument(
        "--layout",
        choices=[*LAYOUTS, "both"],
        default="both",
        help="split: python -m bot web + python -m bot worker; all: python -m bot; "
        "both (default): every step on the split, the ack step and the largest K on both",
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        help="only with --only ack: measure python -m bot from this checkout (an older commit)",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="niceness of the worker process in the split layout (default 0)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--profile",
        type=Path,
        help="attach py-spy to the app (ack and watcher runs); collapsed stacks go here",
    )
    args = parser.parse_args(argv)
    command = shlex.join([".venv/bin/python", "-m", "bench", *(argv or sys.argv[1:])])
    sys.exit(asyncio.run(_main(args, command)))


if __name__ == "__main__":
    main()
