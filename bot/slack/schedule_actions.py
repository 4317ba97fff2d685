"""Action ids, block ids and value codecs of schedules (the modal, the result's Schedule
button, App Home's buttons): the contract between ``blocks.schedules`` and
``listeners.schedules``. Values are untrusted: they carry only ids, parsed strictly."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.slack.actions import is_run_id

SCHEDULE_RUN = "schedule_run"  # under a result; value: run_id
SCHEDULE_MODAL = "schedule"  # callback_id of the modal
PROMPT_BLOCK, PROMPT_INPUT = "schedule_prompt", "prompt"
WHEN_BLOCK, WHEN_INPUT = "schedule_when", "when"
CRON_BLOCK, CRON_INPUT = "schedule_cron", "cron"
CHANNEL_BLOCK, CHANNEL_INPUT = "schedule_channel", "channel"

PAUSE_SCHEDULE = "schedule_pause"  # App Home; value: the schedule's id
RESUME_SCHEDULE = "schedule_resume"
DELETE_SCHEDULE = "schedule_delete"

_CHANNEL_RE = re.compile(r"[CGD][A-Z0-9]{2,31}")
_TS_RE = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


def is_channel_id(value: object) -> bool:
    return isinstance(value, str) and _CHANNEL_RE.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the modal was opened: its channel and thread (the modal's metadata)."""

    channel: str
    thread_ts: str


def origin_metadata(origin: Origin) -> str:
    if not is_channel_id(origin.channel) or not _TS_RE.fullmatch(origin.thread_ts):
        raise ValueError("not a channel and thread")
    return f"{origin.channel}:{origin.thread_ts}"


def parse_origin(value: object) -> Origin | None:
    if not isinstance(value, str):
        return None
    channel, sep, thread_ts = value.partition(":")
    if not sep or not is_channel_id(channel) or not _TS_RE.fullmatch(thread_ts):
        return None
    return Origin(channel, thread_ts)


def schedule_run_value(run_id: str) -> str:
    if not is_run_id(run_id):
        raise ValueError("not a run id")
    return run_id
