"""The upload protocol of a time-series measurement: reserve, PUT the parquet files, confirm.

1. ``initiate_upload`` reserves a measurement id and answers one signed URL per file;
2. each table is PUT to its URL as parquet, through the storage client;
3. ``confirm_upload`` makes the measurement visible and starts its processing.

Nothing is sent before the data has been checked (``validate=True``), so bad data costs no
round trip and leaves nothing half-uploaded behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from ._dataframe import to_polars, write_parquet_bytes
from ._upload_checks import validate_measurement_upload
from .errors import IonworksError, MeasurementValidationError

Parsed = Callable[..., dict[str, Any]]
"""A resource's ``_parsed``: run a generated operation, return its JSON body."""


class Uploader(Protocol):
    """Where the files go: ``_transfer.Transfer``, or the async client's bridge to its own."""

    def upload(
        self, location: str, data: bytes, *, what: str, timeout: float | None = None
    ) -> None: ...


def upload_measurement(
    parsed: Parsed,
    transfer: Uploader,
    cell_instance_id: str,
    measurement_data: Mapping[str, Any] | str | os.PathLike[str],
    *,
    validate: bool,
    timeout: float | None = None,
    reader: str | None = None,
) -> tuple[dict[str, Any], int]:
    """Run the protocol; the confirmed measurement (a dict) and how many steps it got.

    A path is read (``reader`` forces a format) before anything is sent: a file that does not
    read raises the reader's error and leaves nothing on the server.
    """
    from ionworks_generated.api.uploads import confirm_upload, initiate_upload
    from ionworks_generated.models.confirm_upload_request import ConfirmUploadRequest
    from ionworks_generated.models.initiate_upload_request import InitiateUploadRequest

    fields, time_series, steps = unpack_measurement_data(measurement_data, reader=reader)
    if validate:
        validate_measurement_upload(time_series, steps)
    announce = {key: fields[key] for key in ("name", "notes") if fields.get(key) is not None}
    reserved = parsed(
        initiate_upload,
        cell_instance_id,
        body=InitiateUploadRequest.from_dict({"measurement": announce}),
        timeout=timeout,
    )
    targets = {item.get("filename"): item["signed_url"] for item in reserved["uploads"]}
    files = [("time_series.parquet", time_series)]
    if steps is not None:
        files.append(("steps.parquet", steps))
    for filename, frame in files:
        if filename not in targets:
            raise IonworksError(
                f"The server offered no upload URL for {filename} "
                f"(offered: {sorted(str(name) for name in targets)})"
            )
        data = write_parquet_bytes(frame)
        transfer.upload(targets[filename], data, what=filename, timeout=timeout)
    body = {
        "cell_instance_id": cell_instance_id,
        "measurement": fields,
        "measurement_type": "time_series",
    }
    confirmed = parsed(
        confirm_upload,
        reserved["measurement_id"],
        body=ConfirmUploadRequest.from_dict(body),
        timeout=timeout,
    )
    steps_created = int(confirmed.pop("steps_created", 0) or 0)
    confirmed.pop("instance", None)
    return confirmed, steps_created


def unpack_measurement_data(
    data: Mapping[str, Any] | str | os.PathLike[str], *, reader: str | None = None
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame | None]:
    """The metadata fields, the time series and the optional steps of ``measurement_data``.

    A str or path names a file: a cycler export read by ``ionworks.data.read`` (detected, or
    ``reader``), or a parquet/CSV already in the standard columns, as ``measurements upload``
    reads it; the measurement is named after the file and starts when the file says.
    """
    if isinstance(data, str | os.PathLike):
        data = measurement_data_from_file(Path(data), reader)
    elif reader is not None:
        raise TypeError("reader= applies only when measurement_data is a file path")
    if not isinstance(data, Mapping) or "measurement" not in data or "time_series" not in data:
        raise MeasurementValidationError(
            "measurement_data must be a dict with 'measurement' (a dict with at least 'name') and "
            "'time_series' (a DataFrame or column dict), and optionally 'steps'",
            errors=[{"code": "invalid_measurement_data", "message": "missing keys"}],
        )
    fields = jsonable(dict(data["measurement"]))
    fields.pop("data_type", None)
    if not fields.get("name"):
        raise MeasurementValidationError(
            "measurement_data['measurement'] needs a non-empty 'name'",
            errors=[{"code": "missing_name", "message": "measurement name is required"}],
        )
    time_series = to_polars(data["time_series"])
    steps = to_polars(data["steps"]) if data.get("steps") is not None else None
    return fields, time_series, steps


def measurement_data_from_file(path: Path, reader: str | None) -> dict[str, Any]:
    """``measurement_data`` for the file at ``path``; the same read as the CLI's upload."""
    from ._file_frames import upload_frame

    if not path.is_file():
        raise MeasurementValidationError(
            f"measurement_data {str(path)!r} is not an existing file (pass a file path, or a "
            "dict with 'measurement' and 'time_series')",
            errors=[{"code": "no_such_file", "message": f"{path}: no such file"}],
        )
    frame, started = upload_frame(path, reader)
    fields = {"name": path.stem} | ({"start_time": started} if started else {})
    return {"measurement": fields, "time_series": frame}


def jsonable(value: Any) -> Any:
    """Dates to ISO strings, recursively, so metadata dicts serialise."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


__all__ = [
    "jsonable",
    "measurement_data_from_file",
    "unpack_measurement_data",
    "upload_measurement",
]
