"""Request bodies validated against ``openapi.yaml`` itself, so the spec and the server cannot drift.

At start-up every operation's ``application/json`` request-body schema is compiled once into a
JSON Schema (2020-12, the dialect of OpenAPI 3.1) validator whose ``$ref``s resolve inside the
spec document. A body that breaks its schema is a 400 naming the field path and the problem
(``separator.name: expected string``); handlers then only check what a schema cannot express
(name uniqueness, references to other rows, date parsing, tag normalisation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .bodies import format_path
from .errors import bad_request

__all__ = ["BodySchemas", "body_schemas", "find_spec", "load_spec"]

SPEC_URI = "urn:ionworks:openapi"
_HERE = Path(__file__).resolve().parent
SPEC_CANDIDATES = (_HERE / "openapi.yaml", _HERE.parent / "openapi.yaml")
"""The copy shipped inside the wheel, then the repository's own (source checkouts)."""
_METHODS = ("get", "put", "post", "patch", "delete")
_JSON_NAMES = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "object": "object",
    "array": "array",
    "null": "null",
}


def find_spec() -> Path:
    """The ``openapi.yaml`` this server implements."""
    for candidate in SPEC_CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "openapi.yaml not found next to ionworks_server or in its parent directory"
    )


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed spec document."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times faster at start-up
    spec: dict[str, Any] = yaml.load((path or find_spec()).read_text(encoding="utf-8"), loader)
    return spec


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class BodySchemas:
    """One compiled validator per operation id that takes a JSON body."""

    validators: Mapping[str, Draft202012Validator]

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BodySchemas:
        """Compile every ``application/json`` request-body schema of ``spec``."""
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        validators: dict[str, Draft202012Validator] = {}
        for path, item in spec["paths"].items():
            for method in _METHODS:
                operation = item.get(method)
                content = (operation or {}).get("requestBody", {}).get("content", {})
                if "application/json" not in content:
                    continue
                pointer = _pointer(
                    "paths", path, method, "requestBody", "content", "application/json", "schema"
                )
                schema = {"$ref": f"{SPEC_URI}#{pointer}"}
                Draft202012Validator.check_schema(content["application/json"]["schema"])
                validators[operation["operationId"]] = Draft202012Validator(
                    schema, registry=registry
                )
        return cls(validators)

    def validate(self, operation_id: str, body: Any) -> None:
        """Raise a 400 naming the field path when ``body`` breaks the operation's schema."""
        validator = self.validators.get(operation_id)
        if validator is None:
            return
        error = best_match(validator.iter_errors(body))
        if error is None:
            return
        field, problem = describe(error)
        raise bad_request(f"{field}: {problem}", field=field)


@lru_cache(maxsize=1)
def body_schemas() -> BodySchemas:
    """The validators for the spec on disk, compiled on first use (the app factory calls it)."""
    return BodySchemas.from_spec(load_spec())


def _types(value: Any) -> list[str]:
    names = value if isinstance(value, list) else [value]
    return [_JSON_NAMES.get(str(n), str(n)) for n in names]


def _anyof_types(error: ValidationError) -> list[str] | None:
    """The allowed types when every branch of an anyOf/oneOf failed only on its type."""
    branches = error.context or []
    if not branches or any(e.validator != "type" or e.relative_path for e in branches):
        return None
    types: list[str] = []
    for branch in branches:
        types.extend(t for t in _types(branch.validator_value) if t not in types)
    return types


def describe(error: ValidationError) -> tuple[str, str]:
    """(field path, what is wrong) for one validation error, in words a caller can act on."""
    parts = list(error.absolute_path)
    kind = error.validator
    expected = error.validator_value
    instance = error.instance
    if kind == "required":
        missing = [name for name in expected if name not in instance]
        return format_path([*parts, missing[0] if missing else "?"]), "is required"
    if kind == "type":
        return format_path(parts), "expected " + " or ".join(_types(expected))
    if kind in ("anyOf", "oneOf"):
        types = _anyof_types(error)
        if types:
            return format_path(parts), "expected " + " or ".join(types)
        return format_path(parts), "does not match any of the allowed forms"
    if kind == "maxLength":
        return format_path(parts), (
            f"is {len(instance)} characters long; the maximum is {expected}"
        )
    if kind == "minLength":
        return format_path(parts), (
            "must not be empty" if expected == 1 else f"must be at least {expected} characters"
        )
    if kind == "enum":
        return format_path(parts), "expected one of " + ", ".join(map(str, expected))
    if kind in ("maxItems", "maxProperties"):
        return format_path(parts), f"has {len(instance)} entries; the maximum is {expected}"
    if kind in ("minItems", "minProperties"):
        return format_path(parts), f"needs at least {expected} entries"
    if kind == "maximum":
        return format_path(parts), f"must be at most {expected}"
    if kind == "minimum":
        return format_path(parts), f"must be at least {expected}"
    return format_path(parts), error.message
