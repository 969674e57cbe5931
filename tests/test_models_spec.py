"""The public models carry every property openapi.yaml declares, typed, on the objects users receive.

The typed fields come from ``ionworks/_spec_fields.py``, which ``scripts/gen_models.py`` generates
from the spec (``make regen``). These tests read the spec directly, so a property the spec gains
fails here until the models have it, and a stale generated file fails here as in ``make check-regen``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
import yaml

import ionworks
from ionworks import Ionworks
from ionworks._spec_fields import SCHEMA_FIELDS
from ionworks.models import Resource, field_names

ROOT = Path(__file__).resolve().parent.parent
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]

PUBLIC_MODELS: dict[str, type[Any]] = {
    "CellSpecification": ionworks.CellSpecification,
    "CellInstance": ionworks.CellInstance,
    "CellMeasurement": ionworks.CellMeasurement,
    "CellMeasurementBundle": ionworks.MeasurementBundle,
    "Pipeline": ionworks.Pipeline,
    "MeasurementTagUsage": ionworks.MeasurementTagUsage,
}


def load_gen_models() -> ModuleType:
    """``scripts/gen_models.py`` as a module (scripts/ is not a package)."""
    path = ROOT / "scripts" / "gen_models.py"
    spec = importlib.util.spec_from_file_location("gen_models", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared(name: str) -> list[str]:
    """Every property a schema declares, ``allOf`` members (and their ``$ref``s) merged."""
    schema = SCHEMAS[name]
    names: list[str] = []
    for member in schema.get("allOf", [schema]):
        if "$ref" in member:
            names.extend(declared(member["$ref"].rsplit("/", 1)[-1]))
        else:
            names.extend(member.get("properties", {}))
    return list(dict.fromkeys(names))


def response_schemas() -> set[str]:
    """Schemas the API answers with (2xx JSON), a page's items counting as the item schema."""
    found: set[str] = set()
    for operations in SPEC["paths"].values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if str(status).startswith("2") and "$ref" in schema:
                    name = schema["$ref"].rsplit("/", 1)[-1]
                    items = SCHEMAS[name].get("properties", {}).get("items", {})
                    found.add(items.get("items", {}).get("$ref", "/" + name).rsplit("/", 1)[-1])
    return found


# -- the generated file and the class hierarchy ---------------------------------------------


def test_generated_spec_fields_file_is_up_to_date() -> None:
    generator = load_gen_models()
    committed = (ROOT / "ionworks" / "_spec_fields.py").read_text(encoding="utf-8")
    assert generator.render() == committed, "ionworks/_spec_fields.py is stale: run `make regen`"


def test_a_property_added_to_the_spec_changes_the_generated_fields(tmp_path: Path) -> None:
    changed = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    changed["components"]["schemas"]["Pipeline"]["properties"]["finished_at"] = {
        "type": ["string", "null"],
        "description": "When it stopped.",
    }
    spec_path = tmp_path / "openapi.yaml"
    spec_path.write_text(yaml.safe_dump(changed), encoding="utf-8")
    rendered = load_gen_models().render(spec_path)
    assert rendered != (ROOT / "ionworks" / "_spec_fields.py").read_text(encoding="utf-8")
    assert '    finished_at: Field[str | None] = Field()\n    """When it stopped."""' in rendered


def test_every_resource_the_api_answers_with_has_a_public_model_or_a_stated_reason() -> None:
    generator = load_gen_models()
    resources = {name for name in response_schemas() if "id" in declared(name)}
    assert resources, "no resource schema found: the walk over the spec is broken"
    unmodelled = resources - set(generator.PUBLIC_SCHEMAS) - set(generator.NOT_MODELLED)
    assert not unmodelled, f"schemas users receive without a public model: {sorted(unmodelled)}"
    assert set(generator.PUBLIC_SCHEMAS) == set(PUBLIC_MODELS) == set(SCHEMA_FIELDS)


@pytest.mark.parametrize("schema", sorted(PUBLIC_MODELS))
def test_public_model_declares_a_typed_field_for_every_spec_property(schema: str) -> None:
    model = PUBLIC_MODELS[schema]
    assert issubclass(model, SCHEMA_FIELDS[schema])
    missing = set(declared(schema)) - field_names(model)
    assert not missing, f"{model.__name__} lacks typed fields for {sorted(missing)}"


def test_pipeline_has_the_fields_the_hand_written_model_had_lost() -> None:
    assert {"created_at", "description", "project_id"} <= field_names(ionworks.Pipeline)


# -- objects fetched from the local server ---------------------------------------------------


@pytest.fixture(scope="module")
def client(live_server: Any) -> Iterator[Ionworks]:
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as c:
        yield c


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_cache_directory(None)


def check_properties(obj: Any, schema: str) -> None:
    """Each declared property is typed on the class and reads as the server's value."""
    data = obj.measurement if isinstance(obj, ionworks.MeasurementDetail) else obj
    assert isinstance(data, Resource)
    missing_types = set(declared(schema)) - field_names(type(data))
    assert not missing_types, f"{type(data).__name__}: untyped {sorted(missing_types)}"
    for prop in declared(schema):
        assert prop in data, f"the server sent no {prop!r} for {schema}"
        assert getattr(obj, prop) == data[prop], f"{type(obj).__name__}.{prop}"


def test_every_property_reads_as_an_attribute_on_objects_from_the_server(
    client: Ionworks, unique: str
) -> None:
    spec = client.cell_spec.create(
        {
            "name": f"models-spec-{unique}",
            "form_factor": "R2032",
            "manufacturer": "Ionworks Labs",
            "chemistry": "NCM622/Graphite",
            "ratings": {"capacity": {"value": 0.005, "unit": "A.h"}},
            **{part: {"name": f"{part} part"} for part in ("anode", "cathode", "electrolyte")},
            **{part: {"name": f"{part} part"} for part in ("separator", "case")},
        }
    )
    try:
        check_instances_measurements_and_pipelines(client, spec.id, unique)
        for fetched in (spec, client.cell_spec.get(spec.id)):
            check_properties(fetched, "CellSpecification")
        listed = client.cell_spec.list(name_exact=spec.name, include_components=True)
        assert [item.id for item in listed] == [spec.id]
        check_properties(listed[0], "CellSpecification")
        # A page without components leaves them out; the typed fields then read as None.
        lean = client.cell_spec.list(name_exact=spec.name)[0]
        assert "anode" not in lean and lean.anode is None and lean.case is None
    finally:
        client.cell_spec.delete(spec.id)


def check_instances_measurements_and_pipelines(client: Ionworks, spec_id: str, unique: str) -> None:
    """Create one object of each kind under ``spec_id`` and check each as the user receives it."""
    instance = client.cell_instance.create(
        spec_id, {"name": f"cell-{unique}", "batch_name": "batch-M", "notes": "n"}
    )
    for cell in (instance, client.cell_instance.get(instance.id)):
        check_properties(cell, "CellInstance")
    check_properties(client.cell_instance.list(spec_id)[0], "CellInstance")

    frame = pl.DataFrame(
        {
            "Time [s]": [float(n) for n in range(200)],
            "Voltage [V]": [3.7 - 0.001 * n for n in range(200)],
            "Current [A]": [-0.001] * 200,
        }
    )
    bundle = client.cell_measurement.create(
        instance.id,
        {
            "measurement": {"name": f"ts-{unique}", "notes": "n", "tags": ["t"]},
            "time_series": frame,
        },
    )
    check_properties(bundle, "CellMeasurementBundle")
    check_properties(bundle.measurement, "CellMeasurement")
    properties = client.cell_measurement.create_properties(
        instance.id, f"props-{unique}", {"capacity": {"value": 0.005, "unit": "A.h"}}, tags=["p"]
    )
    for measurement_id in (bundle.id, properties.id):
        check_properties(client.cell_measurement.get(measurement_id), "CellMeasurement")
        check_properties(client.cell_measurement.detail(measurement_id), "CellMeasurement")
    for listed in client.cell_measurement.list(instance.id):
        check_properties(listed, "CellMeasurement")

    values = {"Negative electrode capacity [A.h]": 0.0051}
    pipeline = client.pipeline.run(
        {"elements": {"entry": {"element_type": "entry", "values": values}}},
        name=f"pipe-{unique}",
        description="d",
    )
    for run in (pipeline, client.pipeline.get(pipeline.id)):
        check_properties(run, "Pipeline")
