"""Pasted table links, as untrusted input: which URL names a table, and unfurls Slack
takes (a Work Object the fake would not warn about, classic blocks within limits)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.origami.links import to_table_id
from bot.origami.models import Table
from bot.slack import payloads
from bot.slack.blocks.unfurls import build_table_entity, build_table_unfurl
from tests.fakes.origami import make_table, table_url
from tests.fakes.slack import _entity_problems, block_errors

APP = "https://origami.chat"


def test_only_the_documented_link_on_the_apps_host_names_a_table() -> None:
    assert to_table_id("https://origami.chat/workspace/w1?table=t-1", APP) == "t-1"
    assert to_table_id("https://ORIGAMI.chat/workspace/w1?table=t-1&x=2", APP) == "t-1"
    for url in (
        "http://origami.chat/workspace/w1?table=t1",
        "https://origami.chat.evil.example/workspace/w1?table=t1",
        "https://evil.example/workspace/w1?table=t1",
        "https://origami.chat:8443/workspace/w1?table=t1",
        "https://origami.chat:bad/workspace/w1?table=t1",
        "https://origami.chat/tables?table=t1",
        "https://origami.chat/workspace/w1?table=t1&table=t2",
        "https://origami.chat/workspace/w1?table=../x",
        "https://origami.chat/workspace/w1",
        "https://origami.chat/workspace/w1?table=" + "a" * 200,
    ):
        assert to_table_id(url, APP) is None, url


@settings(max_examples=50)
@given(st.text(max_size=300))
def test_any_text_is_a_url_or_none(url: str) -> None:
    found = to_table_id(url, APP)
    assert found is None or (0 < len(found) <= 128)


def test_a_link_shared_events_urls_each_once_and_bounded() -> None:
    links = [{"url": f"https://origami.chat/{n % 3}"} for n in range(9)] + [{"url": 7}, "x"]
    assert payloads.to_link_urls({"links": links}) == [
        "https://origami.chat/0",
        "https://origami.chat/1",
        "https://origami.chat/2",
    ]
    many = [{"url": f"https://origami.chat/{n}"} for n in range(30)]
    assert len(payloads.to_link_urls({"links": many})) == payloads.MAX_LINKS
    assert payloads.to_link_urls({"links": "nope"}) == []


@settings(max_examples=50)
@given(
    st.text(max_size=400),
    st.integers(min_value=0, max_value=10**9),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
    st.integers(min_value=0, max_value=50),
)
def test_any_table_unfurls_as_slack_takes_it(
    name: str, leads: int, qualified: int | None, running: int
) -> None:
    raw = make_table("x", 1, qualified=qualified, running_cells=running)
    raw.update(name=name, leadCount=leads)
    table = Table.model_validate(raw)
    url = table_url(str(raw["workspaceId"]), table.id)
    assert _entity_problems([build_table_entity(table, url)], [url]) == []
    assert block_errors(build_table_unfurl(table)["blocks"]) == []
