"""The spec's YAML says what its authors meant: no key of a schema is a stray half-sentence.

An unquoted flow-style description with a comma (``{ type: x, description: a, b. }``) parses as a
description cut at the comma plus a key named ``b.``; nothing else notices.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"

SCHEMA_KEYWORDS = {
    "type", "format", "description", "title", "properties", "required", "items", "enum", "const",
    "default", "example", "examples", "nullable", "readOnly", "writeOnly", "deprecated",
    "additionalProperties", "allOf", "anyOf", "oneOf", "not", "$ref", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems",
    "maxItems", "uniqueItems", "minProperties", "maxProperties", "multipleOf", "discriminator",
    "propertyNames", "patternProperties", "contentMediaType", "contentEncoding",
}  # fmt: skip


def _schemas(node: Any, in_schema: bool = False) -> list[dict[str, Any]]:
    """Every schema object under ``node`` (examples are data, not schemas, and are skipped)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if in_schema:
            found.append(node)
        for key, value in node.items():
            if key in ("example", "examples", "enum", "const", "default"):
                continue
            if key == "properties" and in_schema:
                for prop in value.values():
                    found += _schemas(prop, True)
            elif key in ("schema", "items", "additionalProperties", "not"):
                found += _schemas(value, True)
            elif key in ("allOf", "anyOf", "oneOf"):
                for part in value:
                    found += _schemas(part, True)
            elif key == "schemas":
                for schema in value.values():
                    found += _schemas(schema, True)
            elif not in_schema:
                found += _schemas(value, False)
    elif isinstance(node, list) and not in_schema:
        for item in node:
            found += _schemas(item, False)
    return found


def test_every_schema_key_is_a_schema_keyword() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    schemas = _schemas(spec)
    assert len(schemas) > 50
    strays = sorted({key for s in schemas for key in s if key not in SCHEMA_KEYWORDS})
    assert not strays, (
        f"openapi.yaml has schema keys that are not keywords (quote the text): {strays}"
    )
