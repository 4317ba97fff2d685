"""Slack's Block Kit limits in one place, and a checker for built payloads.

Slack rejects a whole message or view when one field breaks a limit (``invalid_blocks``,
``msg_too_long``, ``msg_blocks_too_long``), so the builders in ``bot.slack.blocks`` respect
these numbers by construction and the tests run every payload through ``validate_message``
or ``validate_modal``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# -- messages --------------------------------------------------------------------------
MAX_BLOCKS_PER_MESSAGE = 50
# The top-level ``text``: chat.postMessage takes 40,000 but chat.update only 4,000; the
# fallback is for notifications, so it stays well under both.
MAX_FALLBACK_TEXT = 3_000
# Not documented per block: Slack answers ``msg_blocks_too_long`` once the text of all
# blocks together passes about 12,000-13,000 characters (slackapi/bolt-js#2509, #2867).
# Kept well below that, counting every text object in the message.
MAX_MESSAGE_BLOCK_CHARS = 10_000

# -- blocks ----------------------------------------------------------------------------
MAX_BLOCK_ID = 255
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 3_000
MAX_ACTIONS_ELEMENTS = 25
MAX_INPUT_LABEL = 2_000

# -- elements --------------------------------------------------------------------------
MAX_ACTION_ID = 255
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2_000
MAX_BUTTON_URL = 3_000
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
# plain_text_input: min_length and max_length must both lie in 0..3,000 (1..3,000 for max).
MAX_TEXT_INPUT_LENGTH = 3_000
MAX_PLACEHOLDER = 150

# -- modals ----------------------------------------------------------------------------
MAX_BLOCKS_PER_MODAL = 100
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24
MAX_PRIVATE_METADATA = 3_000
MAX_CALLBACK_ID = 255

_TEXT_TYPES = ("plain_text", "mrkdwn")
_BUTTON_STYLES = ("primary", "danger")


def count_text_chars(blocks: Iterable[Any]) -> int:
    """The characters of every text object in ``blocks`` (what ``msg_blocks_too_long`` counts)."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("type") in _TEXT_TYPES and isinstance(item.get("text"), str):
                total += len(item["text"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return total


def validate_message(blocks: Sequence[Mapping[str, Any]], text: str | None = None) -> list[str]:
    """Every Block Kit limit ``blocks`` (and the fallback ``text``, if given) breaks.

    An empty list means Slack accepts it as far as its documented limits go.
    """
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS_PER_MESSAGE:
        errors.append(f"{len(blocks)} blocks > {MAX_BLOCKS_PER_MESSAGE}")
    if text is not None:
        if not text.strip():
            errors.append("empty fallback text")
        if len(text) > MAX_FALLBACK_TEXT:
            errors.append(f"fallback text {len(text)} > {MAX_FALLBACK_TEXT}")
    chars = count_text_chars(blocks)
    if chars > MAX_MESSAGE_BLOCK_CHARS:
        errors.append(f"blocks hold {chars} text chars > {MAX_MESSAGE_BLOCK_CHARS}")
    _check_blocks(blocks, errors)
    return errors


def validate_modal(view: Mapping[str, Any]) -> list[str]:
    """Every limit a modal ``view`` breaks; an empty list means it is valid."""
    errors: list[str] = []
    if view.get("type") != "modal":
        errors.append("view type is not modal")
    _check_text(view.get("title"), "title", MAX_MODAL_TITLE, errors, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            _check_text(view[key], key, MAX_MODAL_BUTTON, errors, plain_only=True)
    metadata = view.get("private_metadata", "")
    if not isinstance(metadata, str) or len(metadata) > MAX_PRIVATE_METADATA:
        errors.append("private_metadata too long or not a string")
    callback_id = view.get("callback_id", "")
    if not isinstance(callback_id, str) or len(callback_id) > MAX_CALLBACK_ID:
        errors.append("callback_id too long or not a string")
    blocks = view.get("blocks", [])
    if len(blocks) > MAX_BLOCKS_PER_MODAL:
        errors.append(f"{len(blocks)} modal blocks > {MAX_BLOCKS_PER_MODAL}")
    _check_blocks(blocks, errors)
    return errors


def _check_blocks(blocks: Sequence[Mapping[str, Any]], errors: list[str]) -> None:
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"block {index} ({block.get('type')})"
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not 1 <= len(block_id) <= MAX_BLOCK_ID:
                errors.append(f"{where}: bad block_id")
            elif block_id in block_ids:
                errors.append(f"{where}: duplicate block_id {block_id!r}")
            else:
                block_ids.add(block_id)
        _check_block(block, where, errors)


def _check_block(block: Mapping[str, Any], where: str, errors: list[str]) -> None:
    kind = block.get("type")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            errors.append(f"{where}: section without text or fields")
        if "text" in block:
            _check_text(block["text"], where, MAX_SECTION_TEXT, errors)
        fields = block.get("fields", [])
        if len(fields) > MAX_SECTION_FIELDS:
            errors.append(f"{where}: {len(fields)} fields > {MAX_SECTION_FIELDS}")
        for field in fields:
            _check_text(field, f"{where} field", MAX_SECTION_FIELD_TEXT, errors)
        if "accessory" in block:
            _check_element(block["accessory"], f"{where} accessory", errors)
    elif kind == "header":
        _check_text(block.get("text"), where, MAX_HEADER_TEXT, errors, plain_only=True)
    elif kind == "context":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
            errors.append(f"{where}: {len(elements)} context elements")
        for element in elements:
            if element.get("type") in _TEXT_TYPES:
                _check_text(element, where, MAX_CONTEXT_TEXT, errors)
    elif kind == "actions":
        elements = block.get("elements", [])
        if not 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS:
            errors.append(f"{where}: {len(elements)} actions elements")
        action_ids: set[str] = set()
        for element in elements:
            action_id = element.get("action_id")
            if action_id is not None:
                if action_id in action_ids:
                    errors.append(f"{where}: duplicate action_id {action_id!r}")
                action_ids.add(action_id)
            _check_element(element, where, errors)
    elif kind == "input":
        _check_text(block.get("label"), f"{where} label", MAX_INPUT_LABEL, errors, True)
        _check_element(block.get("element", {}), where, errors)
    elif kind != "divider":
        errors.append(f"{where}: unexpected block type")


def _check_element(element: Mapping[str, Any], where: str, errors: list[str]) -> None:
    action_id = element.get("action_id")
    if action_id is not None and (
        not isinstance(action_id, str) or not 1 <= len(action_id) <= MAX_ACTION_ID
    ):
        errors.append(f"{where}: bad action_id")
    kind = element.get("type")
    if kind == "button":
        _check_text(element.get("text"), f"{where} button", MAX_BUTTON_TEXT, errors, True)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_BUTTON_VALUE):
            errors.append(f"{where}: bad button value")
        url = element.get("url")
        if url is not None and (not isinstance(url, str) or not 1 <= len(url) <= MAX_BUTTON_URL):
            errors.append(f"{where}: bad button url")
        style = element.get("style")
        if style is not None and style not in _BUTTON_STYLES:
            errors.append(f"{where}: bad button style {style!r}")
        if "confirm" in element:
            confirm = element["confirm"]
            _check_text(confirm.get("title"), f"{where} confirm", MAX_CONFIRM_TITLE, errors, True)
            _check_text(confirm.get("text"), f"{where} confirm", MAX_CONFIRM_TEXT, errors)
            for key in ("confirm", "deny"):
                _check_text(confirm.get(key), f"{where} {key}", MAX_CONFIRM_BUTTON, errors, True)
    elif kind == "plain_text_input":
        max_length = element.get("max_length", MAX_TEXT_INPUT_LENGTH)
        min_length = element.get("min_length", 0)
        if not 1 <= max_length <= MAX_TEXT_INPUT_LENGTH:
            errors.append(f"{where}: max_length {max_length} out of 1..{MAX_TEXT_INPUT_LENGTH}")
        if not 0 <= min_length <= min(max_length, MAX_TEXT_INPUT_LENGTH):
            errors.append(f"{where}: min_length {min_length} out of range")
        if len(element.get("initial_value", "")) > max_length:
            errors.append(f"{where}: initial_value longer than max_length")
        if "placeholder" in element:
            _check_text(element["placeholder"], where, MAX_PLACEHOLDER, errors, True)
    else:
        errors.append(f"{where}: unexpected element type {kind!r}")


def _check_text(
    obj: Any, where: str, limit: int, errors: list[str], plain_only: bool = False
) -> None:
    if not isinstance(obj, Mapping) or obj.get("type") not in _TEXT_TYPES:
        errors.append(f"{where}: missing text object")
        return
    if plain_only and obj["type"] != "plain_text":
        errors.append(f"{where}: must be plain_text")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        errors.append(f"{where}: empty text")
    elif len(text) > limit:
        errors.append(f"{where}: text {len(text)} > {limit}")
