"""Action ids, callback ids and button value codecs: the contract between blocks and listeners.

Button values are untrusted (anyone who sees a message can click, and payloads can be
forged), so they carry only a run id and small indexes; the parsers validate both and
raise ``ValueError`` on anything else. The texts behind an index (an answer, a next step)
are kept server-side and looked up there, never read from the payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain import Verdict
from bot.origami.wire import RUN_ID_RE as RUN_ID_RE  # the one rule for run ids (the spec's)

# Table ids are uuids (examples also show ``tbl_77``).
TABLE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Indexes of questions, answers and next steps: 0..999, no sign, no leading zeros.
MAX_INDEX = 999
_INDEX = r"(?:0|[1-9][0-9]{0,2})"

# -- action ids ------------------------------------------------------------------------
STOP_RUN = "stop_run"  # value: run_id
CONTINUE_RUN = "continue_run"  # value: run_id
RETRY_RUN = "retry_run"  # value: run_id
SEND_ANSWERS = "send_answers"  # value: run_id
SHARE_TABLE = "share_table"  # value: f"{run_id}:{table_id}"
EXPORT_CSV = "export_csv"  # value: f"{run_id}:{table_id}"
# Link buttons: the browser opens the URL, but Slack still sends the click, which must be
# acked (or the user sees a warning icon). OPEN_LINK is every other link button.
OPEN_TABLE = "open_table"
OPEN_LINK = "open_link"
LINK_ACTION_IDS = (OPEN_TABLE, OPEN_LINK)
FEEDBACK = "feedback"  # feedback_buttons; each button's value: f"{run_id}:{verdict}"
SHOW_STEPS = "show_steps"  # value: run_id

ANSWER_PREFIX = "answer"  # f"answer:{q}:{a}", value f"{run_id}:{q}:{a}"
ANSWER_OTHER_PREFIX = "answer_other"  # f"answer_other:{q}", value f"{run_id}:{q}"
NEXT_ACTION_PREFIX = "next_action"  # f"next_action:{i}", value f"{run_id}:{i}"

ANSWER_RE = re.compile(rf"^{ANSWER_PREFIX}:{_INDEX}:{_INDEX}\Z")
ANSWER_OTHER_RE = re.compile(rf"^{ANSWER_OTHER_PREFIX}:{_INDEX}\Z")
NEXT_ACTION_RE = re.compile(rf"^{NEXT_ACTION_PREFIX}:{_INDEX}\Z")

# -- the "Or something else" modal -----------------------------------------------------
FREEFORM_MODAL = "freeform_answer"  # callback_id
FREEFORM_BLOCK = "answer"  # block_id of the input
FREEFORM_INPUT = "answer_text"  # action_id of the plain_text_input


def is_run_id(value: object) -> bool:
    return isinstance(value, str) and RUN_ID_RE.fullmatch(value) is not None


def is_table_id(value: object) -> bool:
    return isinstance(value, str) and TABLE_ID_RE.fullmatch(value) is not None


def is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INDEX


@dataclass(frozen=True, slots=True)
class AnswerRef:
    run_id: str
    question: int
    answer: int


@dataclass(frozen=True, slots=True)
class QuestionRef:
    run_id: str
    question: int


@dataclass(frozen=True, slots=True)
class NextActionRef:
    run_id: str
    index: int


@dataclass(frozen=True, slots=True)
class FeedbackRef:
    run_id: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class TableRef:
    run_id: str
    table_id: str


# -- builders (raise ValueError rather than emit a value the parser would refuse) -------


def _run(run_id: str) -> str:
    if not is_run_id(run_id):
        raise ValueError("not a run id")
    return run_id


def _index(value: int) -> int:
    if not is_index(value):
        raise ValueError(f"index out of 0..{MAX_INDEX}")
    return value


def answer_action_id(question: int, answer: int) -> str:
    return f"{ANSWER_PREFIX}:{_index(question)}:{_index(answer)}"


def answer_value(run_id: str, question: int, answer: int) -> str:
    return f"{_run(run_id)}:{_index(question)}:{_index(answer)}"


def answer_other_action_id(question: int) -> str:
    return f"{ANSWER_OTHER_PREFIX}:{_index(question)}"


def question_value(run_id: str, question: int) -> str:
    return f"{_run(run_id)}:{_index(question)}"


def next_action_id(index: int) -> str:
    return f"{NEXT_ACTION_PREFIX}:{_index(index)}"


def next_action_value(run_id: str, index: int) -> str:
    return f"{_run(run_id)}:{_index(index)}"


def table_value(run_id: str, table_id: str) -> str:
    if not is_table_id(table_id):
        raise ValueError("not a table id")
    return f"{_run(run_id)}:{table_id}"


def feedback_value(run_id: str, verdict: Verdict) -> str:
    return f"{_run(run_id)}:{verdict.value}"


# -- parsers ---------------------------------------------------------------------------

_RUN = r"(?P<run>[A-Za-z0-9_-]{1,128})"
_ANSWER_VALUE_RE = re.compile(rf"{_RUN}:(?P<q>{_INDEX}):(?P<a>{_INDEX})")
_QUESTION_VALUE_RE = re.compile(rf"{_RUN}:(?P<q>{_INDEX})")
_NEXT_ACTION_VALUE_RE = re.compile(rf"{_RUN}:(?P<i>{_INDEX})")
_TABLE_VALUE_RE = re.compile(rf"{_RUN}:(?P<t>[A-Za-z0-9_-]{{1,128}})")
_FEEDBACK_VALUE_RE = re.compile(rf"{_RUN}:(?P<v>{'|'.join(v.value for v in Verdict)})")


def _match(pattern: re.Pattern[str], value: object, what: str) -> re.Match[str]:
    # fullmatch on str only: '$' would accept a trailing newline, and \d other digits.
    match = pattern.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"malformed {what} button value")
    return match


def parse_answer(value: object) -> AnswerRef:
    match = _match(_ANSWER_VALUE_RE, value, "answer")
    return AnswerRef(match["run"], int(match["q"]), int(match["a"]))


def parse_question_ref(value: object) -> QuestionRef:
    match = _match(_QUESTION_VALUE_RE, value, "question")
    return QuestionRef(match["run"], int(match["q"]))


def parse_next_action(value: object) -> NextActionRef:
    match = _match(_NEXT_ACTION_VALUE_RE, value, "next action")
    return NextActionRef(match["run"], int(match["i"]))


def parse_table_ref(value: object) -> TableRef:
    match = _match(_TABLE_VALUE_RE, value, "table")
    return TableRef(match["run"], match["t"])


def parse_feedback(value: object) -> FeedbackRef:
    match = _match(_FEEDBACK_VALUE_RE, value, "feedback")
    return FeedbackRef(match["run"], Verdict(match["v"]))


# -- App Home: the workspace's Origami connection (many workspaces) --------------------
CONNECT_ORIGAMI = "connect_origami"  # opens the key modal
DISCONNECT_ORIGAMI = "disconnect_origami"
ORIGAMI_KEY_MODAL = "origami_key"  # callback_id
ORIGAMI_KEY_BLOCK = "origami_key"  # block_id of the input
ORIGAMI_KEY_INPUT = "origami_key_text"  # action_id of the plain_text_input

# App Home's workspace settings (many workspaces and one).
OPEN_SETTINGS = "open_settings"  # opens the settings modal
SETTINGS_MODAL = "workspace_settings"  # callback_id
SETTINGS_CHANNELS_BLOCK = "settings_channels"
SETTINGS_CHANNELS_INPUT = "channels"  # multi_conversations_select
SETTINGS_AUDIENCE_BLOCK = "settings_audience"
SETTINGS_AUDIENCE_INPUT = "audience"  # radio_buttons
SETTINGS_GROUPS_BLOCK = "settings_groups"
SETTINGS_GROUPS_INPUT = "groups"  # multi_static_select
# One pair of blocks per suggested prompt: ``settings_prompt_title_<n>`` and
# ``settings_prompt_message_<n>``, n from 1 to 4, each with the input ``text``.
SETTINGS_PROMPT_TITLE_BLOCK = "settings_prompt_title_{n}"
SETTINGS_PROMPT_MESSAGE_BLOCK = "settings_prompt_message_{n}"
SETTINGS_PROMPT_INPUT = "text"
