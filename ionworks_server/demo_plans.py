"""The plan of the demo database (what to create, as frozen dataclasses) and its vocabulary.

:func:`ionworks_server.demo_catalog.demo_catalog` builds a :class:`DemoCatalog`;
:mod:`ionworks_server.demo` stores it. Measurements carry generator parameters rather than
frames, so building the plan is cheap and the seeding code simulates only what it stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ANODES",
    "CATALOG_END",
    "CATALOG_START",
    "CATHODES",
    "CREATORS",
    "DEMO_PROJECT_ID",
    "ELECTROLYTES",
    "FORM_FACTORS",
    "JANE",
    "MANUFACTURERS",
    "NAMED_SPEC",
    "N_SPECS",
    "RAJ",
    "SEPARATORS",
    "DemoCatalog",
    "InstancePlan",
    "MeasurementPlan",
    "SpecPlan",
    "iso",
    "parse_iso",
    "quantity",
]

DEMO_PROJECT_ID = "proj-demo"
NAMED_SPEC = "NCM622/Graphite Coin Cell"
"""The specification the documentation's examples use."""

# The catalogue's vocabulary ----------------------------------------------------------------

N_SPECS = 1250
JANE, RAJ = "jane.doe@example.com", "raj.patel@example.com"

CATALOG_START = datetime(2026, 1, 1, tzinfo=UTC)
CATALOG_END = datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC)

CREATORS = (
    JANE,
    RAJ,
    "li.wei@example.com",
    "maria.garcia@example.com",
    "tom.nguyen@example.com",
    "amara.okafor@example.com",
)

# (cathode label, model chemistry, nominal voltage, cathode material id, cathode name)
CATHODES = (
    ("NCM622", "NMC", 3.65, "mat-ncm622", "LiNi0.6Mn0.2Co0.2O2"),
    ("NCM811", "NMC", 3.65, "mat-ncm811", "LiNi0.8Mn0.1Co0.1O2"),
    ("NCM523", "NMC", 3.6, "mat-ncm523", "LiNi0.5Mn0.3Co0.2O2"),
    ("NCA", "NCA", 3.6, "mat-nca", "LiNi0.8Co0.15Al0.05O2"),
    ("LFP", "LFP", 3.2, "mat-lfp", "LiFePO4"),
    ("LCO", "LCO", 3.7, "mat-lco", "LiCoO2"),
    ("LMO", "LMO", 3.8, "mat-lmo", "LiMn2O4"),
)

# (anode label, material id, weight); graphite dominates, as in real catalogues.
ANODES = (
    ("Graphite", "mat-graphite", 6),
    ("Si-Graphite", "mat-si-graphite", 2),
    ("Hard Carbon", "mat-hard-carbon", 1),
    ("Li Metal", "mat-li-metal", 1),
)

# (form factor, capacity range [A.h], case material, case name)
FORM_FACTORS = (
    ("R2032", (0.003, 0.006), "mat-ss316", "Stainless steel 316 coin case"),
    ("R2025", (0.002, 0.004), "mat-ss316", "Stainless steel 316 coin case"),
    ("18650", (2.5, 3.5), "mat-nickel-steel", "Nickel-plated steel can"),
    ("21700", (4.0, 5.5), "mat-nickel-steel", "Nickel-plated steel can"),
    ("4680", (22.0, 26.0), "mat-nickel-steel", "Nickel-plated steel can"),
    ("pouch", (5.0, 60.0), "mat-al-laminate", "Aluminium laminate pouch"),
    ("prismatic", (50.0, 280.0), "mat-aluminium", "Aluminium prismatic can"),
)

MANUFACTURERS = (
    "Ionworks Labs",
    "Northwind Energy",
    "Voltaic Cells Inc.",
    "Helios Battery Co.",
    "Kestrel Power Systems",
    "Aurora Cellworks",
)

ELECTROLYTES = (
    ("mat-lipf6-ec-emc", "1 M LiPF6 in EC:EMC 3:7"),
    ("mat-lipf6-ec-dmc", "1 M LiPF6 in EC:DMC 1:1 + 2% VC"),
    ("mat-lifsi-dme", "1 M LiFSI in DME"),
)

SEPARATORS = (
    ("mat-pe-16", "Polyethylene 16 um"),
    ("mat-pp-pe-pp-25", "PP/PE/PP trilayer 25 um"),
    ("mat-ceramic-pe-12", "Ceramic-coated PE 12 um"),
)


@dataclass(frozen=True)
class MeasurementPlan:
    """One measurement to create; ``sim_params`` are :func:`~ionworks_server.demo_series.simulate_cycling` keyword arguments.

    ``measurement_type`` is ``"time_series"`` (with ``sim_params``), ``"properties"`` (with
    ``properties``) or ``"file"`` (with ``files``: basename -> bytes). For time series,
    ``end_time`` is estimated from the protocol; ``start_time`` plus the simulated series' last
    ``Time [s]`` is the exact value if the seeder wants it.
    """

    name: str
    measurement_type: str
    start_time: str | None
    end_time: str | None
    created_at: str
    created_by_email: str
    notes: str | None
    protocol: dict[str, Any] | None
    test_setup: dict[str, Any] | None
    tags: list[str]
    sim_params: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    files: dict[str, bytes] | None = None


@dataclass(frozen=True)
class InstancePlan:
    """One physical cell of a spec; ``batch_name`` is the production lot (``batch-A``, ...)."""

    name: str
    batch_name: str | None
    created_at: str
    updated_at: str
    created_by_email: str
    measurements: list[MeasurementPlan] = field(default_factory=list)


@dataclass(frozen=True)
class SpecPlan:
    """One cell specification; :meth:`body` is what a ``POST /cell_specifications`` would send."""

    name: str
    project_id: str
    manufacturer: str
    chemistry: str
    form_factor: str
    ratings: dict[str, Any]
    anode: dict[str, Any]
    cathode: dict[str, Any]
    electrolyte: dict[str, Any]
    separator: dict[str, Any]
    case: dict[str, Any]
    created_at: str
    updated_at: str
    created_by_email: str
    instances: list[InstancePlan] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The spec's own fields (no instances, no timestamps/creator: the server sets those)."""
        return {
            "name": self.name,
            "project_id": self.project_id,
            "manufacturer": self.manufacturer,
            "chemistry": self.chemistry,
            "form_factor": self.form_factor,
            "ratings": self.ratings,
            "anode": self.anode,
            "cathode": self.cathode,
            "electrolyte": self.electrolyte,
            "separator": self.separator,
            "case": self.case,
        }


@dataclass(frozen=True)
class DemoCatalog:
    """Everything the demo database holds, in creation order."""

    project_id: str
    creators: list[str]
    specs: list[SpecPlan]

    def spec(self, name: str) -> SpecPlan:
        """The spec with this exact name (``KeyError`` if there is none)."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def instances(self) -> list[tuple[SpecPlan, InstancePlan]]:
        """Every (spec, instance) pair, in creation order."""
        return [(s, i) for s in self.specs for i in s.instances]

    @property
    def measurements(self) -> list[tuple[SpecPlan, InstancePlan, MeasurementPlan]]:
        """Every (spec, instance, measurement) triple, in creation order."""
        return [(s, i, m) for s in self.specs for i in s.instances for m in i.measurements]


def iso(moment: datetime) -> str:
    """A timestamp as the catalogue writes it (UTC, whole seconds, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A value with its unit, as specifications and measurements carry them."""
    return {"value": value, "unit": unit}
