"""Processes the bench starts: the app (``python -m bot``), the bare Bolt app, the fakes;
and what ``/proc`` says about them (CPU seconds, peak RSS)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/<pid>/stat``)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def descendants(pid: int) -> list[int]:
    """The process's children, theirs, and so on (``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except FileNotFoundError:
                continue
            found += children
            todo += children
    return found


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (``VmHWM``) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Proc:
    """A child process and where its output goes."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def pids(self) -> list[int]:
        """The process and those it started (the app's worker processes)."""
        return [self.pid, *descendants(self.pid)]

    def cpu(self) -> float:
        """CPU seconds of the process and of its live descendants."""
        total = 0.0
        for pid in self.pids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                total += cpu_seconds(pid)
        return total

    def peak_rss_mb(self) -> float:
        """The largest peak RSS of the process and its descendants (each one's own)."""
        return max(peak_rss_mb(pid) for pid in self.pids)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


_log_dir: Path | None = None


def log_dir() -> Path:
    """Where this bench run keeps the output of every process it starts."""
    global _log_dir
    if _log_dir is None:
        _log_dir = Path(tempfile.mkdtemp(prefix="bench-logs-"))
    return _log_dir


def report_errors(proc: Proc) -> None:
    """Say so when a process logged errors or warnings (its figures may be off)."""
    lines = [
        line
        for line in proc.log().splitlines()
        if "level=error" in line or "level=warning" in line or "Traceback" in line
    ]
    if lines:
        print(f"    note: {proc.name} logged {len(lines)} errors/warnings, see {proc.log_path}")


def _spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
    fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=log_dir())
    with open(fd, "wb") as log_file:
        proc = subprocess.Popen(
            argv,
            cwd=str(ROOT),
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return Proc(name, proc, Path(path))


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ORIGAMI_", "REDIS_", "HOST", "PORT"))
    }


async def start_fake(kind: str, *extra: str) -> Proc:
    """``python -m bench.fakeserver <kind>``; waits for its JSON line."""
    env = _clean_env()
    env["PYTHONUNBUFFERED"] = "1"
    proc = _spawn(f"fake-{kind}", [sys.executable, "-m", "bench.fakeserver", kind, *extra], env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"fake {kind} exited:\n{proc.log()}")
        for line in proc.log().splitlines():
            if line.startswith("{"):
                proc.info = json.loads(line)
                return proc
        await asyncio.sleep(0.05)
    raise RuntimeError(f"fake {kind} did not start:\n{proc.log()}")


async def _wait_healthy(proc: Proc, url: str, http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.proc.returncode}:\n{proc.log()}")
        try:
            if (await http.get(url, timeout=2)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not come up:\n{proc.log()}")


async def start_app(
    slack: Proc,
    origami: Proc,
    redis_url: str,
    http: httpx.AsyncClient,
    **settings: str,
) -> Proc:
    """The app as the README runs it (``python -m bot``), against the fakes."""
    port = free_port()
    env = _clean_env()
    env.update(
        SLACK_BOT_TOKEN=slack.info["bot_token"],
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.info["url"],
        ORIGAMI_API_KEY=origami.info["api_key"],
        ORIGAMI_API_URL=origami.info["url"],
        REDIS_URL=redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    proc = _spawn("app", [sys.executable, "-m", "bot"], env)
    proc.info = {"url": f"http://127.0.0.1:{port}"}
    await _wait_healthy(proc, f"{proc.info['url']}/healthz", http)
    return proc


def start_profiler(target: Proc, out: Path) -> subprocess.Popen[bytes]:
    """``py-spy record`` attached to ``target`` (collapsed stacks in ``out``); stop it with
    ``stop_profiler``. Needs py-spy in the venv (``pip install -e '.[bench]'``)."""
    spy = Path(sys.executable).with_name("py-spy")
    argv = [str(spy), "record", "--pid", str(target.pid), "--subprocesses", "--rate", "200"]
    argv += ["--format", "raw", "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_profiler(spy: subprocess.Popen[bytes]) -> None:
    if spy.poll() is None:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(5)


async def start_bare_app(slack: Proc, http: httpx.AsyncClient) -> Proc:
    """A do-nothing Bolt app served exactly as the app serves its own."""
    port = free_port()
    env = _clean_env()
    env["PYTHONUNBUFFERED"] = "1"
    argv = [
        sys.executable,
        "-m",
        "bench.bare_app",
        "--port",
        str(port),
        "--slack-url",
        slack.info["url"],
        "--token",
        slack.info["bot_token"],
        "--signing-secret",
        SIGNING_SECRET,
    ]
    proc = _spawn("bare-app", argv, env)
    proc.info = {"url": f"http://127.0.0.1:{port}"}
    await _wait_healthy(proc, f"{proc.info['url']}/healthz", http)
    return proc
