"""List filters (openapi.yaml's list parameters) → SQL conditions, ordering and paging, validated strictly.

* Text filters use PostgREST-like operators split from the value at the **first** dot:
  ``ilike.<pattern>`` (case-insensitive ``LIKE``; ``%`` and ``_`` are wildcards, a backslash is
  literal; served by a text index when the pattern has a literal run of 3+ characters,
  :mod:`.search`),
  ``eq.<value>`` (exact, so ``eq.NCM622/Graphite v1.2`` keeps its dots) and ``neq.<value>``
  (differs from the value; rows where the column is empty count as different).
* ``*_gt`` / ``*_lt`` take ISO 8601 date-times (``Z``, offsets or date-only; no offset means UTC)
  and are strict comparisons.
* ``order_by`` / ``order`` sort; ties are broken by ``id`` in the same direction, so offset pages
  never overlap or skip. ``limit`` is 1..1000 (default 1000) and ``offset`` ≥ 0.

Any value that cannot be honoured is a 400 whose message names the parameter and shows a valid
form (``detail.parameter`` names it too): silently ignoring a filter would return wrong data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.sql.elements import UnaryExpression
from starlette.datastructures import QueryParams

from .errors import bad_parameter
from .search import ESCAPE, ilike, match_query

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ListQuery",
    "ListSpec",
    "build_list_query",
    "check_query_values",
    "page_window",
    "parse_bool",
    "parse_iso_datetime",
    "single",
]

DEFAULT_LIMIT = 1000
MAX_LIMIT = 1000
TEXT_OPERATORS = ("eq", "neq", "ilike")

# Filters the official client can send that this server does not implement: refusing them is
# better than returning unfiltered rows that look filtered.
UNSUPPORTED = frozenset(
    {
        "material_id",
        "material_ids",
        "anode_material_id",
        "cathode_material_id",
        "electrolyte_material_id",
        "separator_material_id",
        "case_material_id",
        "exclude_cell_spec_id",
    }
)


@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint accepts: filter parameters mapped to columns."""

    id_column: Any
    text_filters: Mapping[str, Any]
    """``name=ilike.%x%`` style parameters."""
    date_filters: Mapping[str, Any]
    """Base names (``created_at``) whose ``_gt``/``_lt`` forms are accepted."""
    order_columns: Mapping[str, Any]
    exact_filters: Mapping[str, Any] = field(default_factory=dict)
    """Raw-value parameters compared with ``=`` (``project_id``, ``batch_id``)."""
    enum_filters: Mapping[str, tuple[Any, tuple[str, ...]]] = field(default_factory=dict)
    """Raw-value parameters restricted to a set of values (``measurement_type``)."""
    tag_table: Any = None
    """For measurements: the tag index table, enabling ``tags_all`` / ``tags_any``."""
    default_limit: int = DEFAULT_LIMIT
    """The page size when ``limit`` is not given (the project-wide measurement list: 25)."""
    indexed_text: frozenset[str] = frozenset()
    """Text filters served by a text index (:mod:`.search`): the organization-wide ``name``."""


@dataclass
class ListQuery:
    """The validated result: WHERE conditions, ORDER BY clauses and the page window."""

    conditions: list[ColumnElement[bool]]
    order_by: list[UnaryExpression[Any]]
    limit: int
    offset: int
    searched: bool = False
    """A text index picks the rows (an indexed ``ilike`` with a run of 3+ characters): the
    matches are few, so :meth:`.records.Resource.page` may count them as it finds them."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_query_values(params: QueryParams) -> None:
    """400 for a control character in any query parameter name or value.

    SQLite ends a bound text at a NUL, so ``name=ilike.%\0%`` would otherwise match everything;
    no filter, id or flag of this API has a use for control characters.
    """
    for name, value in params.multi_items():
        found = _CONTROL.search(name) or _CONTROL.search(value)
        if found:
            code = f"U+{ord(found.group()):04X}"
            raise bad_parameter(
                name,
                f"Invalid value for {name!r}: it contains the control character {code}; "
                "percent-encode only printable text in query parameters",
            )


def single(params: QueryParams, name: str) -> str | None:
    """The one value of a scalar parameter; giving it twice is ambiguous, so it is a 400."""
    values = params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise bad_parameter(
            name, f"Parameter {name!r} was given {len(values)} times; give it at most once"
        )
    return values[0]


def _integer(params: QueryParams, name: str, default: int, low: int, high: int | None) -> int:
    raw = single(params, name)
    if raw is None:
        return default
    text = raw.strip(" ")
    bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text):
        raise bad_parameter(name, f"Invalid value for {name!r}: {raw!r} is not an integer {bounds}")
    value = int(text)
    if value < low or (high is not None and value > high):
        hint = " (fetch further pages with offset)" if name == "limit" and value > low else ""
        raise bad_parameter(
            name,
            f"Invalid value for {name!r}: {value} is out of range; use an integer {bounds}{hint}",
        )
    return value


def page_window(params: QueryParams, default_limit: int) -> tuple[int, int]:
    """``limit`` (1..1000, default ``default_limit``) and ``offset`` (>= 0), for lists that are
    not tables of rows (tag usage)."""
    limit = _integer(params, "limit", default_limit, 1, MAX_LIMIT)
    return limit, _integer(params, "offset", 0, 0, None)


def parse_bool(params: QueryParams, name: str, default: bool = False) -> bool:
    """``true``/``false`` (any case, also ``1``/``0``); anything else is a 400."""
    raw = single(params, name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_parameter(
        name, f"Invalid value for {name!r}: {raw!r} is not a boolean; use true or false"
    )


def parse_iso_datetime(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time to naive UTC; ``ValueError`` with a reason otherwise."""
    text = value.strip()
    if not text:
        raise ValueError("it is empty")
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        reason = f"{value!r} is not an ISO 8601 date-time"
        if re.search(r"\d \d{2}:?\d{2}$", text):
            reason += " (a '+' in a query string must be sent as %2B)"
        raise ValueError(reason + ', e.g. "2026-03-01T00:00:00Z" or "2026-03-01"') from None
    if parsed.tzinfo is None:
        return parsed
    try:
        return parsed.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the supported date range") from None


def _date(params: QueryParams, name: str) -> datetime | None:
    raw = single(params, name)
    if raw is None:
        return None
    try:
        return parse_iso_datetime(raw)
    except ValueError as exc:
        raise bad_parameter(name, f"Invalid value for {name!r}: {exc}") from None


def _text_condition(
    name: str, raw: str, column: ColumnElement[Any], indexed: bool = False
) -> ColumnElement[bool]:
    operator, dot, value = raw.partition(".")
    if not dot or operator not in TEXT_OPERATORS:
        if not dot:
            hint = f"use {name}=ilike.%{raw}% for a case-insensitive substring or {name}=eq.{raw} for an exact match"
            problem = f"{raw!r} has no operator"
        else:
            hint = "use one of eq.<value>, neq.<value>, ilike.<pattern>"
            problem = f"unknown operator {operator!r}"
        raise bad_parameter(name, f"Invalid filter for {name!r}: {problem}; {hint}")
    if operator == "eq":
        return column == value
    if operator == "neq":
        return or_(column != value, column.is_(None))
    # A backslash is literal on both engines (PostgreSQL would read it as an escape).
    return ilike(column, value.replace(ESCAPE, ESCAPE * 2), indexed=indexed)


def _direction(params: QueryParams) -> str:
    raw = single(params, "order")
    if raw is None:
        return "asc"
    if raw not in ("asc", "desc"):
        raise bad_parameter("order", f"Invalid value for 'order': {raw!r}; use asc or desc")
    return raw


def build_list_query(params: QueryParams, spec: ListSpec) -> ListQuery:
    """Validate every list parameter and translate it; raises a 400 naming the first bad one."""
    for name in UNSUPPORTED & set(params.keys()):
        raise bad_parameter(
            name,
            f"The {name!r} filter is not supported by the local reference server; "
            "filter on name, form_factor, created_by_email or dates instead",
        )
    limit = _integer(params, "limit", spec.default_limit, 1, MAX_LIMIT)
    offset = _integer(params, "offset", 0, 0, None)
    conditions: list[ColumnElement[bool]] = []

    searched = False
    for name, column in spec.text_filters.items():
        raw = single(params, name)
        if raw is not None:
            indexed = name in spec.indexed_text
            conditions.append(_text_condition(name, raw, column, indexed))
            if indexed and raw.startswith("ilike."):  # as _text_condition reads the pattern
                pattern = raw.removeprefix("ilike.").replace(ESCAPE, ESCAPE * 2)
                searched |= match_query(pattern, None) is not None
    for base, column in spec.date_filters.items():
        after = _date(params, f"{base}_gt")
        if after is not None:
            conditions.append(column > after)
        before = _date(params, f"{base}_lt")
        if before is not None:
            conditions.append(column < before)
    for name, column in spec.exact_filters.items():
        raw = single(params, name)
        if raw is not None:
            conditions.append(column == raw)
    for name, (column, allowed) in spec.enum_filters.items():
        raw = single(params, name)
        if raw is None:
            continue
        if raw not in allowed:
            raise bad_parameter(
                name, f"Invalid value for {name!r}: {raw!r}; use one of {', '.join(allowed)}"
            )
        conditions.append(column == raw)
    if spec.tag_table is not None:
        conditions.extend(_tag_conditions(params, spec))

    order_by_raw = single(params, "order_by")
    order_key = order_by_raw if order_by_raw is not None else "created_at"
    if order_key not in spec.order_columns:
        raise bad_parameter(
            "order_by",
            f"Invalid value for 'order_by': {order_by_raw!r}; use one of "
            + ", ".join(spec.order_columns),
        )
    direction = _direction(params)
    column = spec.order_columns[order_key]
    if direction == "asc":
        order = [column.asc().nulls_first(), spec.id_column.asc()]
    else:
        order = [column.desc().nulls_last(), spec.id_column.desc()]
    return ListQuery(conditions, order, limit, offset, searched)


def _tag_conditions(params: QueryParams, spec: ListSpec) -> list[ColumnElement[bool]]:
    """``tags_all``: every tag present; ``tags_any``: at least one (case-insensitive)."""
    table = spec.tag_table
    out: list[ColumnElement[bool]] = []
    wanted_all = _tags(params.getlist("tags_all"))
    for tag in wanted_all:
        out.append(
            exists(
                select(table.c.measurement_id).where(
                    and_(table.c.measurement_id == spec.id_column, table.c.tag_key == tag)
                )
            )
        )
    wanted_any = _tags(params.getlist("tags_any"))
    if wanted_any:
        out.append(
            exists(
                select(table.c.measurement_id).where(
                    and_(table.c.measurement_id == spec.id_column, table.c.tag_key.in_(wanted_any))
                )
            )
        )
    return out


def _tags(values: Sequence[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values if v.strip()})
