"""Origami table links pasted in Slack unfurl with the table's live figures, as a Work
Object and a classic unfurl; a table the workspace's key cannot see unfurls as nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import AppProcess
from tests.e2e.test_conversations import CHANNEL, texts_of
from tests.fakes.origami import make_table, table_url


async def paste(app: AppProcess, *urls: str, **kwargs: Any) -> str:
    event = app.slack.paste_links(CHANNEL, list(urls), **kwargs)
    assert (await app.post_event(event)).status_code == 200
    return str(event["message_ts"])


def fields_of(entity: dict[str, object]) -> dict[str, object]:
    payload = entity["entity_payload"]
    assert isinstance(payload, dict)
    return {f["key"]: f["value"] for f in payload["custom_fields"]}


async def test_a_pasted_table_link_unfurls_with_its_live_figures(app: AppProcess) -> None:
    table = make_table("Austin founders", 20, qualified=14, credits=120, running_cells=3)
    app.origami.add_table(table)
    url = table_url(table["workspaceId"], table["id"])
    event = app.slack.paste_links(CHANNEL, [url, "https://example.com/not-ours"])
    assert (await app.post_event(event)).status_code == 200
    ts = str(event["message_ts"])
    await app.slack.wait_for(lambda s: s.unfurls(CHANNEL, ts), timeout=10)
    (shown,) = app.slack.unfurls(CHANNEL, ts).items()
    assert shown[0] == url
    entity, classic = shown[1]["entity"], shown[1]["unfurl"]
    assert entity["entity_type"] == "slack#/entities/item"
    assert entity["external_ref"] == {"id": table["id"], "type": "table"}
    assert entity["entity_payload"]["attributes"]["title"]["text"] == "Austin founders"
    assert fields_of(entity) == {
        "leads": 20,
        "qualified": 14,
        "credits": "120",
        "enrichment": "Still enriching",
    }
    everything = texts_of(classic)
    assert "*Austin founders*" in everything and "20 leads · 14 qualified" in everything
    assert "120 credits used" in everything and "Still enriching" in everything
    assert "Open in Origami" in everything
    # Live: the figures are read when the link is pasted, not when the table was made.
    (read,) = app.origami.requests("GET", f"/tables/{table['id']}")
    assert read.status == 200
    # Slack sending the same event again unfurls nothing more.
    assert (await app.post_event(event, retry_num=1)).status_code == 200
    later = make_table("Denver founders", 2)
    app.origami.add_table(later)
    after = await paste(app, table_url(later["workspaceId"], later["id"]))
    await app.slack.wait_for(lambda s: s.unfurls(CHANNEL, after), timeout=10)
    assert len(app.slack.calls("chat.unfurl")) == 2  # the retry's made none
    assert len(app.origami.requests("GET", f"/tables/{table['id']}")) == 1


async def test_a_table_of_another_organisation_unfurls_as_nothing(app: AppProcess) -> None:
    visible = make_table("Ours", 3)
    app.origami.add_table(visible)
    theirs = table_url(str(uuid.uuid4()), str(uuid.uuid4()))  # not this key's to see
    ts = await paste(app, theirs)
    await app.slack.wait_for(
        lambda s: app.origami.requests("GET", path_prefix="/tables/"), timeout=10
    )
    mixed = await paste(app, theirs, table_url(visible["workspaceId"], visible["id"]))
    await app.slack.wait_for(lambda s: s.unfurls(CHANNEL, mixed), timeout=10)
    assert app.slack.unfurls(CHANNEL, ts) == {}
    assert list(app.slack.unfurls(CHANNEL, mixed)) == [
        table_url(visible["workspaceId"], visible["id"])
    ]
    (call,) = app.slack.calls("chat.unfurl")  # nothing at all for the first paste
    assert theirs not in str(call.args)
    assert app.slack.ephemerals() == [] and app.slack.calls("chat.postMessage") == []


async def test_a_link_still_being_written_unfurls_by_its_unfurl_id(app: AppProcess) -> None:
    table = make_table("Composer", 5)
    app.origami.add_table(table)
    url = table_url(table["workspaceId"], table["id"])
    ts = await paste(app, url, source="composer")
    await app.slack.wait_for(lambda s: s.unfurls(CHANNEL, ts), timeout=10)
    (call,) = app.slack.calls("chat.unfurl")
    assert call.args["source"] == "composer" and "channel" not in call.args
