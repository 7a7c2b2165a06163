"""The Bot API method and type list (``api/api.json``) and the checks made against it.

Every call's parameters are coerced and validated here, and every object the server returns
is validated recursively: required fields present, no field unknown to the specification,
the right JSON types, and for a type with subtypes (``ChatMember``, ``MessageOrigin`` ...)
any subtype that fits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.sandbox.errors import ApiError, SpecViolation

API_JSON = Path(__file__).resolve().parent / "api" / "api.json"

_ARRAY = "Array of "
_PRIMITIVES = frozenset({"Integer", "Float", "String", "Boolean"})
# Discriminator fields state their value in the description: 'always "creator"' or
# 'must be chat'. Enforcing it is what tells ChatMemberMember from ChatMemberLeft.
_CONSTANT = re.compile(r'always "([a-z_]+)"|must be ([a-z_]+)$')
_DISCRIMINATORS = frozenset({"type", "status", "source"})
_INTEGER = re.compile(r"[+-]?\d+\Z")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class Upload:
    """A file sent with ``multipart/form-data``."""

    filename: str
    content_type: str
    data: bytes

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {self.content_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a type or one parameter of a method."""

    name: str
    types: tuple[str, ...]
    required: bool
    description: str
    constant: str | None = None


@dataclass(frozen=True)
class TypeSpec:
    """A Bot API type: either fields or a list of subtypes (type expressions)."""

    name: str
    fields: Mapping[str, FieldSpec]
    subtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    """A Bot API method: its parameters and the type expressions it may return."""

    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


def _field(raw: Mapping[str, Any]) -> FieldSpec:
    name = str(raw["name"])
    description = str(raw.get("description", ""))
    constant = None
    if name in _DISCRIMINATORS and (match := _CONSTANT.search(description)):
        constant = match.group(1) or match.group(2)
    return FieldSpec(name, tuple(raw["types"]), bool(raw["required"]), description, constant)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, Upload):
        return "uploaded file"
    return type(value).__name__


# python-telegram-bot's `Defaults` add these to every message-related call, including methods
# that don't take them (editMessageReplyMarkup gets a parse_mode). Telegram ignores unknown
# parameters; the sandbox rejects them to catch bot bugs, except these.
DEFAULTS_SENT_EVERYWHERE = frozenset(
    {"parse_mode", "link_preview_options", "disable_notification", "protect_content"}
)


class ApiSpec:
    """The loaded specification with parameter coercion and recursive validation."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version = str(raw.get("version", ""))
        self.types: dict[str, TypeSpec] = {}
        for name, body in raw["types"].items():
            fields = {f["name"]: _field(f) for f in body.get("fields", [])}
            self.types[name] = TypeSpec(name, fields, tuple(body.get("subtypes", [])))
        self.methods: dict[str, MethodSpec] = {}
        for name, body in raw["methods"].items():
            fields = {f["name"]: _field(f) for f in body.get("fields", [])}
            self.methods[name] = MethodSpec(name, fields, tuple(body.get("returns", [])))
        # Telegram matches method names case-insensitively.
        self._by_lower = {name.lower(): spec for name, spec in self.methods.items()}

    def method(self, name: str) -> MethodSpec | None:
        """The method called ``name`` (any case), or None if the Bot API has none."""
        return self._by_lower.get(name.lower())

    # -- parameters ---------------------------------------------------------------------

    def parse_params(self, method: MethodSpec, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Coerce and validate a call's parameters; raise :class:`ApiError` (400) if wrong.

        ``raw`` values are strings (form data or query string: python-telegram-bot sends
        strings raw and everything else JSON-encoded), :class:`Upload` objects, or values
        already typed by a JSON body.
        """
        params: dict[str, Any] = {}
        for name, value in raw.items():
            field = method.fields.get(name)
            if field is None and name in DEFAULTS_SENT_EVERYWHERE:
                continue  # Telegram ignores it; python-telegram-bot's Defaults send it
            if field is None:
                raise ApiError.bad_request(
                    f'unknown parameter "{name}": the Bot API method {method.name} has no such '
                    "parameter"
                )
            params[name] = self._coerce(field, value)
        for field in method.fields.values():
            if field.required and field.name not in params:
                if field.name == "text":
                    raise ApiError.bad_request("message text is empty")
                raise ApiError.bad_request(f'parameter "{field.name}" is required')
        for name, value in params.items():
            problem = self.problem(value, method.fields[name].types, name, inputs=True)
            if problem is not None:
                raise ApiError.bad_request(f"invalid parameter {problem}")
        return params

    def _coerce(self, field: FieldSpec, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        types = field.types
        json_types = [t for t in types if t not in _PRIMITIVES and t != "InputFile"]
        looks_like_json = value.lstrip()[:1] in ("{", "[")
        if json_types and ("String" not in types or looks_like_json):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ApiError.bad_request(
                    f'can\'t parse JSON in parameter "{field.name}"'
                ) from None
        if "Integer" in types and _INTEGER.match(value.strip()):
            return int(value)
        if "Float" in types:
            try:
                return float(value)
            except ValueError:
                return value
        if "Boolean" in types and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        return value

    # -- validation ---------------------------------------------------------------------

    def problem(
        self, value: Any, types: Sequence[str], path: str, *, inputs: bool = False
    ) -> str | None:
        """Why ``value`` fits none of the type expressions ``types``, or None if it fits.

        ``inputs`` allows uploaded files where the type is ``InputFile``.
        """
        problems: list[str] = []
        for expr in types:
            found = self._expr_problem(value, expr, path, inputs)
            if found is None:
                return None
            problems.append(found)
        # The alternative that got furthest into the value explains the mistake best.
        return max(problems, key=len) if problems else f"{path}: no type allowed"

    def validate(self, value: Any, types: Sequence[str], path: str = "result") -> None:
        """Raise :class:`SpecViolation` if ``value`` is not a valid Bot API answer."""
        found = self.problem(value, types, path)
        if found is not None:
            raise SpecViolation(f"the sandbox built an object the Bot API does not allow: {found}")

    def validate_result(self, method: MethodSpec, result: Any) -> None:
        """Check a method's result against what the specification says it returns."""
        self.validate(result, method.returns, f"{method.name} result")

    def _expr_problem(self, value: Any, expr: str, path: str, inputs: bool) -> str | None:
        if expr.startswith(_ARRAY):
            if not isinstance(value, list):
                return f"{path}: expected {expr}, got {_describe(value)}"
            inner = expr[len(_ARRAY) :]
            for index, item in enumerate(value):
                found = self._expr_problem(item, inner, f"{path}[{index}]", inputs)
                if found is not None:
                    return found
            return None
        if expr in _PRIMITIVES:
            return (
                None
                if self._is_primitive(value, expr)
                else (f"{path}: expected {expr}, got {_describe(value)} {value!r:.60}")
            )
        if expr == "InputFile":
            if inputs and isinstance(value, Upload):
                return None
            return f"{path}: expected an uploaded file, got {_describe(value)}"
        spec = self.types.get(expr)
        if spec is None:
            return f"{path}: the specification has no type {expr}"
        if spec.subtypes:
            return self._subtype_problem(value, spec, path, inputs)
        return self._object_problem(value, spec, path, inputs)

    @staticmethod
    def _is_primitive(value: Any, expr: str) -> bool:
        if expr == "Boolean":
            return isinstance(value, bool)
        if expr == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if expr == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        return isinstance(value, str)

    def _subtype_problem(self, value: Any, spec: TypeSpec, path: str, inputs: bool) -> str | None:
        # When a subtype's discriminator matches, its own complaint is the useful one.
        if isinstance(value, dict):
            for expr in spec.subtypes:
                sub = self.types.get(expr)
                if sub is None or not sub.fields:
                    continue
                for field in sub.fields.values():
                    if field.constant is not None and value.get(field.name) == field.constant:
                        return self._object_problem(value, sub, path, inputs)
        found = self.problem(value, spec.subtypes, path, inputs=inputs)
        if found is None:
            return None
        return f"{found} (no subtype of {spec.name} fits)"

    def _object_problem(self, value: Any, spec: TypeSpec, path: str, inputs: bool) -> str | None:
        if not isinstance(value, dict):
            return f"{path}: expected a {spec.name} object, got {_describe(value)}"
        for key in value:
            if key not in spec.fields:
                return f'{path}: {spec.name} has no field "{key}"'
        for field in spec.fields.values():
            if field.name not in value:
                if field.required:
                    return f'{path}: {spec.name} lacks the required field "{field.name}"'
                continue
            item = value[field.name]
            if field.constant is not None and item != field.constant:
                return f'{path}.{field.name}: must be "{field.constant}" in {spec.name}'
            found = self.problem(item, field.types, f"{path}.{field.name}", inputs=inputs)
            if found is not None:
                return found
        return None


@cache
def load_spec() -> ApiSpec:
    """The specification vendored next to this module (loaded once per process)."""
    with API_JSON.open(encoding="utf-8") as handle:
        return ApiSpec(json.load(handle))
