"""Settings: the only module that reads the environment.

A real environment variable beats ``.env``. Missing or malformed settings fail start-up
with one readable message naming each variable and where to get it (``SettingsProblem``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.agent_platform import (
    DEFAULT_PROMPTS,
    PROMPTS_MAX,
    SUGGESTED_PROMPTS_TITLE,
)
from bot.config_fields import (
    DEFAULT_DATABASE_URL,
    DatabaseUrlSetting,
    FernetKeysSetting,
    PromptsSetting,
    PromptsTitleSetting,
)
from bot.slack.scopes import MANIFEST_BOT_SCOPES as BOT_SCOPE_USES


class Mode(StrEnum):
    HTTP = "http"
    SOCKET = "socket"


class Tenancy(StrEnum):
    """Who the app serves: one workspace (tokens in the environment), or every workspace
    that installs it through Slack's OAuth flow (tokens and keys in the database)."""

    SINGLE = "single"
    MULTI = "multi"


class LogFormat(StrEnum):
    TEXT = "text"  # key=value pairs, one line per event
    JSON = "json"  # one JSON object a line, for log shippers that parse JSON


# Where each setting comes from, for the start-up message.
WHERE: dict[str, str] = {
    "SLACK_BOT_TOKEN": "Slack app settings → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_SIGNING_SECRET": "Slack app settings → Basic Information → App Credentials → "
    "Signing Secret (needed in HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)",
    "SLACK_APP_TOKEN": "Slack app settings → Basic Information → App-Level Tokens, "
    "scope connections:write (xapp-…); only for Socket Mode",
    "SLACK_CLIENT_ID": "Slack app settings → Basic Information → App Credentials → Client ID "
    "(many workspaces; leave SLACK_BOT_TOKEN unset)",
    "SLACK_CLIENT_SECRET": "Slack app settings → Basic Information → App Credentials → "
    "Client Secret (many workspaces)",
    "SLACK_SCOPES": "leave unset for the manifest's bot scopes (comma-separated)",
    "DATABASE_URL": "where installations and workspace keys live: leave unset for a SQLite "
    "file (origami-slack.db), or postgresql://user:pass@host/db in production",
    "SECRETS_KEY": "Fernet keys, comma-separated, newest first, that encrypt each "
    "workspace's Origami key: make one with `python -c 'from cryptography.fernet import "
    "Fernet; print(Fernet.generate_key().decode())'`",
    "SLACK_API_URL": "leave unset for https://slack.com/api/ (GovSlack and tests override it)",
    "ORIGAMI_API_KEY": "Origami → Settings → Developers → API keys (og_live_…); needs a paid "
    "plan (one workspace; with many, each workspace connects its own in the app's Home tab)",
    "ORIGAMI_API_URL": "leave unset for https://origami.chat/api/v2",
    "ORIGAMI_APP_URL": "leave unset for https://origami.chat: the Origami web app, the only "
    "host a link button (Open in Origami) may lead to; https only",
    "REDIS_URL": "redis://host:6379/0; leave unset for an in-process store (one process, "
    "nothing survives a restart)",
    "REDIS_TLS_VERIFY": "false for a rediss:// Redis whose certificate is self-signed "
    "(Heroku Redis), default true",
    "HOST": "interface to listen on, default 0.0.0.0",
    "PORT": "port to listen on, default 3000",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR",
    "LOG_FORMAT": "text (key=value pairs, the default) or json (one JSON object a line)",
    "ORIGAMI_RETRY_SECONDS": "first wait before a prompt is sent again while Origami is "
    "down (doubles each time, 5 tries), default 30",
    "WATCHER_LEASE_SECONDS": "how long a process holds a run it polls; a crashed "
    "process's runs are taken over after this, default 30",
    "ORIGAMI_FIRST_POLL_SECONDS": "seconds before a new run's first poll, default 3",
    "ORIGAMI_REQUESTS_PER_MINUTE": "share of Origami's 100 requests/minute org limit this "
    "app may use, per Origami organisation (each connected key's), default 90",
    "SUGGESTED_PROMPTS": "the Messages tab's suggested prompts, a JSON list of at most 4 "
    '{"title": "…", "message": "…"} (title up to 75 characters); [] for none',
    "SUGGESTED_PROMPTS_TITLE": "the line above the suggested prompts, up to 75 characters",
    "ENRICHMENT_FOLLOW_MINUTES": "how long a table still being enriched when its run ends "
    "keeps its card updated, default 30",
}


# The bot scopes of the app's manifests (tests/unit/test_manifests.py keeps them equal):
# what "Add to Slack" asks for unless SLACK_SCOPES says otherwise.
MANIFEST_BOT_SCOPES = tuple(BOT_SCOPE_USES)

_ORIGAMI_APP_URL = "https://origami.chat"
_HTTPS_ORIGIN_RE = re.compile(
    r"https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/*"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # Set: one workspace, as the app has always run. Unset: many, through OAuth.
    slack_bot_token: SecretStr | None = Field(None, alias="SLACK_BOT_TOKEN")
    slack_client_id: str | None = Field(None, alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, alias="SLACK_CLIENT_SECRET")
    slack_scopes: str = Field(",".join(MANIFEST_BOT_SCOPES), alias="SLACK_SCOPES")
    database_url: DatabaseUrlSetting = Field(SecretStr(DEFAULT_DATABASE_URL), alias="DATABASE_URL")
    secrets_key: FernetKeysSetting = Field(None, alias="SECRETS_KEY")
    slack_signing_secret: SecretStr | None = Field(None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", alias="SLACK_API_URL")
    origami_api_key: SecretStr | None = Field(None, alias="ORIGAMI_API_KEY")
    origami_api_url: str = Field("https://origami.chat/api/v2", alias="ORIGAMI_API_URL")
    # Link buttons built from what Origami sends (a table's url) go only to this https
    # host: the agent's output cannot put a button to another site under our name.
    origami_app_url: str = Field(_ORIGAMI_APP_URL, alias="ORIGAMI_APP_URL")
    redis_url: SecretStr | None = Field(None, alias="REDIS_URL")
    # Heroku Redis serves TLS with a self-signed certificate, under a REDIS_URL the add-on
    # owns (it cannot be edited): false then skips the certificate check (still encrypted).
    redis_tls_verify: bool = Field(True, alias="REDIS_TLS_VERIFY")
    host: str = Field("0.0.0.0", alias="HOST")
    port: int = Field(3000, alias="PORT", ge=1, le=65535)
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_format: LogFormat = Field(LogFormat.TEXT, alias="LOG_FORMAT")
    origami_requests_per_minute: int = Field(90, alias="ORIGAMI_REQUESTS_PER_MINUTE", ge=1)
    # Below this many credits, a finished run's thread says the balance is low (0: never).
    low_credits_warning: int = Field(0, alias="LOW_CREDITS_WARNING", ge=0)
    origami_retry_seconds: float = Field(30.0, alias="ORIGAMI_RETRY_SECONDS", gt=0, le=600)
    watcher_lease_seconds: float = Field(30.0, alias="WATCHER_LEASE_SECONDS", ge=5, le=600)
    origami_first_poll_seconds: float = Field(3.0, alias="ORIGAMI_FIRST_POLL_SECONDS", gt=0, le=60)
    slack_progress_updates_per_minute: int = Field(
        40, alias="SLACK_PROGRESS_UPDATES_PER_MINUTE", ge=1
    )
    # The Messages tab's suggested prompts (Slack shows at most 4), and the line above them.
    # NoDecode: read as text by ``_prompts_json``, so a blank value is the default and
    # bad JSON gets the same readable message as any other wrong setting.
    suggested_prompts: PromptsSetting = Field(
        default_factory=lambda: list(DEFAULT_PROMPTS),
        alias="SUGGESTED_PROMPTS",
        max_length=PROMPTS_MAX,
    )
    suggested_prompts_title: PromptsTitleSetting = Field(
        SUGGESTED_PROMPTS_TITLE, alias="SUGGESTED_PROMPTS_TITLE", min_length=1, max_length=75
    )
    # Not for everyday tuning (tests lower it): how often a process running the worker
    # half writes its heartbeat; the heartbeat lasts three of these (bot.stores.heartbeats).
    worker_heartbeat_seconds: float = Field(5.0, alias="WORKER_HEARTBEAT_SECONDS", ge=0.5, le=60)
    # Not for everyday tuning either (tests lower it): how long a worker holds a prompt it
    # sends before another may take it over; it must outlast the Origami client's retries
    # (30 s) and a file upload, or a live worker's send is taken over.
    prompt_hold_seconds: float = Field(90.0, alias="PROMPT_HOLD_SECONDS", ge=5, le=600)
    # How long a table still being enriched when its run ends is followed (its card
    # updated in place, a line in the thread once it is done); past it, its card says to
    # look in Origami. A team whose enrichments run long may want longer.
    enrichment_follow_minutes: float = Field(
        30.0, alias="ENRICHMENT_FOLLOW_MINUTES", gt=0, le=24 * 60
    )
    # Not for everyday tuning (tests lower it): the first wait between two re-reads of such
    # a table (they grow to four times this); each re-read takes two requests of the budget.
    enrichment_read_seconds: float = Field(30.0, alias="ENRICHMENT_READ_SECONDS", ge=0.1, le=600)
    # How often each schedule made from Slack has its runs read (one request each, at a
    # poll's priority under the request budget): a run is posted at most this long after
    # it starts. Schedules run at most hourly, so minutes are plenty.
    schedule_poll_seconds: float = Field(120.0, alias="SCHEDULE_POLL_SECONDS", gt=0, le=3600)

    @field_validator(
        "slack_bot_token",
        "slack_client_id",
        "slack_client_secret",
        "secrets_key",
        "origami_api_key",
        "slack_signing_secret",
        "slack_app_token",
        "redis_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_scopes", mode="before")
    @classmethod
    def _scopes(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return ",".join(MANIFEST_BOT_SCOPES)
        return value

    @field_validator("slack_api_url", "origami_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("origami_app_url", mode="before")
    @classmethod
    def _app_url(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return _ORIGAMI_APP_URL
        if not isinstance(value, str) or not _HTTPS_ORIGIN_RE.fullmatch(value.strip()):
            raise ValueError(
                "must be an https URL with a host and no path, like https://origami.chat"
            )
        return value.strip().rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk appends the method name to base_url verbatim.
        return value if value.endswith("/") else value + "/"

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return LogFormat.TEXT
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _tenancy_needs(self) -> Settings:
        # Each mode names what it lacks, so the operator sees which mode they are in.
        many = self.slack_client_id is not None or self.slack_client_secret is not None
        if self.slack_bot_token is not None:
            if many:
                raise ValueError(
                    "SLACK_BOT_TOKEN (one workspace) and SLACK_CLIENT_ID / "
                    "SLACK_CLIENT_SECRET (many workspaces, Add to Slack) are both set: "
                    "unset the ones of the mode you do not want"
                )
            if self.origami_api_key is None:
                raise ValueError(_needs("one workspace (SLACK_BOT_TOKEN is set)", _ONE))
            return self
        if not many:
            raise ValueError(
                "no mode is set up. "
                + _needs("To serve one workspace", ("SLACK_BOT_TOKEN", *_ONE))
                + "; or, to let any workspace install the app (Add to Slack), "
                + _needs("many workspaces", _MANY)
            )
        values = {
            "SLACK_CLIENT_ID": self.slack_client_id,
            "SLACK_CLIENT_SECRET": self.slack_client_secret,
            "SECRETS_KEY": self.secrets_key,
        }
        missing = tuple(name for name in _MANY if values[name] is None)
        if missing:
            raise ValueError(_needs("many workspaces (SLACK_BOT_TOKEN is unset)", missing))
        return self

    @model_validator(mode="after")
    def _http_mode_needs_signing_secret(self) -> Settings:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required in HTTP mode (unset SLACK_APP_TOKEN); "
                "without it anyone could forge Slack requests"
            )
        return self

    @model_validator(mode="after")
    def _redis_tls_without_verification(self) -> Settings:
        # redis-py reads ``ssl_cert_reqs`` from the URL; one set there already wins.
        if self.redis_tls_verify or self.redis_url is None:
            return self
        url = self.redis_url.get_secret_value()
        if url.startswith("rediss://") and "ssl_cert_reqs=" not in url:
            joiner = "&" if "?" in url else "?"
            self.redis_url = SecretStr(f"{url}{joiner}ssl_cert_reqs=none")
        return self

    @property
    def mode(self) -> Mode:
        return Mode.SOCKET if self.slack_app_token is not None else Mode.HTTP

    @property
    def tenancy(self) -> Tenancy:
        return Tenancy.SINGLE if self.slack_bot_token is not None else Tenancy.MULTI

    @property
    def scopes(self) -> list[str]:
        return [s.strip() for s in self.slack_scopes.split(",") if s.strip()]

    def secrets(self) -> list[str]:
        """Every secret value, so the log filter can redact them wherever they appear."""
        values = [
            s
            for s in (
                self.slack_bot_token,
                self.origami_api_key,
                self.slack_client_secret,
                self.secrets_key,
                self.slack_signing_secret,
                self.slack_app_token,
                self.redis_url,
            )
            if s is not None
        ]
        # A database URL carries its password; a SQLite path is no secret but harmless.
        values.append(self.database_url)
        found = [v.get_secret_value() for v in values if v.get_secret_value()]
        if self.secrets_key is not None:
            found += [k.strip() for k in self.secrets_key.get_secret_value().split(",")]
        return [v for v in found if v]


_ONE = ("ORIGAMI_API_KEY",)
_MANY = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SECRETS_KEY")


def _needs(mode: str, names: tuple[str, ...]) -> str:
    wanted = "; ".join(f"{name} (from: {WHERE[name]})" for name in names)
    return f"{mode} needs {wanted}"


class SettingsProblem(Exception):
    """Start-up settings are missing or wrong; ``str()`` is the message for the operator."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsProblem(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    lines = ["origami-slack cannot start: some settings are missing or wrong."]
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[0].upper() if loc else ""
        if error["type"] == "missing" and len(loc) == 1:
            lines.append(f"  - {name} is not set. Get it from: {WHERE.get(name, '?')}")
        elif name:
            reason = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
            # Where in a JSON setting: SUGGESTED_PROMPTS (item 0, message) Field required.
            inside = f" (item {', '.join(loc[1:])})" if len(loc) > 1 else ""
            lines.append(f"  - {name}{inside} {reason}.")
        else:
            reason = str(error.get("msg", "")).removeprefix("Value error, ")
            lines.append(f"  - {reason}.")
    lines.append("Set them in the environment or in a .env file (see .env.example).")
    return "\n".join(lines)
