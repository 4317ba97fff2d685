"""The tolerant base of the Origami models: a field whose value breaks its schema is read
as absent (its default) and logged once, a bad item of a list is dropped; and the small
annotated types the models share (bounded counts, timestamps with an offset). Why it is
tolerant: ``bot.origami.models``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    OnErrorOmit,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel

log = logging.getLogger(__name__)

# The (model, field) pairs this process has already warned about: a broken field is
# reported once, not on every poll of every run that carries it. Bounded by the models'
# fields.
_warned: set[tuple[str, str]] = set()


def warn_once(model: str, field: str, problem: str) -> None:
    if (model, field) in _warned:
        return
    _warned.add((model, field))
    log.warning(
        "origami sent a field this app cannot read; ignoring it",
        extra={"field": f"{model}.{field}", "problem": problem},
    )


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _where(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


class OrigamiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )

    @field_validator("*", mode="wrap")
    @classmethod
    def _field_by_field(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Every field of every model: a value that breaks the field's schema becomes the
        field's default (see the module's docstring); a required field still fails, so
        that the object holding it fails instead (and is dropped by its own holder)."""
        # Every field of every poll comes through here: the path that succeeds stays short.
        try:
            parsed = handler(value)
        except ValidationError as exc:
            return cls._absent(info.field_name or "", value, exc)
        if type(value) is list and len(parsed) < len(value):
            path = cls._path(info.field_name or "")
            warn_once(
                cls.__name__, path, f"dropped {len(value) - len(parsed)} of {len(value)} items"
            )
        return parsed

    @classmethod
    def _path(cls, name: str) -> str:
        return cls.model_fields[name].alias or name

    @classmethod
    def _absent(cls, name: str, value: Any, exc: ValidationError) -> Any:
        field = cls.model_fields[name]
        if field.is_required():
            raise exc
        if value is not None:
            # The error's kind and where inside the value, never the value itself.
            path = cls._path(name)
            first = exc.errors(include_url=False, include_input=False)[0]
            inner = _where(tuple(first["loc"]))
            where = f" at {path}{inner}" if inner else ""
            warn_once(cls.__name__, path, f"{first['type']}{where}, got {json_type(value)}")
        return field.get_default(call_default_factory=True)


T = TypeVar("T")

# A list whose bad items are dropped one by one (the field's wrap validator logs how many)
# instead of failing the list, and with it the field.
Items = list[OnErrorOmit[T]]

# Counts and step numbers: never negative, and small enough to render (a float of
# ``10**400`` does not exist). Past that, the field is malformed and reads as absent.
COUNT_MAX = 10**15
Count = Annotated[int, Field(ge=0, le=COUNT_MAX)]


def _timestamp(value: str) -> str:
    # The schema's ``date-time`` (RFC 3339: with an offset). Durations are computed from
    # these; a string that is not one, or one without an offset, is malformed.
    if datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is None:
        raise ValueError("a date-time needs an offset")
    return value


Timestamp = Annotated[str, AfterValidator(_timestamp)]
