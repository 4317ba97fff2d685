"""The tolerant base of the Origami models: a field whose value breaks its schema is read
as absent (its default) and logged once, a bad item of a list is dropped; and the small
annotated types the models share (bounded counts, timestamps with an offset). Why it is
tolerant: ``bot.origami.models``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    OnErrorOmit,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

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

    # Per model, from its fields: each input name (alias and name) to the field's name,
    # and the list fields whose bad items are dropped (``Items``).
    _names: ClassVar[dict[str, str]] = {}
    _lists: ClassVar[tuple[tuple[str, str], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        names: dict[str, str] = {}
        lists = []
        for name, field in cls.model_fields.items():
            alias = field.alias or name
            names[name] = names[alias] = name
            if any(get_origin(t) is list for t in (field.annotation, *get_args(field.annotation))):
                lists.append((alias, name))
        cls._names, cls._lists = names, tuple(lists)

    @model_validator(mode="wrap")
    @classmethod
    def _field_by_field(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Every object of every model: a field whose value breaks its schema becomes the
        field's default (see the module's docstring); a required field still fails, so
        that the object holding it fails instead (and is dropped by its own holder).

        The whole object is validated at once first, and fields are looked at one by one
        only when that fails: every field of every poll comes through here, and a wrap
        validator on each field cost a Python call per field (bench/, watcher capacity)."""
        value = cls._prepared(value)
        try:
            parsed = handler(value)
        except ValidationError as exc:
            if type(value) is not dict:
                raise
            parsed = cls._salvage(value, exc, handler)
        if type(value) is dict:
            for alias, name in cls._lists:
                raw = value.get(alias, value.get(name))
                kept = getattr(parsed, name, None)
                if type(raw) is list and isinstance(kept, list) and len(kept) < len(raw):
                    dropped = f"dropped {len(raw) - len(kept)} of {len(raw)} items"
                    warn_once(cls.__name__, alias, dropped)
        return parsed

    @classmethod
    def _prepared(cls, data: Any) -> Any:
        """What a model reads from the object Origami sent, before any field is validated
        (a model's own ``before`` step: here, so that fields are salvaged by the names the
        step returns)."""
        return data

    @classmethod
    def _salvage(
        cls, value: dict[str, Any], exc: ValidationError, handler: ValidatorFunctionWrapHandler
    ) -> Any:
        """Validate again without each field that failed, until none does: at most once
        a field, as each pass drops at least one."""
        value = dict(value)
        while True:
            bad: dict[str, ErrorDetails] = {}
            for error in exc.errors(include_url=False, include_input=False):
                loc = error["loc"]
                name = cls._names.get(str(loc[0])) if loc else None
                if name is None or cls.model_fields[name].is_required():
                    raise exc
                bad.setdefault(str(loc[0]), error)
            dropped = False
            for key, error in bad.items():
                name = cls._names[key]
                alias = cls.model_fields[name].alias or name
                present = [value.pop(k) for k in {alias, name} if k in value]
                dropped = dropped or bool(present)
                raw = present[0] if present else None
                if raw is not None:
                    # The error's kind and where inside the value, never the value itself.
                    inner = _where(tuple(error["loc"])[1:])
                    where = f" at {alias}{inner}" if inner else ""
                    warn_once(cls.__name__, alias, f"{error['type']}{where}, got {json_type(raw)}")
            if not dropped:
                raise exc  # an error no field of the input explains: the object fails
            try:
                return handler(value)
            except ValidationError as again:
                exc = again


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
