"""The demo catalogue: which specifications, cells and tests the demo database holds.

:func:`demo_catalog` is a pure function of its seed (``random.Random``): 1,250 specifications
over five months, the documented coin cell with its test campaign, and nine other tested
specifications, one per form factor first. Time-series measurements carry the parameters of
:func:`~ionworks_server.demo_series.simulate_cycling` rather than frames.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from .demo_cell import chemistry_model
from .demo_plans import (
    ANODES,
    CATALOG_END,
    CATALOG_START,
    CATHODES,
    CREATORS,
    DEMO_PROJECT_ID,
    ELECTROLYTES,
    FORM_FACTORS,
    JANE,
    MANUFACTURERS,
    N_SPECS,
    NAMED_SPEC,
    RAJ,
    SEPARATORS,
    DemoCatalog,
    InstancePlan,
    MeasurementPlan,
    SpecPlan,
    iso,
    parse_iso,
    quantity,
)

__all__ = ["demo_catalog"]


def _component(material_id: str, name: str, **properties: object) -> dict[str, object]:
    """One component of a specification, in the shape openapi.yaml's CellSpecification shows."""
    return {"material_id": material_id, "name": name, "properties": properties}


def _spec_plan(
    rnd: random.Random,
    *,
    name: str,
    cathode: tuple[str, str, float, str, str],
    anode: tuple[str, str, int],
    form: tuple[str, tuple[float, float], str, str],
    created_at: datetime,
    creator: str,
    capacity_ah: float | None = None,
) -> SpecPlan:
    label, _, nominal_v, cathode_id, cathode_name = cathode
    anode_label, anode_id, _ = anode
    form_factor, (cap_lo, cap_hi), case_id, case_name = form
    capacity = capacity_ah if capacity_ah is not None else round(rnd.uniform(cap_lo, cap_hi), 4)
    electrolyte_id, electrolyte_name = rnd.choice(ELECTROLYTES)
    separator_id, separator_name = rnd.choice(SEPARATORS)
    span = (CATALOG_END - created_at).total_seconds()
    updated_at = created_at
    if rnd.random() < 0.4:
        updated_at = created_at + timedelta(seconds=int(rnd.uniform(0, span)))
    return SpecPlan(
        name=name,
        project_id=DEMO_PROJECT_ID,
        manufacturer=rnd.choice(MANUFACTURERS),
        chemistry=f"{label}/{anode_label}",
        form_factor=form_factor,
        ratings={
            "capacity": quantity(capacity, "A.h"),
            "nominal_voltage": quantity(nominal_v, "V"),
        },
        # Arguments are evaluated left to right: the draws keep their order (the golden hash).
        anode=_component(
            anode_id,
            f"{anode_label} anode",
            thickness=quantity(round(rnd.uniform(40, 90), 1), "um"),
            porosity=quantity(round(rnd.uniform(0.25, 0.4), 3), "1"),
        ),
        cathode=_component(
            cathode_id,
            f"{cathode_name} cathode",
            thickness=quantity(round(rnd.uniform(35, 80), 1), "um"),
            loading=quantity(round(rnd.uniform(10, 25), 2), "mg.cm-2"),
        ),
        electrolyte=_component(
            electrolyte_id,
            electrolyte_name,
            volume=quantity(round(rnd.uniform(0.05, 0.2), 3), "mL.A-1.h-1"),
        ),
        separator=_component(
            separator_id, separator_name, porosity=quantity(round(rnd.uniform(0.38, 0.5), 3), "1")
        ),
        case=_component(case_id, case_name, form_factor=form_factor),
        created_at=iso(created_at),
        updated_at=iso(updated_at),
        created_by_email=creator,
    )


def _time_series_plan(
    rnd: random.Random,
    *,
    name: str,
    spec: SpecPlan,
    start: datetime,
    creator: str,
    seed: int,
    target_rows: int,
    c_rate: float,
    sample_period_s: float,
    tags: list[str],
    formation: bool = False,
) -> MeasurementPlan:
    """A cycling measurement sized to roughly ``target_rows`` rows.

    ``formation``: cycle 0 is the cell's first charge ever, which loses 8-14 % of the charge to
    SEI growth (its coulombic efficiency is drawn from a generator of its own, so the catalog's
    other draws stay as they were).
    """
    capacity = float(spec.ratings["capacity"]["value"])
    chemistry = spec.chemistry.split("/")[0]
    # Rows per cycle: charge + CV (~1/c_rate h + ~0.3 h), two 30 min rests, discharge (~0.9/c_rate h).
    seconds_per_cycle = 3600.0 * (1.9 / c_rate + 1.3)
    n_cycles = max(1, min(40, round(target_rows * sample_period_s / seconds_per_cycle)))
    duration = timedelta(seconds=600 + n_cycles * seconds_per_cycle)
    model = chemistry_model(chemistry)
    created = start + duration + timedelta(hours=rnd.randint(1, 30))
    fade = round(rnd.uniform(0.001, 0.004), 4)
    notes = f"{n_cycles} CC-CV cycles at C/{1 / c_rate:g}, 25 degC chamber."
    first_cycle: dict[str, float] = {}
    if formation:
        first_cycle["first_cycle_efficiency"] = round(0.86 + 0.05 * random.Random(seed).random(), 4)
        notes = f"Cycle 0 is the formation cycle (first charge). {notes}"
    return MeasurementPlan(
        name=name,
        measurement_type="time_series",
        start_time=iso(start),
        end_time=iso(start + duration),
        created_at=iso(min(created, CATALOG_END)),
        created_by_email=creator,
        notes=notes,
        protocol={
            "name": f"CCCV {c_rate:g}C cycling",
            "charge": f"CC {c_rate:g}C to {model.v_max} V, CV until C/20",
            "discharge": f"CC {c_rate:g}C to {model.v_min} V",
            "rest_min": 30,
            "cycles": n_cycles,
        },
        test_setup={
            "cycler": rnd.choice(("Maccor 4000", "Biologic BCS-815", "Neware BTS4000")),
            "channel": str(rnd.randint(1, 64)),
            "temperature": quantity(25.0, "degC"),
            "sample_period": quantity(sample_period_s, "s"),
        },
        tags=tags,
        sim_params={
            "capacity_ah": capacity,
            "n_cycles": n_cycles,
            "seed": seed,
            "sample_period_s": sample_period_s,
            "fade_per_cycle": fade,
            "c_rate": c_rate,
            "with_temperature": True,
            "chemistry": chemistry,
            # Lithium lost per cycle is most of the fade, so efficiency follows from it.
            "coulombic_efficiency": round(1.0 - 0.8 * fade, 5),
            **first_cycle,
        },
    )


def _one_cell_history(plans: list[MeasurementPlan]) -> list[MeasurementPlan]:
    """The tests of one cell in start order: one cell (parameters, ageing rate), each test
    starting as aged as the previous one left it, so capacity fades across the tests too."""
    ordered = sorted(plans, key=lambda m: m.start_time or "")
    first = ordered[0].sim_params if ordered else None
    done = 0
    out = []
    for plan in ordered:
        assert plan.sim_params is not None and first is not None
        params = {
            **plan.sim_params,
            "cell_seed": first["seed"],
            "fade_per_cycle": first["fade_per_cycle"],
            "coulombic_efficiency": first["coulombic_efficiency"],
            "prior_cycles": done,
        }
        out.append(replace(plan, sim_params=params))
        done += int(plan.sim_params["n_cycles"])
    return out


def _named_spec_instances(rnd: random.Random, spec: SpecPlan, seed: int) -> list[InstancePlan]:
    """The coin cell the documentation uses: batch-A cells with a March test campaign."""
    # The order of these calls is part of the demo data: each one draws from ``rnd``.
    cell_01 = _one_cell_history(_cell_01_campaign(rnd, spec, seed)) + _cell_01_records()
    cell_01.sort(key=lambda m: m.created_at)
    cell_02 = _same_protocol_tests(
        rnd,
        spec,
        seed * 1000 + 10,
        RAJ,
        [
            ("0.5C cycling run 1", datetime(2026, 3, 5, 9, 0, tzinfo=UTC), 0.5, 11000),
            ("0.5C cycling run 2", datetime(2026, 3, 20, 9, 0, tzinfo=UTC), 0.5, 15000),
            ("0.5C cycling run 3", datetime(2026, 4, 14, 9, 0, tzinfo=UTC), 0.5, 8000),
        ],
        sample_period_s=10.0,
        tag="coin-cell",
    )
    batch_b = _same_protocol_tests(
        rnd,
        spec,
        seed * 1000 + 20,
        RAJ,
        [
            ("Rate check 1C", datetime(2026, 4, 2, 13, 0, tzinfo=UTC), 1.0, 5000),
            ("0.5C cycling", datetime(2026, 5, 4, 13, 0, tzinfo=UTC), 0.5, 7000),
        ],
        sample_period_s=20.0,
        tag="batch-B",
    )
    return [
        InstancePlan(
            name="batch-A-cell-01",
            batch_name="batch-A",
            created_at="2026-02-12T15:00:00Z",
            updated_at="2026-04-30T10:00:00Z",
            created_by_email=JANE,
            measurements=cell_01,
        ),
        InstancePlan(
            name="batch-A-cell-02",
            batch_name="batch-A",
            created_at="2026-02-12T15:05:00Z",
            updated_at="2026-04-22T08:00:00Z",
            created_by_email=RAJ,
            measurements=_one_cell_history(cell_02),
        ),
        InstancePlan(
            name="batch-B-cell-01",
            batch_name="batch-B",
            created_at="2026-03-28T11:00:00Z",
            updated_at="2026-05-10T12:00:00Z",
            created_by_email=RAJ,
            measurements=_one_cell_history(batch_b),
        ),
    ]


def _cell_01_campaign(rnd: random.Random, spec: SpecPlan, seed: int) -> list[MeasurementPlan]:
    """The documented cell's cycling tests: formation, then runs at three rates."""
    campaign = [
        # (name, start, c_rate, sample period, target rows)
        ("Formation + 0.5C cycling", datetime(2026, 2, 18, 9, 0, tzinfo=UTC), 0.5, 10.0, 9000),
        ("0.5C cycling run 1", datetime(2026, 3, 3, 10, 30, tzinfo=UTC), 0.5, 10.0, 14000),
        ("1C cycling run 1", datetime(2026, 3, 12, 8, 15, tzinfo=UTC), 1.0, 5.0, 20000),
        ("C/5 cycling", datetime(2026, 3, 24, 14, 0, tzinfo=UTC), 0.2, 30.0, 6000),
        ("0.5C cycling run 2", datetime(2026, 4, 7, 9, 45, tzinfo=UTC), 0.5, 10.0, 28000),
        ("1C cycling run 2", datetime(2026, 4, 21, 11, 0, tzinfo=UTC), 1.0, 10.0, 12000),
    ]
    return [
        _time_series_plan(
            rnd,
            name=name,
            spec=spec,
            start=start,
            creator=JANE,
            seed=seed * 1000 + k,
            target_rows=rows,
            c_rate=c_rate,
            sample_period_s=dt,
            tags=["cycling", f"{c_rate:g}C", "coin-cell"],
            formation=name.startswith("Formation"),
        )
        for k, (name, start, c_rate, dt, rows) in enumerate(campaign)
    ]


def _same_protocol_tests(
    rnd: random.Random,
    spec: SpecPlan,
    first_seed: int,
    creator: str,
    tests: list[tuple[str, datetime, float, int]],
    *,
    sample_period_s: float,
    tag: str,
) -> list[MeasurementPlan]:
    """Cycling tests (name, start, C-rate, target rows) sampled alike, seeds counting up."""
    return [
        _time_series_plan(
            rnd,
            name=name,
            spec=spec,
            start=start,
            creator=creator,
            seed=first_seed + k,
            target_rows=rows,
            c_rate=c_rate,
            sample_period_s=sample_period_s,
            tags=["cycling", f"{c_rate:g}C", tag],
        )
        for k, (name, start, c_rate, rows) in enumerate(tests)
    ]


def _cell_01_records() -> list[MeasurementPlan]:
    """The documented cell's non-series measurements: a properties record and a file."""
    return [
        MeasurementPlan(
            name="Beginning-of-life properties",
            measurement_type="properties",
            start_time="2026-02-16T10:00:00Z",
            end_time="2026-02-16T12:00:00Z",
            created_at="2026-02-16T13:05:00Z",
            created_by_email=JANE,
            notes="Measured after formation at 25 degC.",
            protocol=None,
            test_setup={"instrument": "Biologic SP-300"},
            tags=["BOL", "properties"],
            properties={
                "capacity": quantity(0.0049, "A.h"),
                "internal_resistance": quantity(11.8, "Ohm"),
                "mass": quantity(3.21, "g"),
            },
        ),
        MeasurementPlan(
            name="Assembly notes",
            measurement_type="file",
            start_time=None,
            end_time=None,
            created_at="2026-02-13T16:20:00Z",
            created_by_email=JANE,
            notes="Glovebox assembly record.",
            protocol=None,
            test_setup=None,
            tags=["assembly"],
            files={
                "assembly_notes.csv": (
                    b"step,parameter,value,unit\n"
                    b"1,cathode_mass,21.4,mg\n"
                    b"2,anode_mass,13.9,mg\n"
                    b"3,electrolyte_volume,60,uL\n"
                    b"4,crimp_pressure,800,psi\n"
                )
            },
        ),
    ]


def _other_instances(
    rnd: random.Random, spec: SpecPlan, index: int, seed: int
) -> list[InstancePlan]:
    """2-5 cells for one of the other tested specs; the first two carry one cycling test each."""
    n_cells = 2 + index % 4
    created = parse_iso(spec.created_at) + timedelta(days=rnd.randint(1, 6))
    instances: list[InstancePlan] = []
    for k in range(n_cells):
        batch = "batch-A" if k < (n_cells + 1) // 2 else "batch-B"
        creator = rnd.choice(CREATORS)
        measurements: list[MeasurementPlan] = []
        if k < 2:
            start = created + timedelta(days=rnd.randint(2, 20), hours=rnd.randint(0, 23))
            small = spec.form_factor in ("R2032", "R2025")
            measurements.append(
                _time_series_plan(
                    rnd,
                    name=f"Cycle life {spec.form_factor} #{k + 1}",
                    spec=spec,
                    start=start,
                    creator=creator,
                    seed=seed * 1000 + 100 + index * 10 + k,
                    target_rows=rnd.randint(3000, 26000),
                    c_rate=rnd.choice((0.2, 0.5, 1.0) if small else (0.5, 1.0)),
                    sample_period_s=rnd.choice((10.0, 20.0, 30.0)),
                    tags=["cycle-life", batch],
                )
            )
        number = sum(1 for i in instances if i.batch_name == batch) + 1
        instances.append(
            InstancePlan(
                name=f"{batch}-cell-{number:02d}",
                batch_name=batch,
                created_at=iso(created + timedelta(minutes=5 * k)),
                updated_at=iso(created + timedelta(days=rnd.randint(0, 40))),
                created_by_email=creator,
                measurements=measurements,
            )
        )
    return instances


def demo_catalog(seed: int = 7) -> DemoCatalog:
    """The deterministic plan of the demo database (same ``seed``, same catalog).

    1,250 specs in project ``proj-demo`` spread over 2026-01-01..2026-05-31, among them
    ``"NCM622/Graphite Coin Cell"`` (R2032), whose ``batch-A-cell-01`` carries six cycling tests
    (some started in March 2026), a properties and a file measurement. Ten specs have instances;
    the rest have none. About 30 cycling measurements in total, each a few thousand to ~30,000
    rows once simulated.
    """
    rnd = random.Random(seed)
    span = int((CATALOG_END - CATALOG_START).total_seconds())
    anode_weights = [a[2] for a in ANODES]

    named = _spec_plan(
        rnd,
        name=NAMED_SPEC,
        cathode=CATHODES[0],
        anode=ANODES[0],
        form=FORM_FACTORS[0],
        created_at=datetime(2026, 2, 10, 9, 30, tzinfo=UTC),
        creator=JANE,
        capacity_ah=0.0049,
    )
    named = _with_instances(named, _named_spec_instances(rnd, named, seed))

    # Numbers follow creation time, so "#0042" was created before "#0043".
    offsets = sorted(rnd.randint(0, span) for _ in range(N_SPECS - 1))
    specs = [named]
    for k, offset in enumerate(offsets, start=1):
        cathode = rnd.choice(CATHODES)
        anode = rnd.choices(ANODES, weights=anode_weights)[0]
        form = FORM_FACTORS[k % len(FORM_FACTORS)]
        label = form[0] if form[0][0].isdigit() else form[0].capitalize()
        specs.append(
            _spec_plan(
                rnd,
                name=f"{cathode[0]}/{anode[0]} {label} #{k:04d}",
                cathode=cathode,
                anode=anode,
                form=form,
                created_at=CATALOG_START + timedelta(seconds=offset),
                creator=rnd.choice(CREATORS),
            )
        )
    specs.sort(key=lambda spec: spec.created_at)

    # Nine more specs get cells and tests: ones created from mid-January to February (so the
    # tests end before June), one per form factor first, so the demo shows coin, cylindrical,
    # pouch and prismatic data.
    candidates = [
        i
        for i, spec in enumerate(specs)
        if spec.name != NAMED_SPEC and "2026-01-15" <= spec.created_at < "2026-03-01"
    ]
    chosen: list[int] = []
    for form_factor, *_ in FORM_FACTORS:
        chosen += [i for i in candidates if specs[i].form_factor == form_factor][:1]
    chosen += [i for i in candidates if i not in chosen][: 9 - len(chosen)]
    for n, i in enumerate(sorted(chosen)):
        specs[i] = _with_instances(specs[i], _other_instances(rnd, specs[i], n, seed))
    return DemoCatalog(project_id=DEMO_PROJECT_ID, creators=list(CREATORS), specs=specs)


def _with_instances(spec: SpecPlan, instances: list[InstancePlan]) -> SpecPlan:
    return replace(spec, instances=instances)
