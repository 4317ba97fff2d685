"""A table still being enriched: its card and preview brought up to date in a posted
result (``bot.slack.blocks.enriching``), the line once it is done, and the pace of its
re-reads; generated Origami table payloads (hypothesis) where the input is untrusted."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.enrichment import EnrichmentConfig, Following, figures, finished_owner, wait_s
from bot.origami.models import Table
from bot.previews import to_preview
from bot.slack.blocks import build_result
from bot.slack.blocks.common import Message
from bot.slack.blocks.enriching import build_enriched, with_card, with_preview
from bot.slack.blocks.tables import TableChange
from bot.stores.enrichment import FollowedTable, TablePlace
from tests.fakes.origami import lead_rows, make_table
from tests.unit.test_previews import EVIL, PROPERTY, RUN_ID, assert_valid, run_with, table_of

APP_URL = "https://origami.chat"


def _result(*tables: Table) -> list[Message]:
    previews = {t.id: to_preview(t, lead_rows(t.model_dump(by_alias=True)), None) for t in tables}
    return build_result(run_with(list(tables)), elapsed_s=3, previews=previews)


def _card_of(blocks: list[dict[str, Any]], index: int) -> dict[str, Any]:
    for block in blocks:
        cards = block["elements"] if block["type"] == "carousel" else [block]
        for card in cards:
            if card["type"] == "card" and card["block_id"].startswith(f"table:{index}:"):
                return dict(card)
    raise AssertionError(f"no card {index}")


def _update(messages: list[Message], table: Table, index: int, state: Following) -> list[Message]:
    return [
        Message(
            m.text,
            with_card(
                m.blocks,
                table,
                index=index,
                run_id=RUN_ID,
                app_url=APP_URL,
                change=TableChange(created=True),
                state=state,
            ),
        )
        for m in messages
    ]


def test_a_filling_card_is_updated_and_its_alert_goes_when_done() -> None:
    before = table_of(make_table("Austin founders", 20, qualified=9, credits=60, running_cells=8))
    [message] = _result(before)
    assert [b["block_id"] for b in message.blocks if b["type"] == "alert"] == ["enriching:0"]
    later = table_of(make_table("Austin founders", 20, qualified=11, credits=70, running_cells=3))
    [filling] = _update([message], later, 0, Following.FILLING)
    card = _card_of(filling.blocks, 0)
    assert card["subtitle"]["text"] == "20 leads · 11 qualified"
    assert card["body"]["text"] == "New table · 70 credits used"
    [alert] = [b for b in filling.blocks if b["type"] == "alert"]
    assert alert["text"]["text"].startswith("⏳ 3 leads are still being enriched")
    # Everything else is as it was: the same blocks, in the same order.
    ids = [b.get("block_id") for b in message.blocks]
    assert [b.get("block_id") for b in filling.blocks] == ids
    done = table_of(make_table("Austin founders", 20, qualified=12, credits=76))
    [finished] = _update([message], done, 0, Following.DONE)
    assert not any(b["type"] == "alert" for b in finished.blocks)
    [given_up] = _update([message], later, 0, Following.GIVEN_UP)
    [alert] = [b for b in given_up.blocks if b["type"] == "alert"]
    assert "stopped updating this card" in alert["text"]["text"]
    assert_valid([filling, finished, given_up])


def test_only_the_followed_card_of_a_carousel_changes() -> None:
    quiet = table_of(make_table("Boston", 6, table_id="tbl-a"))
    busy = table_of(make_table("Denver", 10, credits=30, running_cells=4, table_id="tbl-b"))
    messages = _result(quiet, busy)
    later = table_of(make_table("Denver", 10, credits=38, table_id="tbl-b"))
    updated = _update(messages, later, 1, Following.DONE)
    assert _card_of(updated[0].blocks, 0) == _card_of(messages[0].blocks, 0)
    assert "38 credits used" in _card_of(updated[0].blocks, 1)["body"]["text"]
    assert not any(b["type"] == "alert" for m in updated for b in m.blocks)
    assert_valid(updated)


def test_a_preview_is_replaced_in_place() -> None:
    table = table_of(make_table("Austin founders", 8, running_cells=2, table_id="tbl-1"))
    [message] = _result(table)
    rows = [{"name": f"Lead {n}", "company": "Acme"} for n in range(8)]
    blocks = with_preview(message.blocks, to_preview(table, rows, 8), table.name, 0)
    [preview] = [b for b in blocks if b["type"] == "table"]
    assert preview["rows"][1][0] == {"type": "raw_text", "text": "Lead 0"}
    assert len(blocks) == len(message.blocks)


def test_the_finished_line_names_the_final_counts_without_marks_in_its_preview() -> None:
    table = table_of(make_table("Austin *founders*", 20, qualified=14, credits=76))
    message = build_enriched(table)
    assert message.blocks[0]["text"]["text"] == (
        "✅ *Austin *founders** is fully enriched: 20 leads, 14 qualified, 76 credits used."
    )
    assert message.text.startswith("✅ Austin")
    assert_valid([message])
    untitled = build_enriched(table_of(make_table("", 1, credits=1)))
    assert "1 lead, 1 credit used" in untitled.blocks[0]["text"]["text"]


def test_re_reads_start_at_the_first_wait_and_grow_to_the_most() -> None:
    config = EnrichmentConfig(first_read_s=30, max_wait_s=120)
    waits = [wait_s(config, t) for t in (0, 60, 300, 600, 1800)]
    assert waits[0] == 30 and waits == sorted(waits) and waits[-1] == 120
    assert 30 < waits[2] <= 60


# -- generated input -----------------------------------------------------------------------

_junk = st.one_of(
    st.none(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.booleans(),
)
_name = st.text(max_size=300) | st.sampled_from([EVIL, "", " ", "*bold*"])


@st.composite
def _reread(draw: st.DrawFn) -> dict[str, Any]:
    """A ``GET /tables/{id}`` answer as it may come: valid or not, field by field."""
    base = make_table(
        draw(_name),
        draw(st.integers(min_value=0, max_value=10**6)),
        running_cells=draw(st.integers(min_value=0, max_value=10**4)),
        qualified=draw(st.none() | st.integers(min_value=0, max_value=10)),
        table_id="tbl-1",
    )
    for field in draw(st.sets(st.sampled_from(["leadCount", "cells", "credits", "stats"]))):
        base[field] = draw(_junk | st.dictionaries(st.text(max_size=12), _junk, max_size=4))
    return base


@PROPERTY
@given(payload=_reread(), state=st.sampled_from(list(Following)))
def test_any_re_read_table_updates_a_card_within_slacks_limits(
    payload: dict[str, Any], state: Following
) -> None:
    posted = table_of(make_table("Austin founders", 20, running_cells=5, table_id="tbl-1"))
    messages = _result(posted)
    table = Table.model_validate(payload)
    assert figures(table)  # never raises, whatever came
    updated = _update(messages, table, 0, state)
    assert_valid(updated)
    assert [len(m.blocks) for m in updated] <= [len(m.blocks) for m in messages]
    finished = build_enriched(table)
    assert_valid([finished])
    shown = " ".join(_mrkdwn([m.blocks for m in updated] + [finished.blocks]))
    assert "<!channel>" not in shown and "<@U123>" not in shown


def _mrkdwn(node: Any) -> list[str]:
    """Every mrkdwn text in ``node`` (where Slack would turn ``<!channel>`` into a ping)."""
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "mrkdwn" else []
        return found + [t for value in node.values() for t in _mrkdwn(value)]
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn(item)]
    return []


def test_the_done_line_is_the_threads_and_tables_not_the_runs() -> None:
    def followed(run_id: str, thread_ts: str = "1.000100") -> FollowedTable:
        return FollowedTable("T1", "C1", thread_ts, run_id, "tbl", TablePlace(0, "1.2"), 0, 1)

    ended = "20|14|76|0|2026-01-01T00:00:00Z"
    # Two runs of a thread showing one table: one line when it is done.
    assert finished_owner(followed("run-1"), ended) == finished_owner(followed("run-2"), ended)
    # Another thread, or the same table enriched again and ending otherwise: a line of its own.
    assert finished_owner(followed("run-1"), ended) != finished_owner(
        followed("run-1", "2.000200"), ended
    )
    assert finished_owner(followed("run-1"), ended) != finished_owner(
        followed("run-2"), "25|14|86|0|2026-01-01T00:05:00Z"
    )


def test_a_followed_tables_record_is_one_flat_hash_that_reads_back_the_same() -> None:
    from bot.stores.enrichment import _dump, _load

    followed = FollowedTable(
        "T1", "C1", "1.0001", "run-1", "tbl", TablePlace(2, "1.2", "1.3", True, 7), 5, 9, "s"
    )
    raw = _dump(followed)
    # The layout records written before the place was a field of its own have (the settle
    # script writes ``seen`` alone into it).
    assert set(raw) == {
        "team", "channel", "thread_ts", "run_id", "table_id", "index", "card_ts",
        "preview_ts", "created", "leads_added", "since_ms", "until_ms", "seen",
    }  # fmt: skip
    assert _load(raw) == followed
    assert _load({k: v for k, v in raw.items() if k != "seen"}) == followed.__class__(
        "T1", "C1", "1.0001", "run-1", "tbl", TablePlace(2, "1.2", "1.3", True, 7), 5, 9
    )
    assert _load({"team": '"T1"'}) is None
