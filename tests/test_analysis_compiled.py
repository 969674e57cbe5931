"""The compiled dQ/dV kernels (numba, the ``analysis`` extra) against the numpy path they
replace, which stays the reference and the fallback: the same frames through both give the same
curves (to 1e-12 of each column's scale; most cases here are bit-equal, the others within
2e-15), and without numba, or when it cannot compile, dqdv runs in numpy with no noise."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl
import pytest

from ionworks.data import analysis
from ionworks.data.analysis import _kernels, _segments, dqdv, dvdq
from ionworks.data.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analysis_known import slow_discharge

pytest.importorskip("numba")


def _cycling(
    rng: np.random.Generator, cycles: int, longest: int, quantum: float, noise: float = 0.002
) -> pl.DataFrame:
    """Cycles of a CC discharge, a CV hold, a rest, a CC charge, a CV hold and a rest, of random
    lengths (some shorter than ``min_points``), voltage quantised to ``quantum``; each CC
    step's current noisy by up to ``noise`` (relative std; over 2 % is not constant current)."""
    parts: list[dict[str, np.ndarray]] = []
    step = 0
    for cycle in range(cycles):
        for current, kind in (
            (1.0, "cc"),
            (1.0, "cv"),
            (0.0, "rest"),
            (-1.0, "cc"),
            (-1.0, "cv"),
            (0.0, "rest"),
        ):
            n = int(rng.integers(2, longest))
            if kind == "cc":
                amps = current * (1.0 + rng.uniform(0, noise) * rng.standard_normal(n))
                volts = 3.7 - np.sign(current) * np.linspace(0.0, rng.uniform(0.01, 0.6), n)
            else:
                amps = current * np.exp(-np.arange(n) / max(n / 4, 1.0))
                volts = np.full(n, 3.7 + 0.3 * np.sign(-current))
            volts = volts + 0.0005 * rng.standard_normal(n)
            parts.append(
                {
                    "Current [A]": amps,
                    "Voltage [V]": np.round(volts / quantum) * quantum if quantum else volts,
                    "Step count": np.full(n, step, dtype=np.int64),
                    "Cycle count": np.full(n, cycle, dtype=np.int64),
                }
            )
            step += 1
    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    rows = columns["Current [A]"].size
    columns["Time [s]"] = np.cumsum(rng.uniform(0.5, 10.0, rows))
    return pl.DataFrame(columns).select(
        "Time [s]", "Current [A]", "Voltage [V]", "Step count", "Cycle count"
    )


def _unbroken(rng: np.random.Generator, rows: int) -> pl.DataFrame:
    """One discharge that runs on across cycle and step boundaries (no rest between): each
    segment's first interval starts at the previous one's last voltage, its highest; some
    steps' current spreads over 2 % (dropped)."""
    step = np.arange(rows) // 97
    spread = rng.uniform(0.0, 0.04, step.max() + 1)[step]
    return pl.DataFrame(
        {
            "Time [s]": np.arange(rows, dtype=float),
            "Current [A]": 1.0 + spread * rng.standard_normal(rows),
            "Voltage [V]": np.linspace(4.2, 3.0, rows) + 0.0003 * rng.standard_normal(rows),
            "Step count": step,
            "Cycle count": np.arange(rows) // 250,
        }
    )


def _interrupted(rng: np.random.Generator, cycles: int) -> pl.DataFrame:
    """Discharges under load from their first sample, the current dropping out for a sample
    every so often (one step throughout): the voltage relaxes up meanwhile, so the first
    interval after a dropout starts from a voltage above all the others of its segment."""
    rows = 300
    parts = []
    for cycle in range(cycles):
        amps = np.ones(rows)
        volts = 4.1 - np.linspace(0.0, 0.8, rows) + 0.0005 * rng.standard_normal(rows)
        drop = np.arange(int(rng.integers(5, 30)), rows - 2, 40)
        amps[drop] = 0.0
        volts[drop + 1] = 4.1 + rng.uniform(0.01, 0.05, drop.size)  # relaxed, then loaded
        parts.append(
            pl.DataFrame(
                {
                    "Time [s]": np.arange(rows, dtype=float) + 1000.0 * cycle,
                    "Current [A]": np.append(amps[:-1], 0.0),
                    "Voltage [V]": volts,
                    "Step count": np.full(rows, cycle),
                    "Cycle count": np.full(rows, cycle),
                }
            )
        )
    return pl.concat(parts)


def _blanked(frame: pl.DataFrame, rng: np.random.Generator, share: float) -> pl.DataFrame:
    """Some voltages NaN, some currents missing, a time infinite: the dropped samples of a real
    cycler."""
    rows = frame.height
    nan_v = rng.random(rows) < share
    null_i = rng.random(rows) < share
    return frame.with_columns(
        pl.when(pl.Series(nan_v))
        .then(float("nan"))
        .otherwise(pl.col("Voltage [V]"))
        .alias("Voltage [V]"),
        pl.when(pl.Series(null_i)).then(None).otherwise(pl.col("Current [A]")).alias("Current [A]"),
        pl.when(pl.int_range(pl.len()) == rows // 3)
        .then(float("inf"))
        .otherwise(pl.col("Time [s]"))
        .alias("Time [s]"),
    )


def _fleet(rng: np.random.Generator) -> pl.DataFrame:
    """Three cells' rows interleaved by time (the cells are sorted together), with gaps."""
    cells = [
        _blanked(_cycling(rng, 6, 300, 0.001), rng, 0.01).with_columns(
            pl.lit(name).alias("measurement_id")
        )
        for name in ("cell-b", "cell-a", "cell-c")
    ]
    return pl.concat(cells).sort("Time [s]", maintain_order=True)


def _discharging_fleet(rng: np.random.Generator, keys: dict[str, list[Any]]) -> pl.DataFrame:
    """Cells that discharge from their first row to their last, one after the other on one
    clock (so the last row of one and the first of the next are two discharging rows a second
    apart: an interval no cell has, which must not be read); ``keys``: the key columns' value
    per cell."""
    count = len(next(iter(keys.values())))
    cells = [
        _unbroken(rng, 1500).with_columns(
            pl.col("Time [s]") + 1500.0 * k,
            *(pl.lit(values[k]).alias(name) for name, values in keys.items()),
        )
        for k in range(count)
    ]
    return pl.concat(cells)


def _frames() -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(2026)
    known = slow_discharge()
    return {
        "known slow discharge": known,
        "one segment (no labels)": known.drop("Cycle count", "Step count"),
        "cycling with CV holds, 0.1 mV quantum": _cycling(rng, 12, 400, 0.0001),
        "cycling, unquantised, NaNs": _blanked(_cycling(rng, 12, 400, 0.0), rng, 0.02),
        "tiny segments": _cycling(rng, 40, 25, 0.001),
        "CC steps near the 2 % current spread": _cycling(rng, 40, 300, 0.0, noise=0.04),
        "a discharge across cycle and step boundaries": _unbroken(rng, 6000),
        "fleet, cells interleaved": _fleet(rng),
        "fleet, cells discharging to their last row": _discharging_fleet(
            rng, {"measurement_id": ["cell-b", "cell-a", "cell-c"]}
        ),
        "single-bin segments (0.5 V quantum)": _cycling(rng, 30, 60, 0.5),
        "current dropouts within a step": _interrupted(rng, 8),
        "Int32 cycle count": _cycling(rng, 5, 300, 0.0).with_columns(
            pl.col("Cycle count").cast(pl.Int32)
        ),
        "long: read in two threads": _cycling(rng, 70, 2500, 0.0001),
    }


FRAMES = _frames()
KWARGS: list[dict[str, Any]] = [
    {},
    {"direction": "charge"},
    {"smoothing": 0.0},
    {"resolution": 0.001, "smoothing": 0.02},
    {"constant_current_only": False},
    {"min_points": 1},
    {"min_points": 0},  # a segment whose every run is dropped (no interval left) is still dropped
    {"min_points": 10**6},  # every segment too short: the error of segments found but dropped
]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The kernels' calls, recorded (so a test knows the compiled path ran)."""
    kernels = _kernels.compiled()
    assert kernels is not None, "numba is installed but the kernels did not load"
    calls: list[str] = []
    for name in ("read_intervals", "part_curve"):
        method = getattr(kernels, name)

        def record(*args: Any, _name: str = name, _method: Any = method, **kw: Any) -> Any:
            calls.append(_name)
            return _method(*args, **kw)

        monkeypatch.setattr(kernels, name, record)
    yield calls


def _numpy_path(call: Callable[[], pl.DataFrame]) -> pl.DataFrame | str:
    """``call`` with the kernels switched off; a DataError's message instead of a frame."""
    saved = _kernels._LOADED[:]
    _kernels._LOADED[:] = [None]
    try:
        return _outcome(call)
    finally:
        _kernels._LOADED[:] = saved


def _outcome(call: Callable[[], pl.DataFrame]) -> pl.DataFrame | str:
    try:
        return call()
    except DataError as exc:
        return f"DataError: {exc}"


def assert_same(got: pl.DataFrame | str, expected: pl.DataFrame | str) -> None:
    """The same columns, labels and points; floats within 1e-12 of the column's largest."""
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    assert got.columns == expected.columns and got.height == expected.height
    for name in got.columns:
        a, b = got.get_column(name), expected.get_column(name)
        if not a.dtype.is_float():
            assert a.equals(b), name
            continue
        x, y = a.to_numpy(), b.to_numpy()
        assert np.array_equal(np.isnan(x), np.isnan(y)), name
        scale = float(np.nanmax(np.abs(y))) if y.size else 0.0
        assert float(np.nanmax(np.abs(x - y), initial=0.0)) <= 1e-12 * scale, name


@pytest.mark.parametrize(
    "kw", KWARGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"
)
@pytest.mark.parametrize("name", list(FRAMES))
def test_compiled_dqdv_and_dvdq_equal_the_numpy_path(
    name: str, kw: dict[str, Any], spy: list[str]
) -> None:
    frame = FRAMES[name]
    for function in (dqdv, dvdq):
        args = {
            k: v for k, v in kw.items() if function is dqdv or k not in ("resolution", "smoothing")
        }
        expected = _numpy_path(lambda: function(frame, **args))  # noqa: B023
        got = _outcome(lambda: function(frame, **args))  # noqa: B023
        assert_same(got, expected)
    assert "read_intervals" in spy  # integer labels: the compiled pass read every frame here
    if not isinstance(_outcome(lambda: dqdv(frame, **kw)), str):
        assert "part_curve" in spy


def test_the_long_frame_is_cut_in_two_and_has_every_kind_of_segment() -> None:
    """What the frames above stand for: the long one is read in two threads, CV holds and
    short segments are dropped, gaps are there."""
    long = FRAMES["long: read in two threads"]
    assert long.height > 2 * _segments.PARALLEL_ROWS
    curve = dqdv(FRAMES["tiny segments"])
    kept = curve.get_column("Cycle count").n_unique()
    assert 0 < kept < 40  # some cycles' discharges are shorter than min_points
    assert FRAMES["cycling, unquantised, NaNs"].get_column("Voltage [V]").is_nan().sum() > 10
    noisy = dqdv(FRAMES["CC steps near the 2 % current spread"]).get_column("Cycle count")
    assert 5 < noisy.n_unique() < 35  # some discharges' current spreads more than 2 %, some less
    points = dqdv(FRAMES["single-bin segments (0.5 V quantum)"]).group_by("Cycle count").len()
    lengths = points.get_column("len").to_numpy()
    assert lengths.min() == 1 < lengths.max()  # single-bin segments, and longer ones
    fleet = FRAMES["fleet, cells discharging to their last row"]
    meet = fleet.get_column("measurement_id").ne(fleet.get_column("measurement_id").shift(1))
    ends = fleet.filter(meet | meet.shift(-1))  # the last and first rows of two cells
    assert ends.height == 4 and (ends.get_column("Current [A]") > 0).all()
    assert (ends.get_column("Time [s]").diff().drop_nulls() > 0).all()  # a clock that runs on


def test_a_fleet_keyed_by_two_columns(spy: list[str]) -> None:
    """Cells named by two columns (``by=``), the first shared by two cells, in one cycle each
    (so the cells' keys alone part their segments): the compiled pass numbers the cells by both
    columns, as the numpy path does."""
    keys: dict[str, list[Any]] = {"batch": ["b", "a", "a"], "cell": [1, 1, 2]}
    frame = _discharging_fleet(np.random.default_rng(5), keys).with_columns(
        pl.lit(0, dtype=pl.Int64).alias("Cycle count")
    )
    for cc in (True, False):
        for function in (dqdv, dvdq):
            call = partial(function, frame, by=["batch", "cell"], constant_current_only=cc)
            expected = _numpy_path(call)
            assert not isinstance(expected, str), expected
            assert expected.select("batch", "cell").n_unique() == 3
            assert_same(_outcome(call), expected)
    assert "read_intervals" in spy


def test_labels_that_are_not_integers_take_the_numpy_path(spy: list[str]) -> None:
    """A float or gapped cycle count is compared as polars compares it: the numpy read."""
    frame = FRAMES["cycling with CV holds, 0.1 mV quantum"]
    floats = frame.with_columns(pl.col("Cycle count").cast(pl.Float64))
    assert_same(dqdv(floats), _numpy_path(lambda: dqdv(floats)))
    assert "read_intervals" not in spy and "part_curve" in spy


def test_without_numba_dqdv_runs_in_numpy(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """numba missing (its import fails): the kernels are None, one debug line says why, and
    dqdv answers what the numpy path answers."""
    frame = FRAMES["cycling with CV holds, 0.1 mV quantum"]
    expected = _numpy_path(lambda: dqdv(frame))
    monkeypatch.setattr(_kernels, "_LOADED", [])
    monkeypatch.setitem(sys.modules, "numba", None)  # "import numba" raises ImportError
    monkeypatch.delitem(sys.modules, "ionworks.data.analysis._jit")
    monkeypatch.delattr(analysis, "_jit")
    with caplog.at_level(logging.DEBUG, logger=_kernels.__name__):
        got = dqdv(frame)
    assert _kernels.compiled() is None
    assert_same(got, expected)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "numpy path" in caplog.records[0].getMessage()


def test_a_kernel_that_fails_to_compile_leaves_the_numpy_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(_: object) -> None:
        raise TypeError("Failed in nopython mode pipeline (step: nopython frontend)")

    monkeypatch.setattr(_kernels, "_LOADED", [])
    monkeypatch.setattr(_kernels, "_warm", fail)
    assert _kernels.compiled() is None
    frame = FRAMES["known slow discharge"]
    assert_same(dqdv(frame), _numpy_path(lambda: dqdv(frame)))


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=600,  # ends a hang only; a cold compile takes seconds
        env={**os.environ, **env},
    )


CHECK = """
    import numpy as np
    from ionworks.data.analysis import _kernels, dqdv
    from test_analysis_known import slow_discharge
    frame = slow_discharge()
    got = dqdv(frame)
    kernels = _kernels.compiled()
    _kernels._LOADED[:] = [None]
    assert got.equals(dqdv(frame))
    print("compiled" if kernels is not None else "numpy")
"""


def test_no_place_for_numba_s_cache_does_not_break_dqdv(tmp_path: Path) -> None:
    """numba finds no writable place for its cache (a read-only install and home): its only
    locator the NUMBA_CACHE_DIR one, under a regular file (no one can create it, root
    included). The kernels compile uncached (their decoration's RuntimeError caught) and dqdv
    still answers. (NUMBA_CACHE_DIR alone would not do: numba then caches next to _jit.py.)"""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    tests = str(Path(__file__).resolve().parent)
    uncached = CHECK + (
        "    from ionworks.data.analysis import _jit\n"
        "    print(*(getattr(_jit, f).stats.cache_path for f in ('read_intervals', '_histogram')))\n"
    )
    out = _python(
        uncached,
        NUMBA_CACHE_DIR=str(blocker / "numba"),
        NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",
        PYTHONPATH=tests,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["compiled", "None", "None"], out.stderr[-3000:]
    assert out.stderr == ""


def test_numba_disable_jit_takes_the_numpy_path() -> None:
    """With NUMBA_DISABLE_JIT the kernels would run as Python: the numpy path runs instead."""
    tests = str(Path(__file__).resolve().parent)
    out = _python(CHECK, NUMBA_DISABLE_JIT="1", PYTHONPATH=tests)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["numpy"]


def test_a_child_forked_while_the_kernels_load_runs_dqdv_in_numpy() -> None:
    """A fork while another thread loads the kernels (its lock held for the seconds a compile
    takes; numba's own compiler lock may be held too, by a thread the child does not have):
    the child answers on the numpy path instead of waiting forever for those locks; the parent
    goes on to load them. Before, the child hung (its alarm ends it then)."""
    tests = str(Path(__file__).resolve().parent)
    out = _python(
        """
        import os, signal
        from ionworks.data.analysis import _kernels, dqdv
        from test_analysis_known import slow_discharge

        frame = slow_discharge()
        with _kernels._LOCK:  # as a thread loading the kernels holds it
            pid = os.fork()
            if pid == 0:
                signal.alarm(120)  # a deadlocked child ends instead of outliving the test
                got = dqdv(frame)
                os._exit(0 if _kernels.compiled() is None and got.height > 100 else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        print("compiled" if _kernels.compiled() is not None else "numpy")
        """,
        PYTHONPATH=tests,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["0", "compiled"], out.stderr[-3000:]


def _top_held(top: float, cycles: int, rows: int = 100) -> pl.DataFrame:
    """Discharges at 1 A, one a cycle, each starting with three samples at ``top`` volts (two
    intervals of one voltage at the segment's highest), then falling 1.2 V; a rest between."""
    parts = []
    for cycle in range(cycles):
        volts = np.concatenate([[top] * 3, top - np.linspace(0.001, 1.2, rows - 3), [3.0]])
        parts.append(
            pl.DataFrame(
                {
                    "Time [s]": np.arange(rows + 1, dtype=float) + 1000.0 * cycle,
                    "Current [A]": np.append(np.ones(rows), 0.0),
                    "Voltage [V]": volts,
                    "Cycle count": np.full(rows + 1, cycle),
                }
            )
        )
    return pl.concat(parts)


@pytest.mark.parametrize("path", ["numpy", "compiled"])
@pytest.mark.parametrize("top", [4.066, 4.2])
def test_a_constant_voltage_at_a_segment_s_top_keeps_its_charge_in_that_segment(
    path: str, top: float
) -> None:
    """Without smoothing each segment's curve sums to the charge it passed (dQ/dV x bin width).
    At 4.066 V (2 mV bins) the voltage over the bin width is just below a whole number, and a
    segment's place on the whole grid added to it rounds up into the bin past the segment's
    top: the intervals of one voltage there went to the next segment's first bin (numpy; past
    the last segment a ValueError of mismatched shapes) or were dropped (compiled)."""
    frame = _top_held(top, cycles=10)
    call = partial(dqdv, frame, smoothing=0.0, resolution=0.002)
    curve = _numpy_path(call) if path == "numpy" else _outcome(call)
    assert not isinstance(curve, str), curve
    sums = curve.group_by("Cycle count", maintain_order=True).agg(pl.col("dQ/dV [A.h/V]").sum())
    charge = 99 * 1.0 / 3600  # 99 intervals of 1 s at 1 A, in A.h
    np.testing.assert_allclose(sums.get_column("dQ/dV [A.h/V]") * 0.002, charge, rtol=1e-9)


@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_a_segment_s_curve_does_not_depend_on_the_other_segments(path: str) -> None:
    """Each cycle's dQ/dV alone equals its part of the whole frame's (within float rounding),
    smoothed or not: its place on the whole grid (after the segments before it) must not move
    its charge. The intervals of one voltage at 4.066 V went one bin up when that place, added
    to the voltage, rounded up (the first cycles, near the grid's start, were right)."""
    frame = _top_held(4.066, cycles=10)
    run = _numpy_path if path == "numpy" else _outcome
    for smoothing in (0.005, 0.0):
        whole = run(partial(dqdv, frame, smoothing=smoothing))
        assert not isinstance(whole, str), whole
        for (cycle,), part in whole.partition_by("Cycle count", as_dict=True).items():
            alone = run(
                partial(dqdv, frame.filter(pl.col("Cycle count") == cycle), smoothing=smoothing)
            )
            assert_same(alone, part)


@pytest.mark.parametrize("path", ["numpy", "compiled"])
@pytest.mark.parametrize("min_points", ["20", None, 20.5])
def test_min_points_that_is_not_a_whole_number_is_a_clear_error(path: str, min_points: Any) -> None:
    """Not a deep TypeError of numpy's comparison (or int()'s); and 20.5, which the numpy
    path compared as it is and the compiled one as 20, is refused on both."""
    frame = FRAMES["cycling with CV holds, 0.1 mV quantum"]
    run = _numpy_path if path == "numpy" else _outcome
    for function in (dqdv, dvdq):
        got = run(partial(function, frame, min_points=min_points))
        assert isinstance(got, str) and "min_points must be a whole number" in got, got
    whole = run(partial(dqdv, frame, min_points=cast(Any, 20.0)))
    assert_same(whole, run(partial(dqdv, frame, min_points=20)))
    too_many = run(partial(dqdv, frame, min_points=10**30))  # past int64: not an OverflowError
    assert isinstance(too_many, str) and f"min_points={10**30} samples" in too_many, too_many
