"""One set of measurement checks: the client before an upload and the server at processing agree.

Each bad input goes through both paths: the client's pre-upload check
(``MeasurementValidationError``) and, uploaded with ``validate=False``, the live server's
processing (``processing_error``). Both must refuse it with the same messages. The rules only
the client enforces (as the official client does) are refused by the client and accepted by the
server. A series checked in chunks gives exactly the issues of the whole series.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance, wait_processed
from server_process import ServerProcess

from ionworks import Ionworks, MeasurementValidationError
from ionworks._upload_checks import validate_measurement_upload
from ionworks.data.errors import DataError, Issue
from ionworks.data.validate import (
    SeriesValidator,
    check_measurement,
    validate_time_series,
)
from ionworks_server.processing import ProcessingError, process_chunks


def series(n: int = 6, /, **columns: Any) -> pl.DataFrame:
    """A valid series (time from 0, one discharge step), with ``columns`` replaced or added."""
    base: dict[str, list[Any]] = {
        "Time [s]": [float(i) for i in range(n)],
        "Current [A]": [1.0] * n,
        "Voltage [V]": [4.0 - 0.01 * i for i in range(n)],
    }
    frame = pl.DataFrame(base | columns, strict=False)
    return frame.cast(dict.fromkeys(base, pl.Float64)) if n == 0 else frame


STEPS = pl.DataFrame({"Step count": [0, 1], "Start index": [0, 3], "End index": [2, 5]})

# (time series, steps table or None, the codes both paths report)
SHARED: dict[str, tuple[pl.DataFrame, pl.DataFrame | None, list[str]]] = {
    "missing voltage": (series().drop("Voltage [V]"), None, ["missing_column"]),
    "missing two columns": (
        series().drop("Current [A]", "Voltage [V]"),
        None,
        ["missing_column", "missing_column"],
    ),
    "text in current": (
        series().with_columns(pl.Series("Current [A]", ["1", "1", "1.2 A", "1", "x", "1"])),
        None,
        ["column_not_numeric"],
    ),
    "voltage of booleans": (
        series().with_columns(pl.Series("Voltage [V]", [True] * 6)),
        None,
        ["column_not_numeric"],
    ),
    "infinite voltage": (
        series(**{"Voltage [V]": [4.0, 3.9, math.inf, 3.8, -math.inf, 3.7]}),
        None,
        ["value_not_finite"],
    ),
    "time missing outside EIS": (
        series(**{"Time [s]": [0.0, 1.0, None, 3.0, None, 5.0]}),
        None,
        ["time_missing"],
    ),
    "time goes back twice": (
        series(**{"Time [s]": [0.0, 2.0, 1.0, 3.0, 2.5, 4.0]}),
        None,
        ["time_not_monotonic"],
    ),
    "fractional step count": (
        series(**{"Step count": [0, 0, 0.5, 1, 1, 1]}),
        None,
        ["step_count_invalid"],
    ),
    "empty step count": (
        series(**{"Step count": [0, 0, None, 1, 1, 1]}),
        None,
        ["step_count_invalid"],
    ),
    "text cycle count": (
        series(**{"Cycle count": ["0", "0", "0", "x", "1", "1"]}),
        None,
        ["cycle_count_invalid"],
    ),
    "no rows": (series(0), None, ["empty_time_series"]),
    "steps without start index": (series(), STEPS.drop("Start index"), ["steps_missing_column"]),
    "steps past the series": (
        series(),
        STEPS.with_columns(pl.Series("End index", [2, 9])),
        ["steps_index_out_of_range"],
    ),
    "steps ending before they start": (
        series(),
        STEPS.with_columns(pl.Series("End index", [2, 1])),
        ["steps_index_out_of_range"],
    ),
    "fractional step index": (
        series(),
        STEPS.with_columns(pl.Series("Start index", [0.0, 2.5])),
        ["steps_index_invalid"],
    ),
    "several problems": (
        series(
            **{
                "Time [s]": [0.0, 2.0, 1.0, None, 4.0, 5.0],
                "Current [A]": [1.0, math.inf, 1.0, 1.0, 1.0, 1.0],
                "Voltage [V]": ["4", "4", "4", "4", "four", "4"],
            }
        ),
        None,
        ["column_not_numeric", "value_not_finite", "time_missing", "time_not_monotonic"],
    ),
}

# Refused before an upload (as the official client refuses them), accepted by the server.
CLIENT_ONLY: dict[str, tuple[pl.DataFrame, str]] = {
    "time starts at 5 s": (
        series(**{"Time [s]": [5.0, 6, 7, 8, 9, 10]}),
        "time_not_starting_at_zero",
    ),
    "step count from 1": (series(**{"Step count": [1, 1, 1, 2, 2, 2]}), "step_count_invalid"),
    "step count jumps": (series(**{"Step count": [0, 0, 0, 2, 2, 2]}), "step_count_invalid"),
    "capacity carried over": (
        series(
            **{
                "Step count": [0, 0, 0, 1, 1, 1],
                "Discharge capacity [A.h]": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
            }
        ),
        "cumulative_not_reset",
    ),
    "current sign swapped": (
        series(
            **{
                "Current [A]": [-1.0] * 6,
                "Discharge capacity [A.h]": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
            }
        ),
        "current_sign_convention",
    ),
}


def client_verdict(ts: pl.DataFrame, steps: pl.DataFrame | None) -> list[dict[str, Any]]:
    """The issues the client reports before an upload (empty when it would upload)."""
    try:
        validate_measurement_upload(ts, steps)
    except MeasurementValidationError as exc:
        return exc.errors
    return []


def server_message(issues: list[dict[str, Any]]) -> str:
    """The processing error the server stores for these issues: the same messages, listed."""
    return str(DataError.of(Issue(i["code"], i["message"]) for i in issues))


@pytest.fixture(scope="module")
def uploads(
    empty_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """Every case of both tables uploaded unchecked by the real client, then processed."""
    http = http_client(empty_server)
    _, instance = new_spec_and_instance(http, f"one-set-of-checks-{uuid.uuid4().hex[:10]}")
    client = Ionworks(
        api_key=empty_server.api_key,
        api_url=empty_server.url,
        cache_dir=tmp_path_factory.mktemp("validate-cache"),
    )
    cases = {name: (ts, steps) for name, (ts, steps, _) in SHARED.items()}
    cases |= {name: (ts, None) for name, (ts, _) in CLIENT_ONLY.items()}
    cases["steps without counts"] = (series(), STEPS.drop("Step count"))
    cases["numbers as text"] = (series().with_columns(pl.col("Voltage [V]").cast(pl.String)), None)
    ids = {}
    for name, (ts, steps) in cases.items():
        data: dict[str, Any] = {"measurement": {"name": name}, "time_series": ts}
        if steps is not None:
            data["steps"] = steps
        bundle = client.cell_measurement.create(
            instance, data, validate=False, wait_for_processing=False
        )
        ids[name] = bundle.measurement.id
    done = {name: wait_processed(http, measurement_id) for name, measurement_id in ids.items()}
    done["steps without counts"]["steps"] = client.cell_measurement.steps(
        ids["steps without counts"]
    )
    return done


@pytest.mark.parametrize("name", list(SHARED))
def test_client_and_server_refuse_bad_data_with_the_same_messages(
    uploads: dict[str, dict[str, Any]], name: str
) -> None:
    ts, steps, codes = SHARED[name]
    issues = client_verdict(ts, steps)
    assert [issue["code"] for issue in issues] == codes
    processed = uploads[name]
    assert processed["processing_status"] == "failed"
    assert processed["processing_error"] == server_message(issues)


@pytest.mark.parametrize("name", list(CLIENT_ONLY))
def test_rules_of_the_official_client_refuse_before_upload_but_the_server_accepts(
    uploads: dict[str, dict[str, Any]], name: str
) -> None:
    ts, code = CLIENT_ONLY[name]
    assert [issue["code"] for issue in client_verdict(ts, None)] == [code]
    assert check_measurement(ts, before_upload=False) == []
    assert uploads[name]["processing_status"] == "ready", uploads[name]["processing_error"]


def test_both_paths_accept_numbers_written_as_text(uploads: dict[str, dict[str, Any]]) -> None:
    text = series().with_columns(pl.col("Voltage [V]").cast(pl.String))
    assert client_verdict(text, None) == []
    assert uploads["numbers as text"]["processing_status"] == "ready"


def test_an_uploaded_steps_table_without_counts_takes_them_from_the_series(
    uploads: dict[str, dict[str, Any]],
) -> None:
    assert client_verdict(series(), STEPS.drop("Step count")) == []
    processed = uploads["steps without counts"]
    assert processed["processing_status"] == "ready", processed["processing_error"]
    steps = pl.DataFrame(processed["steps"])
    assert steps["Step count"].to_list() == [0, 0]  # the series' own count at rows 0 and 3
    assert steps["Cycle count"].to_list() == [0, 0]


def test_messages_name_the_first_row_and_count_every_occurrence() -> None:
    ts, steps, _ = SHARED["time goes back twice"]
    (issue,) = check_measurement(ts, steps)
    assert (issue.column, issue.row) == ("Time [s]", 2)
    assert "decreases at row 2 (from 2.0 to 1.0), 2 decreases in all" in issue.message
    (issue,) = check_measurement(*SHARED["infinite voltage"][:2])
    assert "not finite at row 2 (inf; 2 rows in all)" in issue.message
    (issue,) = check_measurement(*SHARED["text in current"][:2])
    assert "row 2 holds '1.2 A' (2 rows of text in all)" in issue.message


def test_the_server_error_carries_every_issue_with_its_code() -> None:
    ts, _, codes = SHARED["several problems"]
    with pytest.raises(ProcessingError) as caught:
        validate_time_series(ts)
    assert [issue.code for issue in caught.value.issues] == codes
    assert str(caught.value).startswith("the data has 4 problems:\n  - [column_not_numeric]")


def chunked(ts: pl.DataFrame, size: int, steps: pl.DataFrame | None = None) -> SeriesValidator:
    validator = SeriesValidator(ts.columns)
    for offset in range(0, max(ts.height, 1), size):
        validator.chunk(ts.slice(offset, size))
    validator.result(steps)
    return validator


@pytest.mark.parametrize("size", [1, 2, 4, 5])
@pytest.mark.parametrize("name", list(SHARED))
def test_chunked_checks_report_exactly_the_issues_of_the_whole_series(name: str, size: int) -> None:
    ts, steps, _ = SHARED[name]
    whole = check_measurement(ts, steps, before_upload=False)
    assert whole
    assert chunked(ts, size).result(steps) == whole


@pytest.mark.parametrize("size", [1, 2, 4])
def test_chunked_checks_of_good_data_normalise_as_the_whole_series(size: int) -> None:
    ts = series(**{"Current [A]": [0.0, 0.0, 1.0, 1.0, -1.0, None]}).with_columns(
        pl.col("Voltage [V]").cast(pl.String)
    )
    validator = SeriesValidator(ts.columns)
    parts = [validator.chunk(ts.slice(offset, size)) for offset in range(0, ts.height, size)]
    assert validator.result() == []
    assert pl.concat(parts).equals(validate_time_series(ts))


def test_processing_writes_nothing_of_a_refused_series_and_reports_later_chunks_too() -> None:
    ts = series(**{"Time [s]": [0.0, 2.0, 1.0, 3.0, 4.0, None]})
    written: list[pl.DataFrame] = []
    chunks = [ts.slice(offset, 2) for offset in range(0, ts.height, 2)]
    with pytest.raises(ProcessingError) as caught:
        process_chunks(chunks, ts.columns, None, None, written.append)
    assert [part.height for part in written] == [2]  # rows 0-1, checked before the problem
    assert [issue.code for issue in caught.value.issues] == ["time_missing", "time_not_monotonic"]
    assert [issue.row for issue in caught.value.issues] == [5, 2]
