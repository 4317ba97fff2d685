"""App Home's builders and the conversation summaries they show, on their output: views
Slack takes whatever was stored or answered, and summaries read back safely."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import StartedConversation
from bot.slack.blocks import build_home
from bot.slack.blocks.common import context_block
from bot.slack.blocks.home import MAX_HOME_BLOCKS
from bot.slack.blocks.home_connection import build_account_section, build_connection_section
from bot.slack.blocks.home_recent import build_recent_section, permalink
from bot.stores.summaries import fields_of, load
from bot.summaries import (
    TABLE_NAME_MAX,
    TABLES_MAX,
    AccountFacts,
    AccountState,
    ConversationStatus,
    RecentConversation,
    Summary,
    TableCount,
)
from tests.fakes.slack import view_errors

NOW = 1_800_000_000.0


def _recent(n: int, name: str = "Leads <&> | *bold*" * 8) -> list[RecentConversation]:
    tables = tuple(TableCount(name[:TABLE_NAME_MAX], 10**9) for _ in range(TABLES_MAX))
    return [
        RecentConversation(
            StartedConversation("C0CHAN", f"1700000000.{i:06d}", "<!channel> | " + "x" * 80, NOW),
            Summary(ConversationStatus.ANSWERED, NOW - 60 * i, tables),
        )
        for i in range(n)
    ]


def test_a_full_home_is_a_view_slack_takes() -> None:
    account = AccountFacts(AccountState.READ, "<Acme>" * 40, "Pro" * 70, 1e12)
    view = build_home(
        [
            build_connection_section(None, account, may_manage=True),
            build_recent_section(_recent(10), "https://acme.slack.com/", now=NOW),
        ]
    )
    assert view_errors(view, kind="home") == []
    shown = json.dumps(view)
    assert "<!channel>" not in shown  # a person's title pings nobody
    assert "+2 more" in shown and "1,000,000,000 leads" in shown


def test_the_home_view_stays_within_100_blocks_and_says_when_it_was_cut() -> None:
    many = [[context_block("a line", f"s{s}:{n}") for n in range(30)] for s in range(4)]
    view = build_home([build_recent_section(_recent(10), "", now=NOW), *many])
    assert len(view["blocks"]) == MAX_HOME_BLOCKS
    assert view["blocks"][-1]["block_id"] == "home_clipped"
    assert view_errors(view, kind="home") == []


def test_every_account_state_and_an_empty_or_unreadable_list_have_a_plain_line() -> None:
    for state in AccountState:
        view = build_home([build_account_section(AccountFacts(state))])
        assert view_errors(view, kind="home") == []
    assert "haven't started" in json.dumps(build_recent_section([], ""))
    assert "can't be listed" in json.dumps(build_recent_section(None, ""))


def test_a_permalink_is_made_only_of_what_slack_sends() -> None:
    assert (
        permalink("https://acme.slack.com/", "C0CHAN", "1700000000.000100")
        == "https://acme.slack.com/archives/C0CHAN/p1700000000000100"
    )
    assert permalink("javascript:alert(1)//", "C0CHAN", "1.2") is None
    assert permalink("https://acme.slack.com/", "C0CHAN|x", "1.2") is None
    assert permalink("https://acme.slack.com/", "C0CHAN", "1.2>") is None


def test_a_summary_round_trips() -> None:
    summary = Summary(ConversationStatus.NEEDS_ANSWER, 1234.0, (TableCount("A", 3),))
    fields = fields_of(summary)
    assert load(fields["home"], fields["tables"], busy=False) == summary
    working = load(fields["home"], fields["tables"], busy=True)
    assert working is not None and working.status is ConversationStatus.WORKING


@settings(max_examples=50)
@given(
    home=st.one_of(st.none(), st.text(max_size=40)),
    tables=st.one_of(
        st.none(),
        st.text(max_size=80),
        st.lists(
            st.lists(st.one_of(st.text(max_size=300), st.integers(), st.none()), max_size=3),
            max_size=20,
        ).map(json.dumps),
    ),
    busy=st.booleans(),
)
def test_whatever_redis_holds_a_summary_reads_back_bounded_or_not_at_all(
    home: str | None, tables: str | None, busy: bool
) -> None:
    summary = load(home, tables, busy=busy)
    if summary is None:
        assert not busy
        return
    assert len(summary.tables) <= TABLES_MAX
    assert all(len(t.name) <= TABLE_NAME_MAX and t.leads >= 0 for t in summary.tables)
