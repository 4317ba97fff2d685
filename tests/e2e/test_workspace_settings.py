"""A workspace's settings, black box (``python -m bot``, both ways to deploy; and with
many workspaces): an admin changes them in App Home's modal; a message where the app may
not answer (a channel left out, a person in none of the chosen user groups) gets a private
note saying why and what to do, and reaches Origami never; a non-admin cannot change them,
not even with a forged submission; the workspace's suggested prompts replace the setting."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import AppProcess
from tests.e2e.test_app_home import open_home
from tests.e2e.test_commands import command, openers, private_text
from tests.e2e.test_conversations import CHANNEL, mention, reply, texts_of, wait_finished
from tests.e2e.test_workspaces import CHANNEL as SAME_CHANNEL
from tests.e2e.test_workspaces import (  # noqa: F401 - the fixtures of many workspaces
    connect,
    database_url,
    hosted,
    install,
    replies,
    two_workspaces,
)
from tests.e2e.test_workspaces import mention as mention_in
from tests.fakes import payloads
from tests.fakes.origami import RunScript
from tests.fakes.slack_views import view_ack_errors

ADMIN = "U0ADMIN"
ALLOWED = "C0ALLOWED"
MODAL = "workspace_settings"


def values_of(
    channels: list[str] | None = None,
    audience: str = "everyone",
    groups: list[str] | None = None,
    prompts: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """``state.values`` for the settings modal; ``payloads.view_submission`` keeps those
    of the input blocks the modal has, as Slack sends only those."""
    values: dict[str, Any] = {
        "settings_channels": {
            "channels": {
                "type": "multi_conversations_select",
                "selected_conversations": channels or [],
            }
        },
        "settings_audience": {
            "audience": {"type": "radio_buttons", "selected_option": {"value": audience}}
        },
        "settings_groups": {
            "groups": {
                "type": "multi_static_select",
                "selected_options": [{"value": g} for g in groups or []],
            }
        },
    }
    for n, (title, message) in enumerate(prompts or [], start=1):
        values[f"settings_prompt_title_{n}"] = {"text": payloads.input_value(title)}
        values[f"settings_prompt_message_{n}"] = {"text": payloads.input_value(message)}
    return values


async def open_settings(app: AppProcess, user: str, team: str = payloads.TEAM_ID) -> dict[str, Any]:
    """Click "Change settings"; the modal Slack opened for it."""
    opened = len(modals(app))
    click = payloads.block_actions(
        payloads.button_action("open_settings"),
        team=team,
        user=user,
        trigger_id=app.slack.issue_trigger_id(),
    )
    assert (await app.post_interactive(click)).status_code == 200
    return dict(await app.slack.wait_for(lambda s: len(modals(app)) > opened and modals(app)[-1]))


def modals(app: AppProcess) -> list[dict[str, Any]]:
    # The fake keeps Home tabs among its views too.
    return [v for v in app.slack.views() if v.get("type") == "modal"]


async def change_settings(
    app: AppProcess, user: str, values: dict[str, Any], team: str = payloads.TEAM_ID
) -> httpx.Response:
    return await change_settings_in(app, user, await open_settings(app, user, team), values, team)


async def change_settings_in(
    app: AppProcess,
    user: str,
    modal: dict[str, Any],
    values: dict[str, Any],
    team: str = payloads.TEAM_ID,
) -> httpx.Response:
    """Submit ``modal`` with ``values`` (those of blocks it has no input for are not sent,
    as Slack does not)."""
    assert modal.get("callback_id") == MODAL, modal
    answer = await app.post_interactive(
        payloads.view_submission(values, view=modal, team=team, user=user)
    )
    # Slack takes the ack as it is (errors only under the modal's own input blocks).
    assert view_ack_errors(modal, answer.json() if answer.content else None) == []
    return answer


def saved(answer: httpx.Response) -> bool:
    return answer.status_code == 200 and answer.text in ("", "null")


def notes_to(app: AppProcess, user: str, channel: str = CHANNEL) -> list[str]:
    return [texts_of(e) for e in app.slack.ephemerals(channel, user)]


async def test_a_channel_left_out_gets_a_private_note_and_reaches_origami_never(
    app: AppProcess,
) -> None:
    slack, origami = app.slack, app.origami
    slack.add_user(ADMIN, is_admin=True)
    assert saved(await change_settings(app, ADMIN, values_of([ALLOWED])))
    home = await open_home(app, ADMIN)
    assert f"<#{ALLOWED}>" in texts_of({"blocks": home["blocks"]})

    # A mention in another channel: a note to its author only, and nothing sent.
    event = payloads.app_mention("find founders in Austin")
    slack.add_message(CHANNEL, event["text"], ts=event["ts"])
    assert (await app.post_event(event, event_id="Ev0LEFTOUT")).status_code == 200
    await slack.wait_for(lambda s: notes_to(app, payloads.USER_ID), timeout=10)
    (note,) = notes_to(app, payloads.USER_ID)
    assert "I don't answer in this channel" in note and "Nothing was sent to Origami" in note
    # Slack's retry of it says nothing more; a reply in a thread that is not ours, nothing.
    assert (await app.post_event(event, event_id="Ev0LEFTOUT", retry_num=1)).status_code == 200
    await reply(app, "1700000000.000001", "and Dallas?")
    # /origami new there: told privately, nothing posted in the channel, nothing sent.
    assert await command(app, "new find founders in Boston") == {}
    await slack.wait_for(lambda s: len(s.responses()) == 1, timeout=10)
    assert "I don't answer in this channel" in private_text(slack.responses()[0])
    assert openers(app) == []

    # In the allowed channel, and in a DM, the app answers as always.
    origami.script(RunScript(polls=0, text="Found them"), RunScript(polls=0, text="Here too"))
    allowed = await mention(app, "find founders in Denver", channel=ALLOWED)
    await wait_finished(app, allowed, channel=ALLOWED)
    dm = payloads.im_message("find founders in Miami")
    assert (await app.post_event(dm)).status_code == 200
    await origami.wait_for(lambda: len(origami.requests("POST", "/agents")) == 2, timeout=10)
    prompts = [r.body["prompt"] for r in origami.requests("POST", "/agents")]
    assert prompts == ["find founders in Denver", "find founders in Miami"]
    assert len(notes_to(app, payloads.USER_ID)) == 1


async def test_only_members_of_the_chosen_user_groups_start_agents(app: AppProcess) -> None:
    slack, origami = app.slack, app.origami
    slack.add_user(ADMIN, is_admin=True)
    slack.add_usergroup("S0SALES", ["U0IN", ADMIN], name="Sales")
    slack.add_usergroup("S0OLD", ["U0OUT"], name="Old team", disabled=True)
    before = len(slack.calls("users.info"))
    modal = await open_settings(app, ADMIN)
    offered = texts_of({"blocks": modal["blocks"]})
    assert "Sales" in offered and "Old team" not in offered
    # Limited to groups but none chosen: said on the modal, nothing saved.
    refused = await change_settings(app, ADMIN, values_of(audience="groups"))
    assert refused.json()["response_action"] == "errors"
    assert "settings_groups" in refused.json()["errors"]
    assert saved(
        await change_settings(app, ADMIN, values_of(audience="groups", groups=["S0SALES"]))
    )
    await slack.wait_for_call("views.publish", timeout=10)
    # Who the admin is, asked once per click or submission: never again for the Home tab
    # it republishes (3 opens, 2 submissions).
    assert len(slack.calls("users.info")) - before == 5

    origami.script(RunScript(polls=0, text="Found them"))
    await mention(app, "find founders", user="U0OUT")
    await slack.wait_for(lambda s: notes_to(app, "U0OUT"), timeout=10)
    assert "you're not in one of them" in notes_to(app, "U0OUT")[0]
    assert origami.requests("POST", "/agents") == []
    member = await mention(app, "find founders in Austin", user="U0IN")
    await wait_finished(app, member)
    assert [r.body["prompt"] for r in origami.requests("POST", "/agents")] == [
        "find founders in Austin"
    ]
    # The one outside the groups replying in the member's thread is refused too.
    await reply(app, member, "and Dallas?", user="U0OUT")
    await slack.wait_for(lambda s: len(notes_to(app, "U0OUT")) == 2, timeout=10)
    assert len(origami.requests("POST")) == 1


async def test_a_limit_stays_when_slack_does_not_list_the_groups(app: AppProcess) -> None:
    """usergroups.list fails while the admin changes only a channel: the modal says the
    limit stays, and after the save only members still start agents."""
    slack, origami = app.slack, app.origami
    slack.add_user(ADMIN, is_admin=True)
    slack.add_usergroup("S0SALES", ["U0IN", ADMIN], name="Sales")
    limited = values_of(audience="groups", groups=["S0SALES"])
    assert saved(await change_settings(app, ADMIN, limited))

    slack.fail("usergroups.list", error="ratelimited")
    modal = await open_settings(app, ADMIN)
    assert "stays as it is" in texts_of({"blocks": modal["blocks"]})
    # The admin changes the channels; values_of would say everyone, Slack sends no such value.
    assert saved(await change_settings_in(app, ADMIN, modal, values_of([CHANNEL])))
    home = texts_of({"blocks": (await open_home(app, ADMIN))["blocks"]})
    assert "members of <!subteam^S0SALES>" in home and f"<#{CHANNEL}>" in home

    origami.script(RunScript(polls=0, text="Found them"))
    await mention(app, "find founders", user="U0OUT")
    await slack.wait_for(lambda s: notes_to(app, "U0OUT"), timeout=10)
    assert "you're not in one of them" in notes_to(app, "U0OUT")[0]
    assert origami.requests("POST", "/agents") == []


async def test_a_non_admin_cannot_change_the_settings(app: AppProcess) -> None:
    slack = app.slack
    home = await open_home(app)  # the default user is no admin
    assert "open_settings" not in str(home) and "every channel" in str(home)
    # A (stale) button opens no settings for them.
    modal = await open_settings(app, payloads.USER_ID)
    assert modal.get("callback_id") != MODAL and "Only a workspace admin" in texts_of(modal)
    # A submission they forge is refused and changes nothing.
    forged = payloads.view_submission(values_of([ALLOWED]), callback_id=MODAL)
    answer = await app.post_interactive(forged)
    assert answer.json()["response_action"] == "errors"
    assert "Only a workspace admin" in answer.json()["errors"]["settings_channels"]
    app.origami.script(RunScript(polls=0, text="Found them"))
    thread = await mention(app, "find founders")
    await wait_finished(app, thread)
    assert notes_to(app, payloads.USER_ID) == []
    slack.add_user(ADMIN, is_admin=True)
    assert "every channel" in str(await open_home(app, ADMIN))


async def test_the_workspaces_own_suggested_prompts_replace_the_setting(app: AppProcess) -> None:
    slack = app.slack
    slack.add_user(ADMIN, is_admin=True)
    prompts = [("Austin SaaS", "Find 20 SaaS founders in Austin"), ("CTOs", "Find fintech CTOs")]
    assert saved(await change_settings(app, ADMIN, values_of(prompts=prompts)))
    # The modal opens again with them filled in.
    modal = await open_settings(app, ADMIN)
    assert "Find fintech CTOs" in str(modal["blocks"])
    opened = payloads.app_home_opened(tab="messages")
    assert (await app.post_event(opened)).status_code == 200
    await slack.wait_for_call("assistant.threads.setSuggestedPrompts", timeout=10)
    suggested = slack.agents.suggested[payloads.DM_CHANNEL_ID]["prompts"]
    assert [(p["title"], p["message"]) for p in suggested] == prompts
    # A prompt with a title and nothing to send is said on its block; nothing changes.
    half = await change_settings(app, ADMIN, values_of(prompts=[("Only a title", "")]))
    assert "settings_prompt_message_1" in half.json()["errors"]
    assert "2 of this workspace's own" in str(await open_home(app, ADMIN))


async def test_each_workspace_has_its_own_settings(hosted: AppProcess) -> None:  # noqa: F811
    """Many workspaces, with the same channel ids: A answers only in another channel; B,
    untouched, answers in that channel as before."""
    app, slack, origami = hosted, hosted.slack, hosted.origami
    a, b = two_workspaces(slack, origami)
    for ws in (a, b):
        await install(app, ws.id, ws.admin)
        assert saved(await connect(app, ws, ws.admin, ws.api_key))
    assert saved(await change_settings(app, a.admin, values_of([ALLOWED]), team=a.id))

    origami.script(RunScript(polls=0, text="Answer B"))
    await mention_in(app, a, "find founders for A")
    await slack.wait_for(lambda s: s.ephemerals(SAME_CHANNEL, a.member), timeout=10)
    (note,) = slack.ephemerals(SAME_CHANNEL, a.member)
    assert "I don't answer in this channel" in texts_of(note) and note["team"] == a.id
    thread_b = await mention_in(app, b, "find founders for B")
    await slack.wait_for(lambda s: "Answer B" in replies(app, b, thread_b), timeout=15)
    (create,) = origami.requests("POST", "/agents")
    assert create.body["prompt"] == "find founders for B" and create.org == origami.org_of(
        b.api_key
    )
    assert slack.ephemerals(SAME_CHANNEL, b.member) == []
