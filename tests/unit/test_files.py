"""Files shared with a prompt, as untrusted input: Slack's file objects read field by
field, the limits judged before any download, Origami's upload answers read tolerantly,
and what the app says about the files that did not go."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversations.intake import _with_files_taken
from bot.domain import Prompt, SlackFile
from bot.files.limits import MAX_FILE_BYTES, MAX_FILES, Refusal, UploadMode, refusal, upload_mode
from bot.origami.documents import UploadedFile, attachment_json, upload_body
from bot.slack import payloads
from bot.slack.blocks.files import build_files_refused
from bot.slack.files import file_hosts
from tests.fakes import payloads as fake_payloads
from tests.fakes.slack import message_errors

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


def test_a_slack_file_object_is_read_field_by_field() -> None:
    raw = fake_payloads.file_object("accounts.csv", file_id="F0ABC123", size=1234)
    file = payloads.to_file(raw)
    assert file is not None
    assert (file.id, file.name, file.filetype, file.size) == (
        "F0ABC123",
        "accounts.csv",
        "csv",
        1234,
    )
    assert file.url.endswith("/download/accounts.csv") and not file.needs_info
    connect = payloads.to_file({"id": "F0ABC123", "file_access": "check_file_info"})
    assert connect is not None and connect.needs_info and connect.name == "file"
    for bad_id in (None, 7, "", "U0ABC", "F0abc", "F" + "A" * 40, "F0ABC\n"):
        assert payloads.to_file({**raw, "id": bad_id}) is None
    odd = payloads.to_file({**raw, "size": -1, "name": "a\x00b\u202e.csv", "filetype": 3})
    assert odd is not None and (odd.size, odd.name, odd.filetype) == (0, "ab.csv", "")


@settings(max_examples=50)
@given(st.dictionaries(st.sampled_from(["files", "text", "x"]), JSONISH))
def test_any_event_gives_at_most_a_runs_worth_of_files_plus_one(event: dict[str, Any]) -> None:
    files = payloads.to_files(event)
    assert len(files) <= MAX_FILES + 1
    assert len({f.id for f in files}) == len(files)
    for file in files:
        assert len(file.name) <= 255 and len(file.url) <= 3000 and file.size >= 0


def test_kinds_and_sizes() -> None:
    csv = SlackFile("F1", "a.csv", "csv", "text/csv", 10)
    assert upload_mode(csv) is UploadMode.TABLE and refusal(csv) is None
    for name, filetype, mimetype in (
        ("a.xlsx", "xlsx", ""),
        ("a.pdf", "pdf", "application/pdf"),
        ("notes.txt", "text", "text/plain"),
        ("x", "", "text/plain"),
        ("brief.md", "", ""),
    ):
        assert upload_mode(SlackFile("F1", name, filetype, mimetype, 1)) is UploadMode.DOCUMENT
    assert refusal(SlackFile("F1", "a.zip", "zip", "application/zip", 1)) is Refusal.TYPE
    assert refusal(SlackFile("F1", "a.png", "png", "image/png", 1)) is Refusal.TYPE
    assert refusal(SlackFile("F1", "a.csv", "csv", "", MAX_FILE_BYTES + 1)) is Refusal.SIZE
    # A Slack Connect file is judged once files.info has told what it is.
    assert refusal(SlackFile("F1", needs_info=True)) is None


def test_intake_keeps_a_runs_worth_and_names_the_rest() -> None:
    files = tuple(SlackFile(f"F{n:03d}", f"{n}.csv", "csv", "text/csv", 1) for n in range(22))
    zip_file = SlackFile("FZIP", "a.zip", "zip", "", 1)
    prompt, refused = _with_files_taken(Prompt("", "U1", "C1:1", files=(zip_file, *files)))
    assert len(prompt.files) == MAX_FILES
    assert [(f.id, why) for f, why in refused] == [
        ("FZIP", Refusal.TYPE),
        ("F020", Refusal.TOO_MANY),
        ("F021", Refusal.TOO_MANY),
    ]
    assert prompt.text.startswith("Please use the files I've shared with this message: 0.csv")
    kept, none = _with_files_taken(Prompt("use it", "U1", "C1:1", files=files[:1]))
    assert kept.text == "use it" and none == []


def test_the_token_goes_to_slacks_hosts_only() -> None:
    assert file_hosts("https://slack.com/api/") == (
        "https",
        frozenset({"slack.com", "files.slack.com"}),
    )
    _, hosts = file_hosts("https://slack-gov.com/api/")
    assert "files.slack-gov.com" in hosts and "files.slack.com" not in hosts


def test_origamis_upload_answers_are_read_tolerantly() -> None:
    table = UploadedFile.model_validate({"kind": "table", "tableId": "t1", "documentId": "d1"})
    assert table.attachment() == ("table", "t1")
    doc = UploadedFile.model_validate({"kind": "document", "id": "d2", "documentId": "d2"})
    assert doc.attachment() == ("document", "d2")
    for failed in ({"kind": "error", "error": "bad"}, {}, {"kind": "document", "id": 5}):
        assert UploadedFile.model_validate(failed).attachment() is None
    assert attachment_json("table", "t1") == {"kind": "table", "tableId": "t1"}
    body = upload_body("  a.csv ", b"a,b\n", "table")
    assert body == {"files": [{"filename": "a.csv", "content": "YSxiCg==", "mode": "table"}]}


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(
            st.builds(SlackFile, id=st.just("F1"), name=st.text(max_size=300)),
            st.sampled_from(list(Refusal)),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_what_is_said_of_refused_files_is_a_message_slack_takes(
    refused: list[tuple[SlackFile, Refusal]],
) -> None:
    message = build_files_refused(refused)
    assert message_errors(message.blocks, message.text) == []
