"""Settings: readable start-up failures, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import WHERE, Mode, Settings, SettingsProblem, load_settings
from bot.slack.blocks import ORIGAMI_APP_URL

ROOT = Path(__file__).resolve().parents[2]
VALID = {
    "SLACK_BOT_TOKEN": "xoxb-1234567890-abcdefghij",
    "SLACK_SIGNING_SECRET": "signing-secret-value-123",
    "ORIGAMI_API_KEY": "og_live_" + "a" * 40,
}


def _settings(**env: str) -> Settings:
    return load_settings(_env_file=None, **env)


def test_valid_http_settings() -> None:
    s = _settings(**VALID)
    assert s.mode is Mode.HTTP
    assert s.port == 3000 and s.host == "0.0.0.0"
    assert s.slack_api_url == "https://slack.com/api/"
    assert s.origami_api_url == "https://origami.chat/api/v2"
    assert s.origami_requests_per_minute == 90


def test_socket_mode_needs_no_signing_secret() -> None:
    env = {k: v for k, v in VALID.items() if k != "SLACK_SIGNING_SECRET"}
    s = _settings(**env, SLACK_APP_TOKEN="xapp-1-abcdef")
    assert s.mode is Mode.SOCKET


def test_http_mode_without_signing_secret_is_refused() -> None:
    env = {k: v for k, v in VALID.items() if k != "SLACK_SIGNING_SECRET"}
    with pytest.raises(SettingsProblem, match="SLACK_SIGNING_SECRET is required in HTTP mode"):
        _settings(**env)


def test_missing_settings_are_each_named_with_where_to_get_them() -> None:
    # With nothing set, either mode could be meant: the message names both, each setting
    # with where to get it.
    with pytest.raises(SettingsProblem) as info:
        _settings()
    message = str(info.value)
    assert "To serve one workspace needs SLACK_BOT_TOKEN" in message
    assert "ORIGAMI_API_KEY" in message
    assert "OAuth & Permissions" in message and "Settings → Developers" in message
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SECRETS_KEY"):
        assert name in message
    assert "Client Secret" in message and "Fernet" in message
    assert "Traceback" not in message


def test_malformed_settings_are_named() -> None:
    with pytest.raises(SettingsProblem) as info:
        _settings(**{**VALID, "SLACK_BOT_TOKEN": "xoxp-user-token", "PORT": "http"})
    message = str(info.value)
    assert "SLACK_BOT_TOKEN must be a bot token starting with xoxb-" in message
    assert "PORT" in message


def test_secrets_never_appear_in_repr_or_str() -> None:
    s = _settings(**VALID, REDIS_URL="redis://:hunter2-password@db:6379/0")
    shown = repr(s) + str(s) + str(s.model_dump())
    for secret in (*VALID.values(), "hunter2-password"):
        assert secret not in shown
    assert set(s.secrets()) >= set(VALID.values())


def test_environment_beats_dotenv(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=4000\nHOST=127.0.0.9\n")
    os.environ["PORT"] = "5000"
    try:
        s = load_settings(_env_file=str(env_file), **VALID)
    finally:
        del os.environ["PORT"]
    assert s.port == 5000
    assert s.host == "127.0.0.9"


def test_python_m_bot_without_settings_exits_with_a_readable_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ORIGAMI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,  # no .env here
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr
    assert "To serve one workspace needs SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_heartbeat_interval_defaults_to_five_seconds_within_bounds() -> None:
    assert _settings(**VALID).worker_heartbeat_seconds == 5.0
    assert _settings(**VALID, WORKER_HEARTBEAT_SECONDS="0.5").worker_heartbeat_seconds == 0.5
    for bad in ("0", "0.1", "61"):
        with pytest.raises(SettingsProblem, match="WORKER_HEARTBEAT_SECONDS"):
            _settings(**VALID, WORKER_HEARTBEAT_SECONDS=bad)


def _redis_url(**env: str) -> str:
    url = _settings(**VALID, **env).redis_url
    assert url is not None
    return url.get_secret_value()


def test_redis_tls_verify_false_skips_the_certificate_check_of_a_tls_url() -> None:
    tls = "rediss://:secret-pw@ec2.example.com:6380"
    assert _redis_url(REDIS_URL=tls) == tls
    assert _redis_url(REDIS_URL=tls, REDIS_TLS_VERIFY="false") == tls + "?ssl_cert_reqs=none"
    assert _redis_url(REDIS_URL=tls + "/0?socket_timeout=3", REDIS_TLS_VERIFY="0") == (
        tls + "/0?socket_timeout=3&ssl_cert_reqs=none"
    )
    # Nothing to skip without TLS; a choice already in the URL is kept.
    plain = "redis://db:6379/0"
    assert _redis_url(REDIS_URL=plain, REDIS_TLS_VERIFY="false") == plain
    chosen = tls + "?ssl_cert_reqs=required"
    assert _redis_url(REDIS_URL=chosen, REDIS_TLS_VERIFY="false") == chosen
    # The password is still kept out of the settings' repr, and redacted in logs.
    off = _settings(**VALID, REDIS_URL=tls, REDIS_TLS_VERIFY="false")
    assert "secret-pw" not in repr(off)
    assert tls + "?ssl_cert_reqs=none" in off.secrets()


@pytest.mark.parametrize("role", ["web", "worker"])
def test_python_m_bot_web_or_worker_without_redis_says_it_needs_one(
    tmp_path: Path, role: str
) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ORIGAMI_", "REDIS_"))
    }
    env.update(
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="secret",
        ORIGAMI_API_KEY="og_live_key",
        PYTHONPATH=str(ROOT),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", role],
        cwd=tmp_path,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"python -m bot {role} needs REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_origami_app_url_defaults_to_the_builders_default() -> None:
    assert _settings(**VALID).origami_app_url == ORIGAMI_APP_URL == "https://origami.chat"
    assert _settings(**VALID, ORIGAMI_APP_URL="  ").origami_app_url == ORIGAMI_APP_URL
    assert "ORIGAMI_APP_URL" in WHERE
    assert "\nORIGAMI_APP_URL=" in (ROOT / ".env.example").read_text()


def test_origami_app_url_is_an_https_origin() -> None:
    for good, kept in [
        ("https://staging.origami.chat/", "https://staging.origami.chat"),
        ("https://localhost:8443", "https://localhost:8443"),
    ]:
        assert _settings(**VALID, ORIGAMI_APP_URL=good).origami_app_url == kept
    for bad in (
        "http://origami.chat",
        "origami.chat",
        "https://origami.chat/app",
        "https://user@origami.chat",
        "https://",
        "https://-x.com",
    ):
        with pytest.raises(SettingsProblem, match="ORIGAMI_APP_URL must be an https URL"):
            _settings(**VALID, ORIGAMI_APP_URL=bad)
