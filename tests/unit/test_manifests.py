"""The app's two manifests describe one app.

``slack-app-manifest.yml`` is the one pasted into api.slack.com (HTTP mode by default);
``manifest.json`` is the one the Slack CLI reads for ``slack run``, which develops in
Socket Mode. They may differ only where Socket Mode requires: ``socket_mode_enabled``,
and no request URLs. The rest of the Slack CLI's files (``.slack/hooks.json``, the
``cli`` extra, ``app.py``) are checked to fit together too.
"""

from __future__ import annotations

import copy
import json
import runpy
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import bot.__main__

ROOT = Path(__file__).resolve().parents[2]


def _http_manifest() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "slack-app-manifest.yml").read_text()))


def _socket_manifest() -> dict[str, Any]:
    return dict(json.loads((ROOT / "manifest.json").read_text()))


def _in_socket_mode(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the YAML's own comment says to do for Socket Mode: socket_mode_enabled true,
    both request_url lines and the slash command's url deleted."""
    socket = copy.deepcopy(manifest)
    settings = socket["settings"]
    settings["socket_mode_enabled"] = True
    del settings["event_subscriptions"]["request_url"]
    del settings["interactivity"]["request_url"]
    for command in socket["features"].get("slash_commands", []):
        del command["url"]
    return socket


def _keys(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}".lstrip("."), value
            yield from _keys(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keys(value, f"{path}[{index}]")


def _at(manifest: dict[str, Any], dotted: str) -> Any:
    node: Any = manifest
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def test_manifest_json_is_the_yaml_manifest_in_socket_mode() -> None:
    assert _socket_manifest() == _in_socket_mode(_http_manifest())


@pytest.mark.parametrize(
    "field",
    [
        "display_information",
        "features.bot_user",
        "features.app_home",
        "features.agent_view",
        "features.slash_commands",
        "features.shortcuts",
        "oauth_config.scopes.bot",
        "oauth_config.scopes.user",
        "oauth_config.redirect_urls",
        "settings.event_subscriptions.bot_events",
        "settings.event_subscriptions.user_events",
        "settings.interactivity.is_enabled",
        "settings.org_deploy_enabled",
        "settings.token_rotation_enabled",
    ],
)
def test_both_manifests_agree_on(field: str) -> None:
    # The same fact as the test above, one field at a time: a failure names what differs.
    assert _at(_socket_manifest(), field) == _at(_in_socket_mode(_http_manifest()), field), field


def test_manifest_json_is_socket_mode_without_request_urls() -> None:
    socket = _socket_manifest()
    assert socket["settings"]["socket_mode_enabled"] is True
    urls = [path for path, _ in _keys(socket) if path.endswith("url")]
    assert urls == []


def test_the_yaml_manifest_is_http_mode_with_both_urls_on_slack_events() -> None:
    settings = _http_manifest()["settings"]
    assert settings["socket_mode_enabled"] is False
    events_url = settings["event_subscriptions"]["request_url"]
    assert events_url.endswith("/slack/events")
    assert settings["interactivity"]["request_url"] == events_url


def test_scopes_and_events_are_listed_once_each() -> None:
    manifest = _socket_manifest()
    for field in ("oauth_config.scopes.bot", "settings.event_subscriptions.bot_events"):
        values = _at(manifest, field)
        assert values and len(values) == len(set(values)), field


def test_every_event_the_app_subscribes_to_has_its_scope() -> None:
    # Slack refuses a manifest whose bot events lack their read scope; say which one here.
    needs: dict[str, str | None] = {
        "app_mention": "app_mentions:read",
        "message.channels": "channels:history",
        "message.groups": "groups:history",
        "message.im": "im:history",
        "message.mpim": "mpim:history",
        "link_shared": "links:read",
        "app_home_opened": None,  # Slack sends it to every app with a Home or Messages tab
        "agent_session_stopped": "chat:write",  # sessions are set with chat:write
        # The app's own lifecycle needs no scope.
        "app_uninstalled": None,
        "tokens_revoked": None,
    }
    manifest = _socket_manifest()
    scopes = set(_at(manifest, "oauth_config.scopes.bot"))
    for event in _at(manifest, "settings.event_subscriptions.bot_events"):
        need = needs[event]
        assert need is None or need in scopes, event


def test_the_app_is_an_agent_with_a_description_and_hears_slacks_stop() -> None:
    # agent_view makes the Messages tab an agent's, and lets the app set agent sessions;
    # a session's Stop reaches the app only through agent_session_stopped.
    manifest = _socket_manifest()
    description = _at(manifest, "features.agent_view.agent_description")
    assert isinstance(description, str) and 0 < len(description) <= 200
    assert _at(manifest, "features.assistant_view") is None  # the legacy surface
    events = _at(manifest, "settings.event_subscriptions.bot_events")
    assert {"app_home_opened", "agent_session_stopped"} <= set(events)


def test_the_cli_hooks_come_from_the_cli_extra() -> None:
    hooks = json.loads((ROOT / ".slack" / "hooks.json").read_text())
    get_hooks = hooks["hooks"]["get-hooks"]
    assert get_hooks == "python3 -m slack_cli_hooks.hooks.get_hooks"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(req.startswith("slack-cli-hooks") for req in extras["cli"])
    # Not a runtime dependency: the image and the platforms never run the Slack CLI.
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(req.startswith("slack-cli-hooks") for req in dependencies)


def test_the_cli_watches_the_app_code_and_the_manifest_it_reads() -> None:
    watch = json.loads((ROOT / ".slack" / "hooks.json").read_text())["config"]["watch"]
    assert watch["manifest"]["paths"] == ["manifest.json"]
    for path in watch["app"]["paths"]:
        assert (ROOT / path).exists(), path


def test_app_py_starts_the_one_process_app_whatever_the_hook_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str] | None] = []
    monkeypatch.setattr(bot.__main__, "main", calls.append)
    # The CLI's start hook runs app.py with runpy, under its own arguments.
    monkeypatch.setattr(
        sys, "argv", ["start.py", "--protocol", "message-boundaries", "--boundary", "b"]
    )
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
    assert calls == [[]]
