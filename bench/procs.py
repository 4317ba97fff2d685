"""Processes the bench starts: the app (``python -m bot``, or ``python -m bot web`` with a
``python -m bot worker`` beside it), the bare Bolt app, the fakes; and what ``/proc`` says
about them (CPU seconds, peak RSS)."""

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Where the app's code is taken from: ``python -m bot`` run in this directory (``-m`` puts
# it first on ``sys.path``). This checkout unless ``--app-dir`` names an older one.
_app_root = ROOT
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


def _status_mb(pid: int, field: str) -> float:
    """A memory figure of ``/proc/<pid>/status`` (given in kB) in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (``VmHWM``) in MiB."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    """Resident set size now (``VmRSS``) in MiB."""
    return _status_mb(pid, "VmRSS")


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

    def own_cpu(self) -> float:
        """CPU seconds of the process alone, without those it started."""
        return cpu_seconds(self.pid)

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


def _niced(niceness: int) -> Callable[[], None]:
    def apply() -> None:  # in the child, before it runs Python
        os.nice(niceness)

    return apply


def _spawn(
    name: str,
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    nice: int = 0,
) -> Proc:
    fd, path = tempfile.mkstemp(prefix=f"{name}-", suffix=".log", dir=log_dir())
    with open(fd, "wb") as log_file:
        proc = subprocess.Popen(
            argv,
            cwd=str(cwd),
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_niced(nice) if nice else None,
        )
    return Proc(name, proc, Path(path))


def set_app_root(path: Path) -> None:
    """Run the app's code from ``path`` (a checkout of an older commit) instead of this one."""
    global _app_root
    _app_root = path.resolve()


def app_root() -> Path:
    return _app_root


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


def _app_env(
    slack: Proc, origami: Proc, redis_url: str, port: int, settings: dict[str, str]
) -> dict[str, str]:
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
    return env


async def _wait_logged(proc: Proc, text: str, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.proc.returncode}:\n{proc.log()}")
        if text in proc.log():
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not log {text!r}:\n{proc.log()}")


@dataclass
class App:
    """The app as the bench runs it, in one of its two layouts:

    - ``split``: ``python -m bot web`` (serves Slack) and ``python -m bot worker`` beside
      it, started with the same environment (the same ``REDIS_URL``);
    - ``all``: ``python -m bot``, both halves in one process. (In a checkout from before the
      restructuring, ``python -m bot`` was a Slack process that started one worker process
      of its own: that worker is ``web``'s child, counted in ``cpu()``.)
    """

    layout: str
    web: Proc  # the process that serves Slack
    worker: Proc | None = None  # the worker process, in the split layout
    # Workers beside the first (``start_more_workers``), split layout.
    more_workers: list[Proc] = field(default_factory=list)

    @property
    def info(self) -> dict[str, Any]:
        return self.web.info

    @property
    def procs(self) -> list[Proc]:
        return [self.web] if self.worker is None else [self.web, self.worker, *self.more_workers]

    @property
    def workers(self) -> list[Proc]:
        return [] if self.worker is None else [self.worker, *self.more_workers]

    @property
    def watcher(self) -> Proc:
        """The process that watches runs: the worker, or the one process (with its
        children)."""
        return self.worker or self.web

    def cpu(self) -> float:
        """CPU seconds of all the app's processes."""
        return sum(p.cpu() for p in self.procs)

    def web_cpu(self) -> float:
        """CPU seconds of the process that serves Slack, alone."""
        return self.web.own_cpu()

    def worker_cpu(self) -> float | None:
        """CPU seconds of the worker process: the split's, or the one an older ``python -m
        bot`` started (its child); None for the all-in-one, which has none."""
        if self.worker is not None:
            return self.worker.cpu()
        if descendants(self.web.pid):
            return self.web.cpu() - self.web.own_cpu()
        return None

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
            report_errors(proc)


async def start_app(
    slack: Proc,
    origami: Proc,
    redis_url: str,
    http: httpx.AsyncClient,
    layout: str = "split",
    worker_nice: int = 0,
    **settings: str,
) -> App:
    """The app as the README runs it, against the fakes: ``python -m bot web`` and
    ``python -m bot worker`` (``split``), or ``python -m bot`` (``all``)."""
    port = free_port()
    env = _app_env(slack, origami, redis_url, port, settings)
    python = sys.executable
    if layout not in ("split", "all"):
        raise ValueError(f"unknown layout {layout!r}")
    started: list[Proc] = []
    try:
        if layout == "all":
            web = _spawn("app", [python, "-m", "bot"], env, cwd=_app_root)
            started.append(web)
            web.info = {"url": f"http://127.0.0.1:{port}"}
            await _wait_healthy(web, f"{web.info['url']}/healthz", http)
            return App(layout, web)
        argv = [python, "-m", "bot", "worker"]
        # A worker serves its own probes and metrics: on a port of its own.
        worker_env = {**env, "PORT": str(free_port())}
        worker = _spawn("worker", argv, worker_env, cwd=_app_root, nice=worker_nice)
        started.append(worker)
        web = _spawn("web", [python, "-m", "bot", "web"], env, cwd=_app_root)
        started.append(web)
        web.info = {"url": f"http://127.0.0.1:{port}"}
        await _wait_logged(worker, 'msg="worker started"')
        await _wait_healthy(web, f"{web.info['url']}/readyz", http)  # it sees the heartbeat
        return App(layout, web, worker)
    except BaseException:
        for proc in started:
            proc.stop()
        raise


async def start_more_workers(
    app: App, slack: Proc, origami: Proc, redis_url: str, n: int, **settings: str
) -> None:
    """``n`` more ``python -m bot worker`` beside ``app``'s (split layout), started with
    the settings ``app`` was (the same ``REDIS_URL``)."""
    for _ in range(n):
        env = _app_env(slack, origami, redis_url, free_port(), settings)
        name = f"worker{len(app.workers) + 1}"
        worker = _spawn(name, [sys.executable, "-m", "bot", "worker"], env, cwd=_app_root)
        app.more_workers.append(worker)
        await _wait_logged(worker, 'msg="worker started"')


def start_profiler(targets: list[Proc], out: Path) -> list[subprocess.Popen[bytes]]:
    """``py-spy record`` attached to each of ``targets`` (collapsed stacks in ``out``, or
    ``out`` with the process's name before the suffix when there are several); stop them
    with ``stop_profiler``. Needs py-spy in the venv (``pip install -e '.[bench]'``)."""
    spy = Path(sys.executable).with_name("py-spy")
    spies = []
    for target in targets:
        path = out if len(targets) == 1 else out.with_stem(f"{out.stem}-{target.name}")
        argv = [str(spy), "record", "--pid", str(target.pid), "--subprocesses", "--rate", "200"]
        argv += ["--format", "raw", "--output", str(path)]
        spies.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return spies


def stop_profiler(spies: list[subprocess.Popen[bytes]]) -> None:
    for spy in spies:
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)
    for spy in spies:
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
