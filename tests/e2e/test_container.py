"""The container image and the compose file.

The image test builds the image from this checkout (``Dockerfile``), starts it the way a
platform does (its default command, ``python -m bot``), and checks that ``/healthz``
answers, that Docker's own HEALTHCHECK turns healthy, that it runs as a non-root user, and
that ``docker stop`` is the app's graceful stop. The container shares the host's network
(``--network host``, a Linux engine) to reach the fake Slack, the fake Origami and Redis
on loopback, as the other e2e processes do. It runs only where ``docker`` is installed and
its daemon answers; otherwise it skips and says which is missing. Every docker call has a
timeout, and the container and the image tag are removed whatever happens.

The other tests read the Dockerfile and the compose file as text and need no docker.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import uuid
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import RedisTarget, free_port
from tests.e2e.conftest import ROOT, app_env, flush
from tests.fakes.origami import FakeOrigami
from tests.fakes.slack import FakeSlack

BUILD_TIMEOUT = 600  # seconds: the first build downloads the base image and the packages
UP_TIMEOUT = 60  # from `docker run` to /healthz answering and the HEALTHCHECK healthy
STOP_TIMEOUT = 20  # `docker stop` grace before SIGKILL: the app needs at most 10 s

# The settings passed into the container: app_env's, without the host's own environment.
CONTAINER_SETTINGS = ("SLACK_", "ORIGAMI_", "REDIS_", "HOST", "PORT", "LOG_LEVEL")


def _docker_unavailable() -> str | None:
    """Why the image cannot be tested here, or None."""
    docker = shutil.which("docker")
    if docker is None:
        return "`docker` not found on PATH"
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        return "the docker daemon does not answer (`docker info` timed out after 20 s)"
    if info.returncode != 0 or not info.stdout.strip():
        lines = (info.stderr or info.stdout).strip().splitlines()
        return "the docker daemon does not answer: " + (lines[-1] if lines else "no output")
    return None


@pytest.fixture(scope="module")
def docker() -> str:
    problem = _docker_unavailable()
    if problem:
        pytest.skip(f"container image not tested: {problem}")
    return str(shutil.which("docker"))


async def _run(
    *args: str,
    timeout: float,  # noqa: ASYNC109 - a subprocess bound, not a cancellable wait
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    # In a thread: the fakes serve on this event loop while docker runs.
    result = await asyncio.to_thread(
        subprocess.run, list(args), capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:3])}… exited with {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


async def _inspect(docker: str, name: str, template: str) -> str:
    result = await _run(docker, "inspect", "--format", template, name, timeout=20, check=False)
    return result.stdout.strip()


async def _logs(docker: str, name: str) -> str:
    result = await _run(docker, "logs", name, timeout=20, check=False)
    return result.stdout + result.stderr


@pytest.mark.timeout(BUILD_TIMEOUT + UP_TIMEOUT + STOP_TIMEOUT + 120)
async def test_container_image_starts_answers_healthz_turns_healthy_and_stops_cleanly(
    docker: str,
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
) -> None:
    slack, origami = fakes
    flush(redis_target)
    suffix = uuid.uuid4().hex[:12]
    tag, name = f"origami-slack-test:{suffix}", f"origami-slack-test-{suffix}"
    port = free_port()
    env = app_env(slack, origami, redis_target.url, port)
    settings = {k: v for k, v in env.items() if k.startswith(CONTAINER_SETTINGS)}
    try:
        await _run(docker, "build", "--tag", tag, str(ROOT), timeout=BUILD_TIMEOUT)
        config = json.loads(await _inspect(docker, tag, "{{json .Config}}"))
        assert config["Cmd"] == ["python", "-m", "bot"]
        assert "3000/tcp" in config["ExposedPorts"]
        assert "/healthz" in " ".join(config["Healthcheck"]["Test"])

        run = [docker, "run", "--detach", "--name", name, "--network", "host"]
        # The image's HEALTHCHECK command, checked every second instead of every 15.
        run += ["--health-interval", "1s"]
        for key, value in settings.items():
            run += ["--env", f"{key}={value}"]
        await _run(*run, tag, timeout=60)

        deadline = asyncio.get_running_loop().time() + UP_TIMEOUT
        healthz: httpx.Response | None = None
        health = ""
        while True:
            if await _inspect(docker, name, "{{.State.Status}}") not in ("created", "running"):
                raise AssertionError(f"the container exited:\n{await _logs(docker, name)}")
            if healthz is None or healthz.status_code != 200:
                try:
                    healthz = await http.get(f"http://127.0.0.1:{port}/healthz")
                except httpx.TransportError:
                    healthz = None
            health = await _inspect(docker, name, "{{.State.Health.Status}}")
            if healthz is not None and healthz.status_code == 200 and health == "healthy":
                break
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"after {UP_TIMEOUT} s: /healthz {healthz and healthz.status_code}, "
                    f"HEALTHCHECK {health!r}:\n{await _logs(docker, name)}"
                )
            await asyncio.sleep(0.5)
        assert healthz.json() == {"ok": True, "role": "all"}
        # Redis (or the embedded store) answers and the worker half in the process beats.
        readyz = await http.get(f"http://127.0.0.1:{port}/readyz")
        assert readyz.status_code == 200, readyz.text

        uid = await _run(docker, "exec", name, "id", "-u", timeout=30)
        assert uid.stdout.strip() not in ("", "0")

        await _run(docker, "stop", "--time", str(STOP_TIMEOUT), name, timeout=STOP_TIMEOUT + 30)
        log = await _logs(docker, name)
        assert await _inspect(docker, name, "{{.State.ExitCode}}") == "0", log
        assert "msg=stopped" in log, log
        assert "Traceback" not in log, log
        assert slack.rejections == [], slack.rejections
    finally:
        await _run(docker, "rm", "--force", "--volumes", name, timeout=60, check=False)
        await _run(docker, "image", "rm", "--force", tag, timeout=60, check=False)


# --- the files themselves (no docker needed) ------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def _instructions(dockerfile: str, keyword: str) -> list[str]:
    """Each ``keyword`` instruction's arguments, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    return [
        line.split(None, 1)[1].strip() if " " in line.strip() else ""
        for line in joined.splitlines()
        if line.strip().upper().startswith(keyword + " ")
    ]


def test_the_image_is_slim_python_311_and_runs_the_one_process_start_as_non_root(
    dockerfile: str,
) -> None:
    bases = _instructions(dockerfile, "FROM")
    assert bases and all(b.split()[0] == "${PYTHON_IMAGE}" for b in bases)
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert _instructions(dockerfile, "EXPOSE") == ["3000"]
    assert _instructions(dockerfile, "CMD")[-1] == '["python", "-m", "bot"]'
    user = _instructions(dockerfile, "USER")[-1]
    assert user.split(":")[0] not in ("root", "0")
    [healthcheck] = _instructions(dockerfile, "HEALTHCHECK")
    assert "/healthz" in healthcheck and "urllib" in healthcheck and "curl" not in healthcheck


def test_the_image_installs_the_package_without_extras(dockerfile: str) -> None:
    runs = " ".join(_instructions(dockerfile, "RUN"))
    assert "pip install --no-deps ." in runs
    assert "-e " not in runs and "[test]" not in runs and "[cli]" not in runs
    copied = [c.split()[0] for c in _instructions(dockerfile, "COPY") if "--from" not in c]
    assert set(copied) == {"pyproject.toml", "README.md", "bot"}


def test_the_build_context_leaves_out_secrets_caches_and_the_venv() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".venv", ".git", ".pytest_cache", ".hypothesis", "**/*.log"} <= ignored


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_runs_web_and_worker_beside_redis_with_aof(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"web", "worker", "redis"}  # postgres stays commented out
    web, worker, redis = services["web"], services["worker"], services["redis"]
    assert web["command"] == ["python", "-m", "bot", "web"]
    assert worker["command"] == ["python", "-m", "bot", "worker"]
    for app in (web, worker):
        assert app["env_file"] == ".env"
        assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert app["depends_on"]["redis"]["condition"] == "service_healthy"
        assert app["build"] == "."
    assert web["ports"] == ["3000:3000"] and web["environment"]["PORT"] == "3000"
    # A worker has a port of its own, published nowhere.
    assert "ports" not in worker and worker["environment"]["PORT"] != "3000"
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"
    assert redis["image"].split(":")[0] == "redis"
    assert any(v.startswith("redis-data:") for v in redis["volumes"])
    assert "redis-data" in compose["volumes"]
    assert "redis-cli" in redis["healthcheck"]["test"]


def test_compose_marks_postgres_as_not_used_yet() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "NOT USED YET" in text and "DATABASE_URL" in text
    assert "\n  postgres:" not in text  # only as a comment
