"""What can be read of a definition the schema refused, so every later check still runs.

A file with a bad duration in one step and a misspelt goto in another should hear of
both in one run. The schema reports its own errors all at once; `salvage` then keeps
every part of the definition that is valid on its own (each key, each list item),
falls back to the default where a part with a default is broken, and stands in for a
broken step by its id, so gotos, reachability and templates are still checked.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from rapport.language.models import JourneyDefinition, Segment, WaitStep
from rapport.language.wording import members, model_of, unwrap

_BAD = object()


class UnreadStep(WaitStep):
    """A step the schema refused, kept by its id so that gotos and reachability still see
    it. It counts as waiting, so the loop check does not guess about a step it cannot
    read; it sends nothing. It exists only in a definition that is reported invalid."""


# What stands in for a required part of the whole definition that is broken: the
# journey's steps can be checked without a valid id, version or name.
_STAND_INS: dict[str, Any] = {"id": "journey", "version": 1, "name": "journey", "steps": []}


def salvage_definition(data: Any) -> JourneyDefinition | None:
    found = salvage(JourneyDefinition, data, _STAND_INS)
    return found if isinstance(found, JourneyDefinition) else None


def salvage(
    model: type[BaseModel], data: Any, stand_ins: dict[str, Any] | None = None
) -> BaseModel | None:
    """`model` built from what is valid in `data`, or None when a required part is not
    (and `stand_ins` has nothing for it)."""
    if not isinstance(data, dict):
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        pass
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if name in data:
            value = _value(_field_type(model, name), data[name])
            if value is not _BAD:
                values[name] = value
                continue
        if field.is_required():
            if stand_ins is None or name not in stand_ins:
                return None
            values[name] = stand_ins[name]
        else:
            values[name] = field.get_default(call_default_factory=True)
    return model.model_construct(**values)


@cache
def _field_type(model: type[BaseModel], name: str) -> Any:
    """A field's type with its constraints (`Field(min_length=1)`), as one annotation."""
    field = model.model_fields[name]
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """Building an adapter costs far more than using one: one per annotation."""
    known = _ADAPTERS.get(id(annotation))
    if known is None or known[0] is not annotation:
        known = (annotation, TypeAdapter(annotation))
        _ADAPTERS[id(annotation)] = known
    return known[1]


def _value(annotation: Any, raw: Any) -> Any:
    try:
        return _adapter(annotation).validate_python(raw)
    except ValidationError:
        pass
    except Exception:  # an annotation this walk cannot rebuild: treat the part as broken
        return _BAD
    inner = unwrap(annotation)
    if get_origin(inner) is list and isinstance(raw, list):
        item = get_args(inner)[0]
        kept = []
        for index, entry in enumerate(raw):
            value = _value(item, entry)
            if value is _BAD:
                value = _stand_in(item, entry, index)
            if value is not _BAD:
                kept.append(value)
        try:  # the list's own bounds (at least one step, one installment) still hold
            return _adapter(annotation).validate_python(kept)
        except ValidationError:
            return _BAD
    model = model_of(inner, raw)
    if model is not None and isinstance(raw, dict):
        found = salvage(model, raw)
        return _BAD if found is None else found
    return _BAD


def _stand_in(annotation: Any, raw: Any, index: int) -> Any:
    """A broken list item that others refer to by id: a step or a segment."""
    ident = raw.get("id") if isinstance(raw, dict) else None
    kinds = members(annotation)
    if any(isinstance(m, type) and issubclass(m, WaitStep) for m in kinds):
        name = ident if isinstance(ident, str) and ident else f"step-{index + 1}"
        return UnreadStep.model_construct(id=name, wait=timedelta(days=1))
    if Segment in kinds and isinstance(ident, str):
        return Segment.model_construct(id=ident, when="false")
    return _BAD
