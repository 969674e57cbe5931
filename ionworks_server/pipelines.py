"""Pipelines: validated, stored and run honestly within what a local server can evaluate.

Validation happens at submission (400 naming the place):

* ``elements`` is a non-empty object of elements, each with an ``element_type`` among the kinds
  the official client sends (``ELEMENT_TYPES`` below);
* every ``db:<measurement_id>`` string anywhere in the payload names a measurement the caller can
  see;
* no inline column table (``{column: [values]}``) has more than 1,000 rows. The official client
  does not enforce this cap for ``pipeline.create`` (it sends inline data as given), so the
  server must.

Only ``entry`` elements (direct parameter entry) can be evaluated here: their result is their
``values``. A pipeline made only of entries is ``completed`` with that result; any other element
kind makes it ``failed`` with an error that says so. Nothing is ever faked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from starlette.responses import Response

from .context import Call
from .db import cell_measurements, read, write
from .errors import bad_request
from .fields import optional_str
from .jsonio import json_response
from .records import PIPELINES

__all__ = ["ELEMENT_TYPES", "MAX_INLINE_ROWS", "create_pipeline", "get_pipeline", "run_pipeline"]

ELEMENT_TYPES = (
    "entry",
    "data_fit",
    "array_data_fit",
    "validation",
    "calculation",
    "linear_confidence_interval",
    "sobol_sensitivity",
)
MAX_INLINE_ROWS = 1000


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every nested value with its JSON path (``elements.fit.objectives[0].data``)."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")


def _inline_rows(value: Any) -> int | None:
    """Row count of a column table (an object whose values are all arrays), else None."""
    if not isinstance(value, dict) or not value:
        return None
    if not all(isinstance(v, list) for v in value.values()):
        return None
    return max(len(v) for v in value.values())


def _validate_elements(body: dict[str, Any]) -> dict[str, Any]:
    elements = body.get("elements")
    if not isinstance(elements, dict) or not elements:
        raise bad_request(
            "Field 'elements' is required: a non-empty object of pipeline elements by name",
            field="elements",
        )
    for name, element in elements.items():
        path = f"elements.{name}"
        if not isinstance(element, dict):
            raise bad_request(
                f"Field '{path}' must be an object with an 'element_type'", field=path
            )
        kind = element.get("element_type")
        if kind not in ELEMENT_TYPES:
            raise bad_request(
                f"Field '{path}.element_type': {kind!r} is not a known element type; use one of "
                + ", ".join(ELEMENT_TYPES),
                field=f"{path}.element_type",
            )
    return elements


def _check_payload(call: Call, body: dict[str, Any]) -> None:
    """Inline tables within the cap; every ``db:`` reference visible to the caller."""
    references: dict[str, str] = {}
    for path, value in _walk({"elements": body["elements"], "options": body.get("options")}, ""):
        rows = _inline_rows(value)
        if rows is not None and rows > MAX_INLINE_ROWS:
            raise bad_request(
                f"Inline data at '{path}' has {rows} rows, which exceeds the maximum of "
                f"{MAX_INLINE_ROWS} rows for inline data. Upload it as a measurement and reference "
                "it as 'db:<measurement_id>' instead.",
                field=path,
                n_rows=rows,
                max_rows=MAX_INLINE_ROWS,
            )
        if isinstance(value, str) and value.startswith("db:"):
            references.setdefault(value[3:], path)
    if not references:
        return
    with read(call.ctx.engine) as conn:
        visible = set(
            conn.execute(
                select(cell_measurements.c.id).where(
                    cell_measurements.c.organization_id == call.caller.organization_id,
                    cell_measurements.c.id.in_(list(references)),
                )
            ).scalars()
        )
    for measurement_id, path in references.items():
        if measurement_id not in visible:
            raise bad_request(
                f"Field '{path}' references measurement {measurement_id!r} (db:{measurement_id}), "
                "which does not exist or is not visible to you",
                field=path,
                measurement_id=measurement_id,
            )


def run_pipeline(elements: dict[str, Any]) -> tuple[str, str | None, dict[str, Any] | None]:
    """Evaluate what can be evaluated locally: (status, error, result)."""
    result: dict[str, Any] = {}
    for name, element in elements.items():
        kind = element["element_type"]
        if kind != "entry":
            return (
                "failed",
                f"element type {kind!r} is not supported by the local reference server "
                f"(element {name!r}); only 'entry' elements can be evaluated locally",
                None,
            )
        values = element.get("values")
        result[name] = (
            values
            if isinstance(values, dict)
            else {k: v for k, v in element.items() if k != "element_type"}
        )
    return "completed", None, result


def create_pipeline(call: Call) -> Response:
    """``POST /pipelines``: validate, store, evaluate."""
    body = call.body
    elements = _validate_elements(body)
    values: dict[str, Any] = {
        "name": optional_str(body, "name"),
        "description": optional_str(body, "description"),
        "project_id": optional_str(body, "project_id") or call.caller.default_project_id,
    }
    _check_payload(call, body)
    status, error, result = run_pipeline(elements)
    values.update(status=status, error=error, config=body, result=result)
    with write(call.ctx.engine) as conn:
        row = PIPELINES.insert(conn, call.caller, values)
    return json_response(PIPELINES.out(row), status=201)


def get_pipeline(call: Call) -> Response:
    """``GET /pipelines/{id}``."""
    with read(call.ctx.engine) as conn:
        row = PIPELINES.visible(conn, call.caller.organization_id, call.path("pipeline_id"))
    return json_response(PIPELINES.out(row))
