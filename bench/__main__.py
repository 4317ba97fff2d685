"""Run every benchmark: ``.venv/bin/python -m bench [--quick]``.

Prints one line per figure (``name: value unit (target ...) PASS/MISS``) as it is
measured, then a Markdown table of them all with the machine they were measured on.
``--quick`` is a smaller run (under 2 minutes on 2 cores); the default is the full one.

Needs a Redis on loopback (default ``redis://127.0.0.1:6379/12``, a database of its own:
it is flushed before every step). Everything the bench talks to is on 127.0.0.1: the app
(``python -m bot``), a bare Bolt app, and the test fakes of Slack and Origami, each in a
process of its own.
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

from bench import ack, capacity, procs, roundtrips
from bench.common import Figure, flush

FIGURES = ("ack", "capacity", "roundtrips")


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
    only = set(args.only.split(",")) if args.only else set(FIGURES)
    figures: list[Figure] = []
    started = time.monotonic()
    await flush(args.redis_url)
    async with httpx.AsyncClient(timeout=30) as http:
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        if "ack" in only:
            config_ack = ack.QUICK if args.quick else ack.FULL
            profile = args.profile / "app-ack.txt" if args.profile else None
            await ack.run(config_ack, args.redis_url, http, figures, profile)
        if "capacity" in only:
            config = capacity.QUICK if args.quick else capacity.FULL
            if args.ks:
                ks = tuple(int(k) for k in args.ks.split(",") if k)
                config = dataclasses.replace(config, ks=ks)
            if args.steady is not None:
                config = dataclasses.replace(config, steady_k=args.steady)
            await capacity.run(config, args.redis_url, http, figures, profile_dir=args.profile)
        if "roundtrips" in only:
            config_rt = roundtrips.QUICK if args.quick else roundtrips.FULL
            await roundtrips.run(config_rt, args.redis_url, http, figures)
    await flush(args.redis_url)
    wall = time.monotonic() - started
    print(f"\n(logs of every process started: {procs.log_dir()})")
    print()
    print(_table(figures, command, wall))
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under 2 minutes")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(FIGURES)}")
    parser.add_argument("--ks", help="watcher capacity: comma-separated K values to try")
    parser.add_argument(
        "--steady",
        type=int,
        help="runs in flight for the steady-state delivery step (0: skip it); "
        "default 1000, 250 with --quick",
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
