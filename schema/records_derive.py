"""Derives the records' plan from the pydantic models (imported only when a plan is derived)."""

from __future__ import annotations

import types
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.fields import FieldInfo

from schema.records import LIMIT_NAMES, RULES_MODULE, Conv, Plan

_SCALAR_TYPES: dict[Any, str] = {
    str: "str",
    int: "int",
    float: "float",
    bool: "bool",
    timedelta: "timedelta",
}
_STRING_TRANSFORMS = ("strip_whitespace", "to_upper", "to_lower", "strict", "ascii_only")


class PlanDeriver:
    def __init__(self) -> None:
        self._models: dict[str, Any] = {}

    def plan(self, kinds: dict[str, type[BaseModel]]) -> Plan:
        named = {kind: self._model(model) for kind, model in kinds.items()}
        return {"kinds": named, "models": dict(self._models)}

    def _model(self, model: type[BaseModel]) -> str:
        key = f"{model.__module__}:{model.__qualname__}"
        if key in self._models:
            return key
        self._models[key] = None  # claimed before the fields: models may nest each other
        if model.model_config.get("extra") != "forbid":
            raise TypeError(f"{key}: records refuse unknown keys, the model must too")
        fields = tuple(self._field(name, info) for name, info in model.model_fields.items())
        self._models[key] = (model.__name__, fields, self._checks(key, model))
        return key

    def _field(self, name: str, info: FieldInfo) -> tuple[Any, ...]:
        conv = self._conv(info.annotation, list(info.metadata))
        alias = info.alias or name
        if info.is_required():
            return (name, alias, False, None, conv)
        value = info.get_default(call_default_factory=True, validated_data={})
        # The default as YAML would spell it; the record converts it like any value
        # (validate_default=True: pydantic validates defaults too).
        annotated: Any = (
            Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        )
        data = TypeAdapter(annotated).dump_python(value, mode="json", by_alias=True)
        return (name, alias, True, data, conv)

    def _checks(self, key: str, model: type[BaseModel]) -> tuple[str, ...]:
        decorators = model.__pydantic_decorators__
        if decorators.field_validators or decorators.validators or decorators.root_validators:
            raise TypeError(f"{key}: records apply model validators (mode='after') only")
        if decorators.computed_fields:
            raise TypeError(f"{key}: a record has the model's fields only, no computed field")
        for name, value in vars(model).items():
            behaviour = isinstance(value, (property, classmethod, staticmethod)) or callable(value)
            if behaviour and not name.startswith("__") and name not in decorators.model_validators:
                raise TypeError(f"{key}.{name}: a record has the model's fields only")
        checks = []
        for decorator in decorators.model_validators.values():
            if decorator.info.mode != "after":
                raise TypeError(f"{key}: records apply model validators (mode='after') only")
            checks.append(_ref(decorator.func))
        return tuple(checks)

    def _conv(self, annotation: Any, metadata: list[Any]) -> Conv:  # noqa: PLR0912
        if get_origin(annotation) is Annotated:
            base, *extra = get_args(annotation)
            return self._conv(base, [*extra, *metadata])
        befores: list[str] = []
        afters: list[str] = []
        limits: dict[str, Any] = {}
        _absorb(metadata, befores, afters, limits)
        origin, args = get_origin(annotation), get_args(annotation)
        if origin in (Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(rest) < len(args):
                if befores or afters:
                    raise TypeError("a validator on an optional field")
                value: Any = rest[0] if len(rest) == 1 else Union[tuple(rest)]  # noqa: UP007
                return ("optional", self._conv(value, metadata))  # constraints: on the value
            if not all(a in (str, int, float, bool) for a in rest):
                raise TypeError(f"records keep a union of scalars only, not {annotation}")
            core: Conv = ("scalar",)
        elif origin is Literal:
            core = ("literal", tuple(args))
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            core = ("tuple", self._conv(args[0], []))
        elif origin is dict:
            core = ("dict", self._conv(args[0], []), self._conv(args[1], []))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            core = ("model", self._model(annotation))
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            core = ("enum", _ref(annotation))
        elif annotation in _SCALAR_TYPES:
            core = (_SCALAR_TYPES[annotation],)
        else:
            raise TypeError(f"records cannot build a {annotation!r}")
        if limits:
            core = ("limits", core, tuple(limits.get(name) for name in LIMIT_NAMES))
        for before in befores:  # pydantic runs the last declared first
            core = ("before", before, core)
        for after in afters:
            core = ("after", core, after)
        return core


def _absorb(
    metadata: list[Any], befores: list[str], afters: list[str], limits: dict[str, Any]
) -> None:
    for item in metadata:
        if isinstance(item, BeforeValidator):
            befores.append(_ref(item.func))
        elif isinstance(item, AfterValidator):
            afters.append(_ref(item.func))
        elif isinstance(item, (PlainSerializer, WithJsonSchema)):
            continue  # output and documentation only
        elif isinstance(item, FieldInfo):
            _absorb(list(item.metadata), befores, afters, limits)
        elif isinstance(item, (StringConstraints, annotated_types.BaseMetadata)):
            if any(getattr(item, name, None) for name in _STRING_TRANSFORMS):
                raise TypeError(f"records apply no string transforms: {item!r}")
            found = {n: getattr(item, n) for n in LIMIT_NAMES if getattr(item, n, None) is not None}
            if not found:
                raise TypeError(f"records cannot apply {item!r}")
            limits.update(found)
        else:
            raise TypeError(f"records cannot apply {item!r}")


def _ref(thing: Any) -> str:
    if thing.__module__ != RULES_MODULE:
        raise TypeError(f"{thing.__qualname__}: a rule records apply must live in {RULES_MODULE}")
    return f"{thing.__module__}:{thing.__qualname__}"
