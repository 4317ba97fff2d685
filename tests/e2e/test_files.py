"""Files shared with a prompt reach the agent: downloaded from Slack with the bot token,
uploaded into the agent's Origami workspace, named in the run's attachments; once, even
when the app is killed between the download and the upload."""

from __future__ import annotations

import signal

import httpx

from tests.e2e.conftest import AppProcess, start_app, stop_app
from tests.e2e.test_conversations import (
    CHANNEL,
    follow_ups,
    mention,
    texts_of,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack

ACCOUNTS = b'Company,Domain\nFinlytic GmbH,finlytic.de\n"Pay, Nest",paynest.io\n'


async def share(app: AppProcess, thread_ts: str, text: str, *files: dict[str, object]) -> str:
    event = payloads.thread_reply(text, thread_ts=thread_ts, files=list(files))
    app.slack.add_message(CHANNEL, text, ts=event["ts"], thread_ts=thread_ts)
    assert (await app.post_event(event)).status_code == 200
    return str(event["ts"])


def bearer_downloads(slack: FakeSlack) -> list[str]:
    return [str(c.args["file"]) for c in slack.downloads() if c.ok]


async def test_a_csv_shared_in_a_thread_reaches_the_runs_attachments_once(
    app: AppProcess,
) -> None:
    app.origami.default_script = RunScript(polls=0, text="ok")
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    shared = app.slack.share_file("accounts.csv", ACCOUNTS)
    event = payloads.thread_reply("use this list", thread_ts=thread_ts, files=[shared])
    assert (await app.post_event(event)).status_code == 200
    assert (await app.post_event(event, retry_num=1)).status_code == 200  # Slack's retry
    await wait_finished(app, thread_ts, 2)
    (upload,) = app.origami.uploads()
    assert upload["content"] == ACCOUNTS and upload["mode"] == "table"
    (agent,) = app.origami.agents.values()
    assert upload["workspaceId"] == agent.workspace_id
    (run,) = follow_ups(app)
    assert run.body["prompt"] == "use this list"
    assert run.body["attachments"] == [{"kind": "table", "tableId": upload["tableId"]}]
    assert bearer_downloads(app.slack) == [shared["id"]]
    assert app.slack.ephemerals() == []


async def test_a_file_with_a_mention_starts_the_agent_in_a_workspace_with_it(
    app: AppProcess,
) -> None:
    app.origami.default_script = RunScript(polls=0, text="read it")
    pdf = app.slack.share_file("brief.pdf", b"%PDF-1.4 ideal customer profile")
    event = payloads.app_mention("")  # a file and the mention, no words
    event["files"] = [pdf]
    app.slack.add_message(CHANNEL, event["text"], ts=event["ts"])
    assert (await app.post_event(event)).status_code == 200
    await wait_finished(app, str(event["ts"]))
    (workspace,) = app.origami.workspaces
    (create,) = app.origami.requests("POST", "/agents")
    (upload,) = app.origami.uploads()
    assert create.body["workspaceId"] == upload["workspaceId"] == workspace
    assert create.body["attachments"] == [{"kind": "document", "documentId": upload["id"]}]
    assert "brief.pdf" in create.body["prompt"]


async def test_files_it_cannot_take_are_named_before_any_download(app: AppProcess) -> None:
    app.origami.default_script = RunScript(polls=0, text="ok")
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    archive = app.slack.share_file("leads.zip", b"PK\x03\x04")
    huge = app.slack.share_file("all.csv", b"a,b\n", size=50 * 1024 * 1024)
    gone = app.slack.share_file("partner.csv", ACCOUNTS, connect=True)
    app.slack.unshare_file(gone["id"])  # Slack Connect, and no longer there
    await share(app, thread_ts, "use these", archive, huge, gone)
    await wait_finished(app, thread_ts, 2)
    assert follow_ups(app)[0].body["prompt"] == "use these"
    assert "attachments" not in follow_ups(app)[0].body
    assert app.slack.downloads() == [] and app.origami.uploads() == []
    notes = "\n".join(texts_of(e) for e in app.slack.ephemerals(user=payloads.USER_ID))
    assert "`leads.zip`: it isn't a CSV, Excel, PDF or text file" in notes
    assert "`all.csv`: it is over 10 MB" in notes
    # Its name is Slack's to tell (files.info), and Slack no longer knows it.
    assert "`file`: I can't open it (a file from another organisation" in notes


async def test_a_slack_connect_file_is_read_after_files_info(app: AppProcess) -> None:
    app.origami.default_script = RunScript(polls=0, text="ok")
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    partner = app.slack.share_file("partner.csv", ACCOUNTS, connect=True)
    assert set(partner) == {"id", "mode", "file_access"}  # the event says nothing else
    await share(app, thread_ts, "", partner)  # a file alone, no words
    await wait_finished(app, thread_ts, 2)
    (info,) = app.slack.calls("files.info")
    assert info.args["file"] == partner["id"]
    (upload,) = app.origami.uploads()
    assert upload["filename"] == "partner.csv" and upload["content"] == ACCOUNTS
    (run,) = follow_ups(app)
    assert run.body["prompt"] == "Please use the files I've shared with this message."
    assert run.body["attachments"] == [{"kind": "table", "tableId": upload["tableId"]}]


async def test_killed_between_download_and_upload_the_csv_is_uploaded_once_and_attached(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.default_script = RunScript(polls=0, text="ok")
    hold = {"PROMPT_HOLD_SECONDS": "5", "WATCHER_LEASE_SECONDS": "5"}
    first = await start_app(slack, origami, real_redis_url, http, **hold)
    thread_ts = await mention(first, "find founders")
    await wait_finished(first, thread_ts)
    # The upload is held before Origami handles it: the file was downloaded, and Origami
    # has taken none of it when the process dies.
    origami.delay_next(1, 3.0, path_prefix="/workspaces/", after_execute=False)
    shared = slack.share_file("accounts.csv", ACCOUNTS)
    await share(first, thread_ts, "use this list", shared)
    await slack.wait_for(lambda s: origami.requests("POST", path_prefix="/workspaces/"), timeout=10)
    assert bearer_downloads(slack) == [shared["id"]]
    assert origami.uploads() == []
    await stop_app(first, signal.SIGKILL)
    second = await start_app(slack, origami, real_redis_url, http, **hold)
    try:
        await wait_finished(second, thread_ts, 2)
        # Downloaded again (the bytes are never kept), uploaded once: the second upload
        # went under the same Idempotency-Key, and Origami answered it with the first.
        assert bearer_downloads(slack) == [shared["id"]] * 2
        (upload,) = origami.uploads()
        (run,) = follow_ups(second)
        assert run.body["attachments"] == [{"kind": "table", "tableId": upload["tableId"]}]
        uploads = origami.requests("POST", path_prefix="/workspaces/")
        assert len({r.headers["Idempotency-Key"] for r in uploads}) == 1
    finally:
        print(await stop_app(second))
    assert slack.rejections == []


async def test_only_a_file_it_cannot_take_with_a_mention_says_why_and_how(
    app: AppProcess,
) -> None:
    archive = app.slack.share_file("leads.zip", b"PK\x03\x04")
    event = payloads.app_mention("")
    event["files"] = [archive]
    app.slack.add_message(CHANNEL, event["text"], ts=event["ts"])
    assert (await app.post_event(event)).status_code == 200
    await app.slack.wait_for(lambda s: s.ephemerals(), timeout=5)
    await app.slack.wait_for(lambda s: len(s.calls("chat.postMessage")) == 1, timeout=5)
    assert "`leads.zip`: it isn't a CSV" in texts_of(app.slack.ephemerals()[0])
    assert app.origami.requests("POST") == [] and app.slack.downloads() == []
