"""The fake Slack's checks of the blocks of Slack's agent platform: ``table``, ``card``,
``carousel``, ``alert`` and ``context_actions`` (``feedback_buttons``, ``icon_button``).

Slack's limits as its Block Kit reference and slack_sdk 3.48's models state them, written
here on their own (never read from the app's constants):

- ``table``: 1-100 rows, each of at most 20 cells, every row as wide as the first; cells
  ``raw_text`` (``text`` of at least one character), ``raw_number`` (a number and its
  ``text``) or ``rich_text``; ``column_settings`` at most 20, ``align`` left, center or
  right; **one table per message** (``only_one_table_allowed``, checked per message by
  ``tests.fakes.slack``).
- ``card``: ``title`` and ``subtitle`` at most 150 characters, ``body`` at most 200, text
  objects; at least one of hero_image, title, actions, body; ``actions`` buttons only, at
  most 3 (what Slack lays out on a card).
- ``carousel``: 1-10 ``card`` elements.
- ``alert``: a text object (at most 3,000 characters) and a ``level`` of default, info,
  warning, error, success.
- ``context_actions``: 1-5 elements, ``feedback_buttons`` (``positive_button`` and
  ``negative_button``: ``text`` plain_text of at most 75, ``value`` at most 2,000,
  ``accessibility_label`` at most 75) or ``icon_button``.
- ``task_card``: ``task_id`` and ``title`` (plain strings, required), ``status`` pending,
  in_progress, complete or error, ``details`` and ``output`` one ``rich_text`` each,
  ``sources`` of ``{type: url, url, text}``; ``plan``: a ``title`` and ``tasks`` of task
  cards. Slack documents no length for these strings: the fake holds them to 3,000
  characters, as any text object (stricter than Slack can only fail a test, never pass
  one Slack would refuse).

This module is imported by ``tests.fakes.slack`` when it meets one of these blocks (it
uses that module's helpers, so the import is the other way round at load time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakes.slack import (
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_ID,
    MAX_TEXT_OBJECT,
    _check_element,
    _check_list,
    _check_str,
    _check_text,
    _Errors,
)

MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_COLUMN_SETTINGS = 20
MAX_CARD_TITLE = 150
MAX_CARD_SUBTITLE = 150
MAX_CARD_BODY = 200
MAX_CARD_ACTIONS = 3
MAX_CAROUSEL_CARDS = 10
MAX_CONTEXT_ACTIONS = 5
MAX_ACCESSIBILITY_LABEL = 75
ALERT_LEVELS = frozenset({"default", "info", "warning", "error", "success"})
_ALIGNS = frozenset({"left", "center", "right"})
_CELL_TYPES = frozenset({"raw_text", "raw_number", "rich_text"})

AGENT_BLOCKS = frozenset(
    {"table", "card", "carousel", "alert", "context_actions", "task_card", "plan"}
)
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})


def check_agent_block(errs: _Errors, block: Mapping[str, Any], ptr: str) -> None:
    """The rules ``block`` (one of ``AGENT_BLOCKS``) breaks, added to ``errs``."""
    kind = block.get("type")
    if kind == "table":
        _check_table(errs, block, ptr)
    elif kind == "card":
        _check_card(errs, block, ptr)
    elif kind == "carousel":
        cards = _check_list(errs, block.get("elements"), ptr + "/elements", MAX_CAROUSEL_CARDS)
        for i, card in enumerate(cards):
            cptr = f"{ptr}/elements/{i}"
            if not isinstance(card, Mapping) or card.get("type") != "card":
                errs.add(cptr + "/type", "must be one of: card")
                continue
            _check_card(errs, card, cptr)
    elif kind == "alert":
        _check_text(errs, block.get("text"), ptr + "/text", MAX_TEXT_OBJECT)
        level = block.get("level")
        if level is not None and level not in ALERT_LEVELS:
            errs.add(ptr + "/level", "must be a valid enum value")
    elif kind == "context_actions":
        _check_context_actions(errs, block, ptr)
    elif kind == "task_card":
        _check_task(errs, block, ptr)
    elif kind == "plan":
        _check_str(errs, block.get("title"), ptr + "/title", MAX_TEXT_OBJECT, required=True)
        tasks = block.get("tasks")
        if tasks is not None:
            for i, task in enumerate(_check_list(errs, tasks, ptr + "/tasks", 10_000)):
                tptr = f"{ptr}/tasks/{i}"
                if not isinstance(task, Mapping) or task.get("type") != "task_card":
                    errs.add(tptr + "/type", "must be one of: task_card")
                    continue
                _check_task(errs, task, tptr)


def _check_task(errs: _Errors, task: Mapping[str, Any], ptr: str) -> None:
    _check_str(errs, task.get("task_id"), ptr + "/task_id", MAX_ID, required=True, min_len=1)
    _check_str(errs, task.get("title"), ptr + "/title", MAX_TEXT_OBJECT, required=True, min_len=1)
    status = task.get("status")
    if status is not None and status not in TASK_STATUSES:
        errs.add(ptr + "/status", "must be a valid enum value")
    for field in ("details", "output"):
        rich = task.get(field)
        if rich is None:
            continue
        if not isinstance(rich, Mapping) or rich.get("type") != "rich_text":
            errs.add(f"{ptr}/{field}/type", "must be one of: rich_text")
        elif not isinstance(rich.get("elements"), list) or len(rich["elements"]) != 1:
            errs.add(f"{ptr}/{field}/elements", "must hold exactly one element")
        else:
            for text in _rich_texts(rich):
                if len(text) > MAX_TEXT_OBJECT:
                    errs.add(
                        f"{ptr}/{field}", f"must be less than {MAX_TEXT_OBJECT + 1} characters"
                    )
    sources = task.get("sources")
    if sources is not None:
        for i, source in enumerate(_check_list(errs, sources, ptr + "/sources", 50, min_items=0)):
            sptr = f"{ptr}/sources/{i}"
            if not isinstance(source, Mapping) or source.get("type") != "url":
                errs.add(sptr + "/type", "must be one of: url")
                continue
            _check_str(errs, source.get("url"), sptr + "/url", 3_000, required=True, min_len=1)
            _check_str(errs, source.get("text"), sptr + "/text", MAX_TEXT_OBJECT, required=True)


def _rich_texts(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        own = (
            [node["text"]]
            if node.get("type") == "text" and isinstance(node.get("text"), str)
            else []
        )
        return own + [t for v in node.values() for t in _rich_texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _rich_texts(v)]
    return []


def _check_table(errs: _Errors, block: Mapping[str, Any], ptr: str) -> None:
    rows = _check_list(errs, block.get("rows"), ptr + "/rows", MAX_TABLE_ROWS)
    width: int | None = None
    for r, row in enumerate(rows):
        rptr = f"{ptr}/rows/{r}"
        cells = _check_list(errs, row, rptr, MAX_TABLE_CELLS)
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            errs.add(rptr, f"every row must have {width} cells, as the first one")
        for c, cell in enumerate(cells):
            _check_cell(errs, cell, f"{rptr}/{c}")
    settings = block.get("column_settings")
    if settings is not None:
        for i, setting in enumerate(
            _check_list(errs, settings, ptr + "/column_settings", MAX_COLUMN_SETTINGS)
        ):
            sptr = f"{ptr}/column_settings/{i}"
            if setting is None:
                continue  # Slack: null keeps a column's default
            if not isinstance(setting, Mapping):
                errs.add(sptr, "must be an object")
                continue
            if setting.get("align") is not None and setting.get("align") not in _ALIGNS:
                errs.add(sptr + "/align", "must be a valid enum value")
            wrapped = setting.get("is_wrapped")
            if wrapped is not None and not isinstance(wrapped, bool):
                errs.add(sptr + "/is_wrapped", "must be a boolean")


def _check_cell(errs: _Errors, cell: Any, ptr: str) -> None:
    if not isinstance(cell, Mapping) or cell.get("type") not in _CELL_TYPES:
        errs.add(ptr + "/type", "must be one of: raw_text, raw_number, rich_text")
        return
    kind = cell["type"]
    if kind == "rich_text":
        if not isinstance(cell.get("elements"), list) or not cell["elements"]:
            errs.add(ptr + "/elements", "missing required field")
        return
    text = cell.get("text")
    if not isinstance(text, str) or not text:
        errs.add(ptr + "/text", "must be more than 0 characters")
    if kind == "raw_number":
        value = cell.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            errs.add(ptr + "/value", "must be a number")


def _check_card(errs: _Errors, card: Mapping[str, Any], ptr: str) -> None:
    _check_str(errs, card.get("block_id"), ptr + "/block_id", MAX_ID)
    _check_text(errs, card.get("title"), ptr + "/title", MAX_CARD_TITLE, required=False)
    _check_text(errs, card.get("subtitle"), ptr + "/subtitle", MAX_CARD_SUBTITLE, required=False)
    _check_text(errs, card.get("body"), ptr + "/body", MAX_CARD_BODY, required=False)
    if not any(card.get(k) is not None for k in ("hero_image", "title", "actions", "body")):
        errs.add(ptr, "must provide at least one of hero_image, title, actions or body")
    actions = card.get("actions")
    if actions is not None:
        action_ids: set[str] = set()
        for i, el in enumerate(_check_list(errs, actions, ptr + "/actions", MAX_CARD_ACTIONS)):
            _check_element(errs, el, f"{ptr}/actions/{i}", frozenset({"button"}), action_ids)


def _check_context_actions(errs: _Errors, block: Mapping[str, Any], ptr: str) -> None:
    elements = _check_list(errs, block.get("elements"), ptr + "/elements", MAX_CONTEXT_ACTIONS)
    action_ids: set[str] = set()
    for i, el in enumerate(elements):
        eptr = f"{ptr}/elements/{i}"
        if not isinstance(el, Mapping) or el.get("type") not in ("feedback_buttons", "icon_button"):
            errs.add(eptr + "/type", "must be one of: feedback_buttons, icon_button")
            continue
        action_id = el.get("action_id")
        _check_str(errs, action_id, eptr + "/action_id", MAX_ID, required=True, min_len=1)
        if isinstance(action_id, str):
            if action_id in action_ids:
                errs.add(eptr + "/action_id", f"duplicate action_id: {action_id}")
            action_ids.add(action_id)
        if el["type"] == "icon_button":
            _check_text(errs, el.get("text"), eptr + "/text", MAX_BUTTON_TEXT, plain_only=True)
            _check_str(errs, el.get("icon"), eptr + "/icon", MAX_ID, required=True, min_len=1)
            continue
        for side in ("positive_button", "negative_button"):
            _check_feedback_button(errs, el.get(side), f"{eptr}/{side}")


def _check_feedback_button(errs: _Errors, button: Any, ptr: str) -> None:
    if not isinstance(button, Mapping):
        errs.add(ptr, "missing required field" if button is None else "must be an object")
        return
    _check_text(errs, button.get("text"), ptr + "/text", MAX_BUTTON_TEXT, plain_only=True)
    _check_str(errs, button.get("value"), ptr + "/value", MAX_BUTTON_VALUE, required=True)
    label = button.get("accessibility_label")
    _check_str(errs, label, ptr + "/accessibility_label", MAX_ACCESSIBILITY_LABEL)
