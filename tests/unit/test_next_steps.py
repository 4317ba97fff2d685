"""What each next step does, from its Origami ``type``, parsed tolerantly field by field."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import NextStep, RunOutcome, StepKind
from bot.next_step_kinds import to_next_step, to_next_steps
from bot.origami.models import Table
from bot.origami.next_actions import NextAction, NextActionType
from tests.fakes.origami import make_table, next_action

AUSTIN = Table.model_validate(make_table("Austin founders", 3))
DENVER = Table.model_validate(make_table("Denver founders", 2))


def step(data: dict[str, Any], tables: list[Table] | None = None) -> NextStep:
    return to_next_step(NextAction.model_validate(data), tables or [AUSTIN, DENVER])


def test_each_type_does_what_it_says() -> None:
    assert step(next_action("Export", "export_csv", "austin-founders")) == NextStep(
        StepKind.EXPORT_CSV, AUSTIN.id
    )
    assert step(next_action("Export", "export_csv", "Denver Founders")).table_id == DENVER.id
    assert step(next_action("Export", "export_csv", DENVER.id)).table_id == DENVER.id
    assert step(next_action("Upload", "upload_csv")) == NextStep(StepKind.ASK_FOR_FILE)
    assert step(next_action("Run this every Monday", "schedule_play")) == NextStep(
        StepKind.SCHEDULE
    )
    for kind in ("find_more_leads", "send_messages", "input_required"):
        assert step(next_action("Go", kind)) == NextStep(StepKind.PROMPT)
    assert step(next_action("Go")) == NextStep(StepKind.PROMPT)


def test_an_export_it_cannot_place_is_a_prompt_and_the_agent_is_asked() -> None:
    assert step(next_action("Export", "export_csv", "no-such-table")).kind is StepKind.PROMPT
    # No table named: the run's only table, else nothing to guess from.
    assert step(next_action("Export", "export_csv"), [AUSTIN]).table_id == AUSTIN.id
    assert step(next_action("Export", "export_csv")).kind is StepKind.PROMPT
    assert step(next_action("Export", "export_csv"), []).kind is StepKind.PROMPT


def test_an_unknown_or_broken_type_reads_as_a_label() -> None:
    for raw in ("teleport", 7, {"x": 1}, ["export_csv"], "", "EXPORT_CSV"):
        action = NextAction.model_validate({"label": "Go", "type": raw})
        assert action.type is None and action.label == "Go"
    assert NextAction.model_validate({"label": "Go", "type": "export_csv"}).type == (
        NextActionType.EXPORT_CSV
    )
    assert NextAction.model_validate({"label": "x", "tableSlug": "a" * 201}).table_slug is None


@settings(max_examples=50)
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "label": st.one_of(st.text(max_size=50), st.integers()),
                "type": st.one_of(st.sampled_from(list(NextActionType)), st.text(max_size=20)),
                "tableSlug": st.one_of(st.none(), st.text(max_size=30), st.integers()),
            },
        ),
        max_size=8,
    )
)
def test_any_next_actions_give_one_step_each(raw: list[dict[str, Any]]) -> None:
    actions = [NextAction.model_validate(item) for item in raw]
    steps = to_next_steps(actions, [AUSTIN, DENVER])
    assert len(steps) == len(actions)
    for found in steps:
        assert (found.kind is StepKind.EXPORT_CSV) == bool(found.table_id)
        assert found.table_id in ("", AUSTIN.id, DENVER.id)


def test_an_outcome_saved_before_typed_steps_reads_every_step_as_a_prompt() -> None:
    outcome = RunOutcome(status="completed", next_actions=["a", "b"], table_ids=[])
    assert outcome.step(1) == NextStep(StepKind.PROMPT)


def _result_with(actions: list[dict[str, Any]], tables: list[Table]) -> list[dict[str, Any]]:
    from bot.origami.models import Run
    from bot.slack.blocks import build_result

    run = Run.model_validate(
        {
            "id": "v2_run-7f3a",
            "status": "completed",
            "response": {
                "text": "Found them.",
                "actions": [],
                "tables": [t.model_dump(by_alias=True) for t in tables],
            },
            "todo": {"nextActions": actions},
        }
    )
    return [b for m in build_result(run, elapsed_s=1) for b in m.blocks]


def _step_buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    [actions] = [b for b in blocks if b.get("block_id") == "next_actions"]
    return [(e["action_id"], e["text"]["text"]) for e in actions["elements"]]


def test_an_export_csv_step_is_left_out_where_its_tables_card_offers_the_csv() -> None:
    actions = [
        next_action("Find more", "find_more_leads"),
        next_action("Export as CSV", "export_csv", "austin-founders"),
        next_action("Export Miami as CSV", "export_csv", "miami-founders"),  # not the run's
    ]
    blocks = _result_with(actions, [AUSTIN, DENVER])
    # Austin's card has Export CSV: one button for it. Each button keeps its step's index.
    assert _step_buttons(blocks) == [
        ("next_action:0", "Find more"),
        ("next_action:2", "Export Miami as CSV"),
    ]
    assert "Export as CSV" not in str(blocks)
    # A result whose only step is the card's own export has no next steps at all.
    only = _result_with([next_action("Export as CSV", "export_csv")], [AUSTIN])
    assert not any(str(b.get("block_id", "")).startswith("next") for b in only)


def test_an_export_step_is_left_out_exactly_where_the_card_has_export_csv() -> None:
    # A table id the buttons cannot carry: its card has no Export CSV, so the step stays.
    odd = Table.model_validate({**make_table("Odd founders", 3), "id": "x" * 300})
    for table, on_card in ((AUSTIN, True), (odd, False)):
        blocks = _result_with([next_action("Export as CSV", "export_csv", table.id)], [table])
        [card] = [b for b in blocks if b["type"] == "card"]
        card_ids = [e["action_id"] for e in card.get("actions", [])]
        assert ("export_csv" in card_ids) is on_card
        steps = [b for b in blocks if b.get("block_id") == "next_actions"]
        assert bool(steps) is not on_card
