"""Schedules' pure parts: the untrusted scheduled-agent and runs payloads, the modal's
choices and custom cron, its submission read field by field, and the builders (within
Slack's limits, as the fake Slack checks them)."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.origami.scheduled import ScheduledAgent, ScheduledAgentPage, ScheduledRuns
from bot.schedules.manage import ScheduleForm, schedule_name
from bot.schedules.records import ScheduleRecord, ScheduleView
from bot.schedules.when import CRONS, LABELS, When, cron_for, describe, normalise_cron, to_when
from bot.slack.blocks.schedules import (
    build_run_opener,
    build_runs_waiting,
    build_schedule_modal,
    build_scheduled_confirmation,
    build_schedules_home,
    build_schedules_list,
)
from bot.slack.schedule_form import to_form
from tests.fakes.origami_schedules import cron_problem
from tests.fakes.slack import message_errors, view_errors
from tests.fakes.slack_views import view_ack_errors

UUID = "3f1c2a9e-7b5d-4c1e-9a2f-0d8e6b4c3a21"
AGENT = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
RUN_FIELDS = ("id", "runId", "agentId", "status", "createdAt", "handoff")
SCHEDULE_FIELDS = ("name", "prompt", "cron", "enabled", "planBlocked", "nextRunAt", "url")


def record(**changes: Any) -> ScheduleRecord:
    fields: dict[str, Any] = {
        "team": "T0001",
        "schedule_id": UUID,
        "channel": "C0CHAN",
        "creator": "U0USER",
        "name": "find founders <!channel> & more",
        "cron": "0 9 * * 1",
        "prompt": "find founders",
    }
    return ScheduleRecord(**(fields | changes))


def test_a_runs_item_names_its_run_and_agent_or_is_left_out() -> None:
    page = ScheduledRuns.model_validate(
        {
            "object": "list",
            "items": [
                {"id": "v2_run-abc", "agentId": AGENT, "status": "completed"},
                {"runId": "v2_run-def", "agentId": AGENT, "createdAt": "2026-12-01T09:00:00Z"},
                {"id": "v2_run-ghi"},  # no agent: it cannot be continued
                {"id": "../../etc", "agentId": AGENT},  # not an id: never put in a path
                {"id": "v2_run-jkl", "agentId": AGENT, "createdAt": "yesterday"},
                "not an object",
            ],
            "nextCursor": None,
        }
    )
    assert [(r.run_id, r.agent_id) for r in page.items] == [
        ("v2_run-abc", AGENT),
        ("v2_run-def", AGENT),
        ("v2_run-jkl", AGENT),
    ]
    assert page.items[2].created_at is None  # a bad field reads as absent


def test_a_run_id_is_kept_up_to_the_specs_128_characters() -> None:
    longest, too_long = "v2_run-" + "a" * 121, "v2_run-" + "a" * 122
    page = ScheduledRuns.model_validate(
        {"items": [{"id": i, "agentId": AGENT} for i in (longest, too_long, "x" * 65)]}
    )
    assert [r.run_id for r in page.items] == [longest, "x" * 65]


@settings(max_examples=50)
@given(
    st.lists(
        st.fixed_dictionaries({}, optional={k: JSON_VALUES for k in RUN_FIELDS}) | JSON_VALUES,
        max_size=6,
    )
)
def test_any_runs_payload_parses_to_runs_with_usable_ids(items: list[Any]) -> None:
    for run in ScheduledRuns.model_validate({"items": items}).items:
        # The spec's RunId: up to 128; the agent's id is an Origami id (a uuid's 36 fit).
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,128}", run.run_id)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", run.agent_id)
        assert len(run.status) <= 40


@settings(max_examples=50)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"id": st.just(UUID)}, optional={k: JSON_VALUES for k in SCHEDULE_FIELDS}
        )
        | JSON_VALUES,
        max_size=5,
    )
)
def test_any_scheduled_agents_page_parses_field_by_field(items: list[Any]) -> None:
    for schedule in ScheduledAgentPage.model_validate({"items": items}).items:
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", schedule.id)
        assert isinstance(schedule.enabled, bool) and len(schedule.cron) <= 100
        assert len(schedule.name) <= 2_000


def test_a_scheduled_agent_as_documented() -> None:
    schedule = ScheduledAgent.model_validate(
        {
            "object": "scheduled_agent",
            "id": UUID,
            "workspaceId": None,
            "slug": "find-founders",
            "name": "find founders",
            "description": None,
            "prompt": "find founders",
            "cron": "0 9 * * 1",
            "model": None,
            "enabled": True,
            "planBlocked": False,
            "nextRunAt": "2026-12-07T09:00:00Z",
            "lastRunAt": None,
            "url": "https://origami.chat/scheduled/x",
        }
    )
    assert (schedule.enabled, schedule.next_run_at, schedule.cron) == (
        True,
        "2026-12-07T09:00:00Z",
        "0 9 * * 1",
    )


def test_each_choice_is_a_cron_origami_takes_and_is_said_in_words() -> None:
    for when, cron in CRONS.items():
        assert cron_for(when, "ignored") == cron
        assert cron_problem(cron) is None
        assert describe(cron) == LABELS[when]
    assert cron_for(When.CUSTOM, " 30  8 * * 1-5 ") == "30 8 * * 1-5"
    assert describe("30 8 * * 1-5") == "At 08:30, Monday through Friday (UTC)"
    assert cron_for(When.CUSTOM, "every monday") is None
    assert cron_for(When.CUSTOM, None) is None
    assert to_when("mondays") is When.MONDAYS and to_when("MONDAYS") is None
    assert to_when(["mondays"]) is None


@settings(max_examples=50)
@given(st.text(max_size=120) | JSON_VALUES)
def test_any_typed_cron_is_refused_or_five_plain_fields(typed: Any) -> None:
    cron = normalise_cron(typed)
    if cron is not None:
        fields = cron.split(" ")
        assert len(fields) == 5 and all(re.fullmatch(r"[0-9A-Za-z*/,\-?LW#]+", f) for f in fields)
        assert len(cron) <= 100
        assert describe(cron)  # whatever Origami would say of it, it can be shown


@settings(max_examples=50)
@given(st.sampled_from(list(When)), st.text(max_size=40))
def test_a_choice_never_fails_to_be_read(when: When, typed: str) -> None:
    cron = cron_for(when, typed)
    assert cron is None or len(cron.split()) == 5


def submission(**fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "schedule_prompt": {"prompt": {"type": "plain_text_input", "value": "find founders"}},
        "schedule_when": {
            "when": {"type": "static_select", "selected_option": {"value": "weekdays"}}
        },
        "schedule_cron": {"cron": {"type": "plain_text_input", "value": None}},
        "schedule_channel": {
            "channel": {"type": "conversations_select", "selected_conversation": "C0CHAN"}
        },
    }
    values.update(fields)
    return {"state": {"values": values}}


def test_a_submission_reads_as_a_form_or_as_errors_under_its_fields() -> None:
    assert to_form(submission()) == ScheduleForm("find founders", "0 9 * * 1-5", "C0CHAN")
    custom = submission(
        schedule_when={"when": {"selected_option": {"value": "custom"}}},
        schedule_cron={"cron": {"value": "15 7 * * 2"}},
    )
    assert to_form(custom) == ScheduleForm("find founders", "15 7 * * 2", "C0CHAN")
    bad = submission(
        schedule_prompt={"prompt": {"value": "   "}},
        schedule_when={"when": {"selected_option": {"value": "hourly"}}},
        schedule_channel={"channel": {"selected_conversation": "U0USER"}},
    )
    assert set(to_form(bad)) == {"schedule_prompt", "schedule_when", "schedule_channel"}
    assert to_form({}) == to_form(None) == to_form({"state": "x"})
    assert "schedule_prompt" in to_form({"state": {"values": []}})  # type: ignore[operator]


@settings(max_examples=50)
@given(
    st.dictionaries(
        st.sampled_from(["schedule_prompt", "schedule_when", "schedule_cron", "schedule_channel"]),
        st.dictionaries(st.sampled_from(["prompt", "when", "cron", "channel"]), JSON_VALUES),
    )
)
def test_any_submission_is_a_form_or_errors_on_known_fields(values: dict[str, Any]) -> None:
    form = to_form({"state": {"values": values}})
    if isinstance(form, ScheduleForm):
        assert form.prompt.strip() == form.prompt and form.prompt
        assert len(form.cron.split()) == 5
        assert re.fullmatch(r"[CGD][A-Z0-9]{2,31}", form.channel)
    else:
        assert form and set(form) <= {
            "schedule_prompt",
            "schedule_when",
            "schedule_cron",
            "schedule_channel",
        }


def test_the_modal_and_its_acks_are_what_slack_takes() -> None:
    modal = build_schedule_modal("find founders " * 400, "C0CHAN", "C0CHAN:1.2")
    assert view_errors(modal) == []
    assert view_errors(build_schedule_modal("", "not a channel", "x")) == []
    assert (
        view_ack_errors(modal, {"response_action": "errors", "errors": {"schedule_cron": "no"}})
        == []
    )
    # What Slack refuses: an error under a block that is no input, or an empty message.
    assert view_ack_errors(modal, {"response_action": "errors", "errors": {"intro": "no"}})
    assert view_ack_errors(modal, {"response_action": "errors", "errors": {"schedule_cron": ""}})
    assert view_ack_errors(modal, {"response_action": "close"})
    # The fake refuses a conversation select Slack would refuse.
    select = next(b for b in modal["blocks"] if b["block_id"] == "schedule_channel")
    for bad in (
        {"initial_conversation": "U0USER"},
        {"filter": {"include": ["dm"]}},
        {"filter": {}},
        {"default_to_current_conversation": "yes"},
    ):
        select["element"].update(bad)
        assert view_errors(modal), bad
        select["element"] = {"type": "conversations_select", "action_id": "channel"}
    assert view_errors(modal) == []


def test_posts_and_home_are_within_slacks_limits_and_ping_nobody() -> None:
    built = (build_scheduled_confirmation, build_run_opener, build_runs_waiting)
    for message in (build(record()) for build in built):
        assert message_errors(message.blocks, message.text) == []
        assert "<!channel>" not in str(message.blocks) and "&lt;!channel&gt;" in message.text
    views = [
        ScheduleView(
            record(schedule_id=f"s{n}", name="x" * 500), n % 2 == 0, "2026-12-07T09:00:00Z"
        )
        for n in range(60)
    ]
    home = {"type": "home", "blocks": build_schedules_home(views, may_change=frozenset({"s0"}))}
    assert view_errors(home, kind="home") == []
    assert len(home["blocks"]) <= 50  # the rest of App Home shares Slack's 100
    listed = build_schedules_list(views)
    assert message_errors(listed.blocks, listed.text) == []
    assert "<!date^1796634000^" in str(home["blocks"])


def test_a_schedules_name_is_its_prompts_first_line_within_origamis_120() -> None:
    assert schedule_name("  find founders\nin Austin") == "find founders"
    assert len(schedule_name("x" * 500)) <= 120
    assert schedule_name("   ") == "Slack schedule"


def test_the_fakes_cron_rule() -> None:
    assert cron_problem("0 9 * * 1-5") is None and cron_problem("0 */2 * * *") is None
    assert cron_problem("0 * * * *") is None  # hourly: the most often allowed
    assert cron_problem("*/30 * * * *") == "CRON_TOO_FREQUENT"
    assert cron_problem("0,30 9 * * *") == "CRON_TOO_FREQUENT"
    assert cron_problem("61 9 * * *") == "INVALID_CRON"
    assert cron_problem("0 9 * *") == "INVALID_CRON" and cron_problem(None) == "INVALID_CRON"
