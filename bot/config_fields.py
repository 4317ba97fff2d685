"""The checks of single settings, as the types of their fields, so ``bot.config.Settings``
stays about which settings there are and how they combine."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from bot.agent_platform import DEFAULT_PROMPTS, SUGGESTED_PROMPTS_TITLE, SuggestedPrompt

# An embedded database for a trial: a file beside the process.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///origami-slack.db"
_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",  # Heroku's spelling
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}

# The Origami web app (bot.slack.blocks keeps the same default for its builders).


def _prompts_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return list(DEFAULT_PROMPTS)
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(
            'must be JSON: a list of at most 4 {"title": "…", "message": "…"}'
        ) from None


def _prompts_title(value: Any) -> Any:
    return SUGGESTED_PROMPTS_TITLE if isinstance(value, str) and not value.strip() else value


def _database_url(value: Any) -> Any:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if isinstance(raw, str) and not raw.strip():
        return DEFAULT_DATABASE_URL
    if not isinstance(raw, str):
        return value
    scheme, sep, rest = raw.strip().partition("://")
    if not sep or not (scheme in _ASYNC_DRIVERS or scheme in _ASYNC_DRIVERS.values()):
        raise ValueError("must be a postgresql:// or sqlite:/// URL")
    return f"{_ASYNC_DRIVERS.get(scheme, scheme)}://{rest}"


def _fernet_keys(value: SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    from cryptography.fernet import Fernet

    for part in value.get_secret_value().split(","):
        try:
            Fernet(part.strip())
        except ValueError:
            raise ValueError(
                "must be Fernet keys (32 url-safe base64-encoded bytes each), "
                "comma-separated, newest first"
            ) from None
    return value


PromptsSetting = Annotated[list[SuggestedPrompt], NoDecode, BeforeValidator(_prompts_json)]
PromptsTitleSetting = Annotated[str, BeforeValidator(_prompts_title)]
DatabaseUrlSetting = Annotated[SecretStr, BeforeValidator(_database_url)]
FernetKeysSetting = Annotated[SecretStr | None, AfterValidator(_fernet_keys)]
