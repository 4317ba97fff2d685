"""The workspace settings' modal and the parsing of its submission (untrusted: anyone can
forge one), on their output: the modal is a view Slack takes, a submission gives settings
within their bounds or errors on the modal's own blocks, never an exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.agent_platform import SuggestedPrompt
from bot.slack import actions as ids
from bot.slack.blocks import build_home
from bot.slack.blocks.home_settings import (
    build_settings_modal,
    build_settings_only_admins_modal,
    build_settings_section,
)
from bot.slack.settings_form import parse_settings
from bot.slack.usergroups import UserGroup, to_groups, to_members
from bot.workspace_settings import (
    CHANNELS_MAX,
    GROUPS_MAX,
    Audience,
    NotAllowed,
    WorkspaceSettings,
)
from tests.fakes.slack import view_errors

GROUPS = [UserGroup("S0SALES", "Sales", "sales"), UserGroup("S0SDR", "SDRs", "sdr")]
NONE = WorkspaceSettings()
LIMITED = WorkspaceSettings(channels=("C0OLD",), audience=Audience.GROUPS, groups=("S0SALES",))


def _values(
    channels: list[str] | None = None,
    audience: str | None = None,
    groups: list[str] | None = None,
    prompts: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        ids.SETTINGS_CHANNELS_BLOCK: {
            ids.SETTINGS_CHANNELS_INPUT: {
                "type": "multi_conversations_select",
                "selected_conversations": channels or [],
            }
        },
        ids.SETTINGS_AUDIENCE_BLOCK: {
            ids.SETTINGS_AUDIENCE_INPUT: {
                "type": "radio_buttons",
                "selected_option": {"value": audience} if audience else None,
            }
        },
        ids.SETTINGS_GROUPS_BLOCK: {
            ids.SETTINGS_GROUPS_INPUT: {
                "type": "multi_static_select",
                "selected_options": [{"value": g} for g in groups or []],
            }
        },
    }
    for n, (title, message) in enumerate(prompts or [], start=1):
        values[ids.SETTINGS_PROMPT_TITLE_BLOCK.format(n=n)] = {
            ids.SETTINGS_PROMPT_INPUT: {"type": "plain_text_input", "value": title}
        }
        values[ids.SETTINGS_PROMPT_MESSAGE_BLOCK.format(n=n)] = {
            ids.SETTINGS_PROMPT_INPUT: {"type": "plain_text_input", "value": message}
        }
    return {"state": {"values": values}}


def test_a_submission_becomes_the_workspace_settings() -> None:
    view = _values(
        ["C0ONE", "G0TWO", "C0ONE"], "groups", ["S0SALES"], [("Austin", "find founders")]
    )
    parsed = parse_settings(view, "U0ADMIN", 12.0, WorkspaceSettings())
    assert parsed == WorkspaceSettings(
        channels=("C0ONE", "G0TWO"),
        audience=Audience.GROUPS,
        groups=("S0SALES",),
        prompts=(SuggestedPrompt(title="Austin", message="find founders"),),
        updated_by="U0ADMIN",
        updated_at=12.0,
    )
    assert parse_settings(_values(), "U0ADMIN", 0.0, WorkspaceSettings()) == WorkspaceSettings(
        updated_by="U0ADMIN"
    )


def test_each_problem_is_said_on_its_own_block() -> None:
    errors = parse_settings(
        _values(["not-a-channel"], "groups", [], [("Title only", ""), ("a\nb", "x")]), "U1", 0, NONE
    )
    assert isinstance(errors, dict)
    assert set(errors) == {
        ids.SETTINGS_CHANNELS_BLOCK,
        ids.SETTINGS_GROUPS_BLOCK,
        ids.SETTINGS_PROMPT_MESSAGE_BLOCK.format(n=1),
        ids.SETTINGS_PROMPT_TITLE_BLOCK.format(n=2),
    }
    too_many = parse_settings(
        _values([f"C{n:04d}" for n in range(CHANNELS_MAX + 1)]), "U1", 0, NONE
    )
    assert isinstance(too_many, dict) and ids.SETTINGS_CHANNELS_BLOCK in too_many
    groups = _values(None, "groups", [f"S{n:04d}" for n in range(GROUPS_MAX + 1)])
    refused = parse_settings(groups, "U1", 0, NONE)
    assert isinstance(refused, dict) and ids.SETTINGS_GROUPS_BLOCK in refused


def _submitted(modal: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """``view``'s values as Slack sends them for ``modal``: only its input blocks'."""
    inputs = {b.get("block_id") for b in modal["blocks"] if b["type"] == "input"}
    values = view["state"]["values"]
    return {"state": {"values": {k: v for k, v in values.items() if k in inputs}}}


def test_a_limit_the_modal_could_not_offer_is_kept_when_the_rest_is_saved() -> None:
    """Slack did not list the groups: the modal has no audience input, says the limit
    stays, and saving a channel change keeps the limit (a regression: it became everyone)."""
    for groups in (None, []):
        modal = build_settings_modal(LIMITED, groups)
        assert {ids.SETTINGS_AUDIENCE_BLOCK, ids.SETTINGS_GROUPS_BLOCK}.isdisjoint(
            b.get("block_id") for b in modal["blocks"]
        )
        note = str(modal["blocks"])
        assert "stays as it is" in note and "<!subteam^S0SALES>" in note
        assert "Everyone may start agents" not in note
        view = _submitted(modal, _values(["C0NEW"], "everyone", []))
        parsed = parse_settings(view, "U0ADMIN", 5.0, LIMITED)
        assert isinstance(parsed, WorkspaceSettings)
        assert parsed.channels == ("C0NEW",)
        assert (parsed.audience, parsed.groups) == (Audience.GROUPS, ("S0SALES",))
    # With the groups listed, the inputs are there and what they say is saved.
    modal = build_settings_modal(LIMITED, GROUPS)
    parsed = parse_settings(_submitted(modal, _values([], "everyone", [])), "U1", 0, LIMITED)
    assert isinstance(parsed, WorkspaceSettings) and parsed.audience is Audience.EVERYONE
    # Not limited, groups unlisted: the note says everyone may, and everyone stays.
    assert "Everyone may start agents" in str(build_settings_modal(NONE, None)["blocks"])


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=30), inner, max_size=5)
    ),
    max_leaves=30,
)
_BLOCKS = [
    ids.SETTINGS_CHANNELS_BLOCK,
    ids.SETTINGS_AUDIENCE_BLOCK,
    ids.SETTINGS_GROUPS_BLOCK,
    *(ids.SETTINGS_PROMPT_TITLE_BLOCK.format(n=n) for n in range(1, 5)),
    *(ids.SETTINGS_PROMPT_MESSAGE_BLOCK.format(n=n) for n in range(1, 5)),
]
_ACTIONS = [
    ids.SETTINGS_CHANNELS_INPUT,
    ids.SETTINGS_AUDIENCE_INPUT,
    ids.SETTINGS_GROUPS_INPUT,
    ids.SETTINGS_PROMPT_INPUT,
]
_element = st.fixed_dictionaries(
    {},
    optional={
        "selected_conversations": st.lists(
            st.sampled_from(["C0A", "G0B", "D0C", "x", ""]) | st.text(max_size=40), max_size=120
        )
        | _json,
        "selected_option": st.fixed_dictionaries(
            {"value": st.sampled_from(["groups", "everyone", "x"]) | _json}
        )
        | _json,
        "selected_options": st.lists(
            st.fixed_dictionaries({"value": st.sampled_from(["S0A", "S1", "x"]) | _json}),
            max_size=40,
        )
        | _json,
        "value": st.text(max_size=2_100) | _json,
    },
)
_view = st.one_of(
    _json,
    st.fixed_dictionaries(
        {
            "state": st.fixed_dictionaries(
                {
                    "values": st.dictionaries(
                        st.sampled_from(_BLOCKS),
                        st.dictionaries(st.sampled_from(_ACTIONS), _element | _json, max_size=2),
                        max_size=len(_BLOCKS),
                    )
                }
            )
        }
    ),
)


@settings(max_examples=50, deadline=None)
@given(view=_view)
def test_any_submission_gives_bounded_settings_or_errors_on_the_modal(view: Any) -> None:
    parsed = parse_settings(view, "U0ADMIN", 1.0, LIMITED)
    if isinstance(parsed, dict):
        assert parsed and set(parsed) <= set(_BLOCKS)
        assert all(isinstance(e, str) and 0 < len(e) <= 2_000 for e in parsed.values())
        return
    assert len(parsed.channels) <= CHANNELS_MAX and len(parsed.groups) <= GROUPS_MAX
    assert len(parsed.prompts) <= 4
    assert parsed.audience is Audience.EVERYONE or parsed.groups
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}
    if ids.SETTINGS_AUDIENCE_BLOCK not in values:  # no input for it: kept as it was
        assert parsed.audience is LIMITED.audience
    if ids.SETTINGS_GROUPS_BLOCK not in values:
        assert parsed.groups == LIMITED.groups
    # What was parsed is what a modal shows again, and Slack takes that modal.
    assert view_errors(build_settings_modal(parsed, GROUPS)) == []


def test_the_modal_and_the_section_are_views_slack_takes() -> None:
    full = WorkspaceSettings(
        channels=tuple(f"C{n:04d}" for n in range(CHANNELS_MAX)),
        audience=Audience.GROUPS,
        groups=("S0SALES", "S0GONE"),
        prompts=tuple(SuggestedPrompt(title="t" * 75, message="m" * 2_000) for _ in range(4)),
    )
    for groups in (GROUPS, [], None):
        assert view_errors(build_settings_modal(full, groups)) == []
        assert view_errors(build_settings_modal(WorkspaceSettings(), groups)) == []
    assert view_errors(build_settings_only_admins_modal()) == []
    for may_manage in (True, False):
        home = build_home([build_settings_section(full, may_manage=may_manage)])
        assert view_errors(home, kind="home") == []
        assert ("open_settings" in str(home)) is may_manage
    assert "and 90 more" in str(build_home([build_settings_section(full, may_manage=False)]))


def test_who_may_be_answered_where() -> None:
    limited = WorkspaceSettings(channels=("C0YES",), audience=Audience.GROUPS, groups=("S1",))
    assert limited.refusal_where("C0YES") is None
    assert limited.refusal_where("D0DM") is None  # a DM is never left out
    assert limited.refusal_where("C0NO") is NotAllowed.CHANNEL
    assert limited.refusal_of(True) is None
    assert limited.refusal_of(False) is NotAllowed.GROUP
    assert limited.refusal_of(None) is NotAllowed.UNCHECKED
    assert WorkspaceSettings().refusal_where("C0ANY") is None
    assert WorkspaceSettings().refusal_of(False) is None
    # Settings that did not read refuse everyone, everywhere, DMs too.
    unreadable = WorkspaceSettings(unreadable=True)
    assert unreadable.refusal_where("D0DM") is NotAllowed.UNREADABLE
    assert "unreadable" not in unreadable.model_dump_json()


@settings(max_examples=50)
@given(answer=_json)
def test_slacks_group_answers_are_read_field_by_field(answer: Any) -> None:
    groups = to_groups(answer)
    assert len(groups) <= 100 and all(g.id.startswith("S") for g in groups)
    members = to_members(answer)
    assert members is None or all(m[0] in "UW" for m in members)
    wrapped = to_groups({"usergroups": [answer, {"id": "S0OK", "name": answer}]})
    assert [g.id for g in wrapped][-1:] == ["S0OK"]
