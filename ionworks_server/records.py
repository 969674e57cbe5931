"""One description per stored resource, and the code that shows, finds, creates and lists them all.

Specifications, instances, measurements and pipelines are stored, shown, looked up, created,
renamed and listed the same way. What differs between them (the table, the keys the API shows and
how each value is converted, the parent a name is unique within, the columns a new row starts
with) is data in a :class:`Resource`; each operation is written once, here.

Every lookup is scoped by ``organization_id``: a row of another organization is a 404, exactly
like a row that does not exist, so ids never leak across organizations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, func, select, update
from sqlalchemy.engine import Connection, Dialect, Row
from starlette.responses import Response

from .auth import Caller
from .context import Call
from .db import (
    batches,
    cell_instances,
    cell_measurements,
    cell_specifications,
    pipelines,
    read,
    utcnow,
    write,
)
from .errors import conflict, not_found
from .fields import extra_fields, name_field
from .filters import ListQuery, ListSpec, build_list_query
from .jsonio import format_ts, json_response
from .raw_rows import RAW_JSON, RAW_TIMESTAMP, json_value, kind_of, raw_select, timestamp_text
from .search import narrowed, unindexed

__all__ = [
    "INSTANCES",
    "MEASUREMENTS",
    "PIPELINES",
    "SPECIFICATIONS",
    "Field",
    "Resource",
    "page_response",
]

Convert = Callable[[Any], Any]

KEYED_PAGE_LIMIT = 100
"""Pages of a text search up to this size are read by :meth:`Resource._keyed_page`; a larger
page is read as fast by one query sorting the matches with their columns (measured at
1,000,000 specifications: fetching 1,000 rows by id costs what a second pass does)."""


@dataclass(frozen=True)
class Field:
    """One key of the API's view of a row: its value is ``convert(row.<column>)``."""

    key: str
    convert: Convert | None = None
    column: str = ""
    """The row attribute it comes from, when it is not ``key``."""


@dataclass(frozen=True, eq=False)
class Resource:
    """How one kind of row is stored, shown, found and created."""

    table: Table
    resource_type: str
    """``detail.resource_type`` of its 404 and 409 errors."""
    label: str
    """What a message calls it: ``Cell specification``."""
    fields: tuple[Field, ...]
    """The keys the API shows, in wire order."""
    extra: bool = True
    """Show the keys a client sent beyond the schema (stored in ``extra``) before the fixed ones."""
    query: Select[Any] | None = None
    """The select a row is shown from (default: the table); instances join their lot's name."""
    name_scope: tuple[str, ...] = ()
    """Columns within which a name is unique (``cell_specification_id`` for instances)."""
    name_where: str = ""
    """Where a name is taken, in the 409 message (``for this specification``); formatted with the
    ``name_scope`` values."""
    defaults: Callable[[], dict[str, Any]] = dict
    """Column values a new row starts with (a fresh dict each time: some are mutable); ``extra``
    starts empty wherever it is stored."""
    out: Callable[[Any], dict[str, Any]] = field(init=False, repr=False)
    """The row as the API shows it (compiled from ``fields``, see :func:`_compile_out`)."""
    _raw_outs: dict[tuple[str, ...], Callable[[Any], dict[str, Any]]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", _compile_out(self.fields, self.extra))

    def raw_out(self, dialect: Dialect, shown: Select[Any]) -> Callable[[Any], dict[str, Any]]:
        """:attr:`out` for a row of ``raw_select(shown)`` on ``dialect`` (the same result).

        It reads the row by position: an attribute of a SQLAlchemy row costs ~2 us, an index
        ~0.1 us, and a page of 1,000 rows reads 12,000 of them."""
        columns = list(shown.selected_columns)
        key = (dialect.name, *(str(c.key) for c in columns))
        compiled = self._raw_outs.get(key)
        if compiled is None:
            layout = RawLayout(
                kinds={str(c.key): kind_of(c) for c in columns},
                positions={str(c.key): i for i, c in enumerate(columns)},
                timestamp=timestamp_text(dialect),
            )
            compiled = _compile_out(self.fields, self.extra, layout)
            self._raw_outs[key] = compiled
        return compiled

    @property
    def shown(self) -> Select[Any]:
        """The select a row is shown from."""
        return self.query if self.query is not None else select(self.table)

    def find(self, conn: Connection, organization_id: str, row_id: str) -> Row[Any] | None:
        """The row if the organization can see it, else None."""
        t = self.table
        query = self.shown.where(t.c.id == row_id, t.c.organization_id == organization_id)
        return conn.execute(query).first()

    def visible(self, conn: Connection, organization_id: str, row_id: str) -> Row[Any]:
        """The row, or 404 (also when it belongs to another organization)."""
        row = self.find(conn, organization_id, row_id)
        if row is None:
            raise not_found(self.resource_type, row_id, self.label)
        return row

    def check_name_free(
        self, conn: Connection, scope: Mapping[str, Any], name: str, exclude: str | None = None
    ) -> None:
        """409 ``CONFLICT`` with ``existing_id`` when ``name`` is taken within ``scope``.

        ``existing_id`` lets a client's ``create_or_get`` recover the row; ``exclude`` skips the
        row being renamed.
        """
        t = self.table
        query = select(t.c.id).where(*(t.c[k] == v for k, v in scope.items()), t.c.name == name)
        if exclude is not None:
            query = query.where(t.c.id != exclude)
        existing = conn.execute(query).scalar()
        if existing is not None:
            raise conflict(
                f"{self.label} with this name already exists {self.name_where}: {{name!r}}".format(
                    name=name, **scope
                ),
                resource_type=self.resource_type,
                resource_name=name,
                existing_id=existing,
            )

    def rename(self, conn: Connection, row: Any, name: str | None, values: dict[str, Any]) -> None:
        """Add ``name`` to an update's ``values`` when it changes (409 when it is taken)."""
        if name is not None and name != row.name:
            scope = {k: getattr(row, k) for k in self.name_scope}
            self.check_name_free(conn, scope, name, exclude=row.id)
            values["name"] = name

    def insert(
        self,
        conn: Connection,
        caller: Caller,
        values: Mapping[str, Any],
        *,
        row_id: str | None = None,
        now: datetime | None = None,
    ) -> Row[Any]:
        """Create a row owned by the caller (server-owned columns set here) and return it."""
        row_id = row_id or str(uuid.uuid4())
        now = now or utcnow()
        owned = {
            "id": row_id,
            "organization_id": caller.organization_id,
            "created_by_email": caller.email,
            "created_at": now,
            "updated_at": now,
        }
        start: dict[str, Any] = {"extra": {}} if self.extra else {}
        conn.execute(self.table.insert().values({**start, **self.defaults(), **values, **owned}))
        return self.visible(conn, caller.organization_id, row_id)

    def update(
        self,
        conn: Connection,
        organization_id: str,
        row: Any,
        values: dict[str, Any],
        extra: Mapping[str, Any],
    ) -> Row[Any]:
        """Apply a PATCH's ``values`` (extra keys merged into the stored ones) and return the row."""
        if extra:
            values["extra"] = {**(row.extra or {}), **extra}
        values["updated_at"] = utcnow()
        t = self.table
        conn.execute(update(t).where(t.c.id == row.id).values(**values))
        return self.visible(conn, organization_id, row.id)

    def patch(
        self,
        call: Call,
        path_key: str,
        known: frozenset[str],
        change: Callable[[Connection, Any, dict[str, Any]], None],
        *,
        guard: Callable[[Any], None] | None = None,
    ) -> Row[Any]:
        """Apply a ``PATCH`` in one transaction and return the updated row.

        In this order, so the same error wins for the same request: 404 unless visible,
        ``guard(row)`` (fields that cannot change), the rename (409 when taken), then
        ``change(conn, row, values)`` adds the resource's own columns; keys outside ``known``
        are merged into ``extra``.
        """
        body = call.body
        org = call.caller.organization_id
        row_id = call.path(path_key)
        name = name_field(body, required=False)
        with write(call.ctx.engine) as conn:
            row = self.visible(conn, org, row_id)
            if guard is not None:
                guard(row)
            values: dict[str, Any] = {}
            self.rename(conn, row, name, values)
            change(conn, row, values)
            return self.update(conn, org, row, values, extra_fields(body, known))

    def page(
        self,
        conn: Connection,
        query: ListQuery,
        scope: list[ColumnElement[bool]],
        shown: Select[Any] | None = None,
    ) -> tuple[list[Row[Any]], int]:
        """One page of rows within ``scope`` (filtered, ordered, windowed) and the total count."""
        if narrowed(query.conditions):  # the text index picks the rows, not the scope's index
            scope = [unindexed(condition) for condition in scope]
        where = [*scope, *query.conditions]
        shown = shown if shown is not None else self.shown
        if query.searched and query.limit <= KEYED_PAGE_LIMIT:
            return self._keyed_page(conn, query, where, shown)
        rows = conn.execute(
            shown.where(*where).order_by(*query.order_by).limit(query.limit).offset(query.offset)
        ).all()
        if len(rows) < query.limit and (rows or not query.offset):
            # The page is the end of the list (same snapshot): the total needs no second pass.
            return list(rows), query.offset + len(rows)
        return list(rows), self._count(conn, where)

    def _count(self, conn: Connection, where: list[ColumnElement[bool]]) -> int:
        query = select(func.count()).select_from(self.table).where(*where)
        return int(conn.execute(query).scalar_one())

    def _keyed_page(
        self,
        conn: Connection,
        query: ListQuery,
        where: list[ColumnElement[bool]],
        shown: Select[Any],
    ) -> tuple[list[Row[Any]], int]:
        """A small page of a text search: the page's ids and the count in one pass over the
        matches, then those rows by id (the matches are read once, not once to count them and
        again to sort them with all their columns)."""
        ids = self.table.c.id
        keys = conn.execute(
            select(ids, func.count().over())
            .where(*where)
            .order_by(*query.order_by)
            .limit(query.limit)
            .offset(query.offset)
        ).all()
        if not keys:
            return [], self._count(conn, where) if query.offset else 0
        wanted = [key[0] for key in keys]
        found = conn.execute(shown.where(ids.in_(wanted))).all()
        at = [c.key for c in shown.selected_columns].index("id")
        by_id = {row[at]: row for row in found}
        return [by_id[key] for key in wanted if key in by_id], int(keys[0][1])

    def page_items(
        self,
        conn: Connection,
        query: ListQuery,
        scope: list[ColumnElement[bool]],
        shown: Select[Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """:meth:`page` as the API shows it, read raw (:mod:`.raw_rows`: the same items, faster)."""
        shown = shown if shown is not None else self.shown
        rows, total = self.page(conn, query, scope, raw_select(shown))
        out = self.raw_out(conn.dialect, shown)
        return [out(row) for row in rows], total

    def list_children(
        self, call: Call, spec: ListSpec, parent: Resource, parent_key: str
    ) -> Response:
        """``GET /<parents>/{parent_key}/<rows>``: 404 unless the caller can see the parent.

        ``parent_key`` names both the path parameter and this table's column that refers to it.
        """
        query = build_list_query(call.request.query_params, spec)
        parent_id = call.path(parent_key)
        with read(call.ctx.engine) as conn:
            parent.visible(conn, call.caller.organization_id, parent_id)
            items, total = self.page_items(conn, query, [self.table.c[parent_key] == parent_id])
        return page_response(items, total)


@dataclass(frozen=True)
class RawLayout:
    """How a row of :func:`.raw_rows.raw_select` is laid out, for :func:`_compile_out`."""

    kinds: dict[str, str | None]
    """Each column's :func:`.raw_rows.kind_of`."""
    positions: dict[str, int]
    """Each column's index in the row."""
    timestamp: Callable[[Any], str | None]
    """The dialect's :func:`.raw_rows.timestamp_text`."""


def _compile_out(
    fields: tuple[Field, ...], extra: bool, raw: RawLayout | None = None
) -> Callable[[Any], dict[str, Any]]:
    """A serialiser written out from the description, once, as ``dataclasses`` writes ``__init__``.

    A list page calls it once per row (10,000 times for ten pages of specifications): compiled,
    it does exactly the work a hand-written serialiser does, where a loop over ``fields`` would
    add Python work per field per row. Keys and columns come from the descriptions in this
    module, never from a request; they must be identifiers. With ``raw`` it reads a row of
    :func:`.raw_rows.raw_select` by position: JSON columns are decoded first, and timestamps,
    whose only conversion is ``format_ts``, go to their text in one step.
    """
    env: dict[str, Any] = {"_json": json_value, "_timestamp": raw.timestamp if raw else None}

    def read(column: str) -> str:
        if raw is None:
            return f"row.{column}"
        value = f"row[{raw.positions[column]}]"
        return f"_json({value})" if raw.kinds[column] == RAW_JSON else value

    items = []
    for index, f in enumerate(fields):
        column = f.column or f.key
        if not (f.key.isidentifier() and column.isidentifier()):
            raise ValueError(f"field {f.key!r} (column {column!r}) is not an identifier")
        value = read(column)
        if raw is not None and raw.kinds[column] == RAW_TIMESTAMP:
            if f.convert is not format_ts:
                raise ValueError(f"field {f.key!r}: a timestamp is shown only through format_ts")
            items.append(f"{f.key}=_timestamp({value})")
            continue
        if f.convert is not None:
            env[f"_convert{index}"] = f.convert
            value = f"_convert{index}({value})"
        items.append(f"{f.key}={value}")
    start = f"dict({read('extra')} or {{}})" if extra else "{}"
    source = f"def out(row):\n    o = {start}\n    o.update({', '.join(items)})\n    return o\n"
    exec(source, env)  # the source is built above from this module's own descriptions
    out: Callable[[Any], dict[str, Any]] = env["out"]
    return out


def page_response(items: list[dict[str, Any]], total: int) -> Response:
    """The list envelope every list operation of openapi.yaml returns."""
    return json_response({"items": items, "count": len(items), "total": total})


def _plain(*keys: str) -> tuple[Field, ...]:
    """Keys shown as stored."""
    return tuple(Field(key) for key in keys)


def _dict_or_empty(value: Any) -> Any:
    return value or {}


def _as_list(value: Any) -> list[Any]:
    return list(value or [])


def _terminal(status: str) -> bool:
    return status in ("completed", "failed", "cancelled")


def _failed(status: str) -> bool:
    return status == "failed"


_STAMPS = (
    Field("created_by_email"),
    Field("created_at", format_ts),
    Field("updated_at", format_ts),
)

SPECIFICATIONS = Resource(
    table=cell_specifications,
    resource_type="cell_specification",
    label="Cell specification",
    fields=(
        *_plain("id", "name", "project_id", "form_factor", "manufacturer", "chemistry"),
        Field("ratings", _dict_or_empty),
        *_STAMPS,
    ),
    name_scope=("organization_id", "project_id"),
    name_where="in project {project_id!r}",
    defaults=lambda: {"ratings": {}},
)
"""Components are shown by :func:`.resources.spec_out` only when asked for (``full``)."""

_I = cell_instances
INSTANCES = Resource(
    table=_I,
    resource_type="cell_instance",
    label="Cell instance",
    fields=(
        *_plain("id", "name", "cell_specification_id", "batch_id", "batch_name", "notes"),
        *_STAMPS,
    ),
    query=select(_I, batches.c.name.label("batch_name")).select_from(
        _I.outerjoin(batches, batches.c.id == _I.c.batch_id)
    ),
    name_scope=("cell_specification_id",),
    name_where="for this specification",
)

MEASUREMENTS = Resource(
    table=cell_measurements,
    resource_type="cell_measurement",
    label="Cell measurement",
    # Flat, with the instance's specification_id, as openapi.yaml's CellMeasurement shows it.
    fields=(
        *_plain("id", "name", "cell_instance_id", "specification_id", "measurement_type"),
        Field("start_time", format_ts),
        Field("end_time", format_ts),
        *_plain("notes", "protocol", "test_setup", "properties"),
        Field("tags", _as_list),
        *_plain("processing_status", "processing_error", "row_count"),
        *_STAMPS,
    ),
    name_scope=("cell_instance_id",),
    name_where="for this cell instance",
    defaults=lambda: {"tags": [], "filenames": []},
)

PIPELINES = Resource(
    table=pipelines,
    resource_type="pipeline",
    label="Pipeline",
    # is_terminal/is_failed are always present: clients poll on them.
    fields=(
        *_plain("id", "name", "description", "project_id", "status", "error"),
        Field("is_terminal", _terminal, column="status"),
        Field("is_failed", _failed, column="status"),
        Field("result"),
        Field("created_at", format_ts),
    ),
    extra=False,
)
