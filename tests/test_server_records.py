"""The server's resource descriptions (ionworks_server/records.py) against openapi.yaml.

Every stored resource is shown through one table-driven serialiser, so a key missing from a
description, or out of order, would change every response of that resource at once: these tests
pin the descriptions to the schemas and the serialiser to the wire order.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from ionworks_server.records import INSTANCES, MEASUREMENTS, PIPELINES, SPECIFICATIONS, Resource
from ionworks_server.resources import COMPONENTS, spec_out

SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "openapi.yaml").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


@pytest.mark.parametrize(
    ("resource", "schema", "shown_apart"),
    [
        (SPECIFICATIONS, "CellSpecification", COMPONENTS),
        (INSTANCES, "CellInstance", ()),
        (MEASUREMENTS, "CellMeasurement", ()),
        (PIPELINES, "Pipeline", ()),
    ],
)
def test_each_resource_shows_every_property_of_its_schema(
    resource: Resource, schema: str, shown_apart: tuple[str, ...]
) -> None:
    shown = [f.key for f in resource.fields]
    declared = [p for p in SCHEMAS[schema]["properties"] if p not in shown_apart]
    assert shown == declared


def _spec_row(**changes: Any) -> SimpleNamespace:
    row: dict[str, Any] = {
        "id": "s1",
        "name": "cell",
        "project_id": "p",
        "form_factor": None,
        "manufacturer": "m",
        "chemistry": "NMC",
        "ratings": None,
        "components": {"anode": {"name": "graphite"}},
        "extra": {"channel": 7},
        "created_by_email": "a@lab",
        "created_at": datetime(2026, 3, 1, 12, 0, 0),
        "updated_at": datetime(2026, 3, 1, 12, 0, 0, 5),
    }
    row.update(changes)
    return SimpleNamespace(**row)


def test_out_puts_extra_keys_first_then_the_schema_keys_in_wire_order() -> None:
    out = SPECIFICATIONS.out(_spec_row())
    assert list(out) == ["channel", *(f.key for f in SPECIFICATIONS.fields)]
    assert out["ratings"] == {}  # stored null shows as an empty object
    assert out["created_at"] == "2026-03-01T12:00:00Z"
    assert out["updated_at"] == "2026-03-01T12:00:00.000005Z"


def test_full_specification_adds_every_component_after_the_schema_keys() -> None:
    out = spec_out(_spec_row(), full=True)
    assert list(out)[-len(COMPONENTS) :] == list(COMPONENTS)
    assert out["anode"] == {"name": "graphite"}
    assert out["cathode"] is None


def test_pipeline_terminal_flags_are_derived_from_its_status() -> None:
    def row(status: str) -> SimpleNamespace:
        return SimpleNamespace(
            id="p1",
            name=None,
            description=None,
            project_id="p",
            status=status,
            error=None,
            result=None,
            created_at=datetime(2026, 3, 1),
        )

    assert {k: PIPELINES.out(row("running"))[k] for k in ("is_terminal", "is_failed")} == {
        "is_terminal": False,
        "is_failed": False,
    }
    assert PIPELINES.out(row("failed"))["is_terminal"] is True
    assert PIPELINES.out(row("failed"))["is_failed"] is True
    assert PIPELINES.out(row("completed"))["is_failed"] is False
    assert "extra" not in PIPELINES.out(row("completed"))
