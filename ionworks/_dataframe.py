"""DataFrame plumbing shared by the client: backend choice, conversions, parquet and JSON columns.

Everything inside the library is polars; frames are converted to the user's backend only at the
edge (:func:`to_backend`). pandas is imported lazily so ``import ionworks`` never pays for it, and
pyarrow is never needed on the read path (polars decodes parquet itself).
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import io
import json
import math
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union, cast, overload

import polars as pl

from ionworks._constants import ENV_DATAFRAME_BACKEND
from ionworks.errors import IonworksError

if TYPE_CHECKING:
    import pandas as pd

Backend = Literal["polars", "pandas"]

# Union with a string: pandas is imported for type checking only.
Frame: TypeAlias = Union[pl.DataFrame, "pd.DataFrame"]
"""What a DataFrame-returning method gives: a polars frame, or a pandas one when the client's
``dataframe_backend`` is "pandas"."""

BACKENDS: tuple[Backend, ...] = ("polars", "pandas")

_PANDAS_MISSING = (
    "The pandas DataFrame backend was requested but pandas is not installed; "
    "install it with: pip install 'ionworks[pandas]'"
)
_ACCEPTED = (
    "a polars DataFrame, a pandas DataFrame, a pyarrow Table, a dict of columns "
    "({column: [values]}) or a list of row dicts"
)
_PARQUET_MAGIC = b"PAR1"


# --------------------------------------------------------------------------------------------
# Backend
# --------------------------------------------------------------------------------------------


def resolve_backend(value: str | None = None) -> Backend:
    """Pick the DataFrame backend: explicit value, else ``IONWORKS_DATAFRAME_BACKEND``, else polars.

    Fails early (at client construction) rather than on the first download, so a typo or a
    missing pandas install is reported where it was configured.
    """
    origin = "dataframe_backend"
    if value is None:
        env_value = os.environ.get(ENV_DATAFRAME_BACKEND, "").strip()
        if env_value:
            value, origin = env_value, ENV_DATAFRAME_BACKEND
    if value is None:
        return "polars"
    normalised = value.strip().lower()
    if normalised not in BACKENDS:
        choices = " or ".join(repr(b) for b in BACKENDS)
        raise ValueError(f"{origin}={value!r} is not a DataFrame backend; choose {choices}")
    if normalised == "pandas" and importlib.util.find_spec("pandas") is None:
        raise IonworksError(_PANDAS_MISSING)
    return normalised


def _import_pandas() -> Any:
    """Import pandas on first use only, with an actionable error when it is missing."""
    try:
        import pandas
    except ImportError as exc:
        raise IonworksError(_PANDAS_MISSING) from exc
    return pandas


@overload
def to_backend(df: pl.DataFrame, backend: Literal["polars"]) -> pl.DataFrame: ...
@overload
def to_backend(df: pl.DataFrame, backend: Literal["pandas"]) -> pd.DataFrame: ...
@overload
def to_backend(df: pl.DataFrame, backend: Backend) -> Frame: ...
def to_backend(df: pl.DataFrame, backend: Backend) -> Frame:
    """Return ``df`` in the requested backend (pandas goes through Arrow, no per-value copy)."""
    if backend == "polars":
        return df
    if backend == "pandas":
        _import_pandas()
        return df.to_pandas()
    raise ValueError(f"unknown DataFrame backend {backend!r}; choose 'polars' or 'pandas'")


# --------------------------------------------------------------------------------------------
# Conversions into polars
# --------------------------------------------------------------------------------------------


def _is_pandas_frame(data: object) -> bool:
    # If pandas was never imported, the object cannot be a pandas frame: no import needed.
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def _is_arrow_table(data: object) -> bool:
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(data, (pyarrow.Table, pyarrow.RecordBatch))


def _is_column(value: object) -> bool:
    """True for column-like values (list, tuple, Series, ndarray); strings are scalars."""
    if isinstance(value, (str, bytes, bytearray, Mapping)):
        return False
    if isinstance(value, (list, tuple, range, pl.Series)):
        return True
    return hasattr(value, "__array__") and getattr(value, "ndim", 0) > 0


def _from_columns(data: Mapping[Any, Any]) -> pl.DataFrame:
    if not data:
        return pl.DataFrame()
    if not any(_is_column(v) for v in data.values()):
        # The API sends a single-row table as {column: scalar}; official clients accept it too.
        data = {k: [v] for k, v in data.items()}
    # strict=False: JSON mixes ints and floats in one column ([0, 1.5]); polars upcasts.
    return pl.DataFrame(dict(data), strict=False)


def _from_rows(rows: list[Any] | tuple[Any, ...]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame()
    bad = next((r for r in rows if not isinstance(r, Mapping)), None)
    if bad is not None:
        raise IonworksError(
            f"Cannot convert a list containing {type(bad).__name__} to a DataFrame; "
            f"expected {_ACCEPTED}"
        )
    return pl.from_dicts(rows, strict=False, infer_schema_length=None)


def to_polars(data: object) -> pl.DataFrame:
    """Convert any accepted tabular input into a polars DataFrame.

    Accepted: polars DataFrame (returned as is), pandas DataFrame (via Arrow; a *named* index is
    kept as a column, a positional one dropped), pyarrow Table/RecordBatch, a column dict
    (``{col: [values]}``; all-scalar dict = one row; ``{}`` = empty) or a list of row dicts.
    Anything else, or inconsistent input, raises :class:`IonworksError`.
    """
    try:
        if isinstance(data, pl.DataFrame):
            return data
        if _is_pandas_frame(data):
            pdf = cast("pd.DataFrame", data)
            named_index = any(name is not None for name in pdf.index.names)
            return pl.from_pandas(pdf, include_index=named_index)
        if _is_arrow_table(data):
            return cast(pl.DataFrame, pl.from_arrow(data))
        if isinstance(data, Mapping):
            return _from_columns(data)
        if isinstance(data, (list, tuple)):
            return _from_rows(data)
    except IonworksError:
        raise
    except Exception as exc:
        raise IonworksError(
            f"Cannot convert {type(data).__name__} to a DataFrame: {exc}".rstrip()
        ) from exc
    raise IonworksError(
        f"Cannot convert {type(data).__name__} to a DataFrame; expected {_ACCEPTED}"
    )


def decode_json(content: bytes) -> Any:
    """A JSON body, by orjson, or by :mod:`json` for what orjson refuses (the same values).

    The column tables of ``/cycles`` and ``/steps_and_cycles`` are thousands of numbers: the
    standard library took 8 ms of CPU for the 600 cycles of a 1M-row series, most of what
    ``cycles()`` costs the client; orjson (the server's encoder) takes a fifth of that. A body
    orjson refuses that :mod:`json` accepts (``NaN`` and ``Infinity`` literals, numbers beyond a
    float's range, lone surrogates, a BOM or UTF-16) is read by :mod:`json`; a body neither reads
    raises ``ValueError``. One difference remains: orjson reads an integer beyond 64 bits (over
    2**64 - 1 or under -2**63) as a float, where :mod:`json` keeps it exact. Finding one first
    would cost about as much as orjson's whole decode, and the tables are 64-bit columns.
    """
    import orjson  # here, not at the top: `import ionworks` stays light

    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def columns_to_frame(obj: object) -> pl.DataFrame:
    """Build a frame from an API JSON table (``/cycles``, ``/steps_and_cycles``).

    The API sends column dicts; a list of row objects is accepted too (the official client
    silently returns such a list unconverted, which breaks callers expecting a frame).
    """
    if obj is None:
        raise IonworksError("Expected a JSON table ({column: [values]}), got null")
    if not isinstance(obj, (Mapping, list)):
        raise IonworksError(
            f"Expected a JSON table ({{column: [values]}}), got {type(obj).__name__}"
        )
    return to_polars(obj)


# --------------------------------------------------------------------------------------------
# Frame to JSON columns
# --------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    """Make one Python value JSON-safe (used for nested columns only; flat ones are vectorised)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return _json_safe(float(value))
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _json_expr(name: str, dtype: pl.DataType) -> pl.Expr | None:
    """Vectorised JSON-safe conversion for a flat column, or None to keep it as is."""
    col = pl.col(name)
    if dtype.is_float():
        return pl.when(col.is_finite()).then(col).otherwise(None).alias(name)
    if isinstance(dtype, pl.Datetime):
        return col.dt.to_string("iso:strict").alias(name)
    if isinstance(dtype, (pl.Date, pl.Time, pl.Duration)):
        return col.dt.to_string("iso").alias(name)
    if isinstance(dtype, pl.Decimal):
        return col.cast(pl.Float64).alias(name)
    return None


def frame_to_columns(df: object) -> dict[str, list[Any]]:
    """Turn a frame into ``{column: [values]}`` ready for ``json.dumps``.

    NaN and ±inf become ``null`` (JSON has no such numbers) and temporal values become ISO-8601
    strings, so the payload is valid strict JSON.
    """
    frame = to_polars(df)
    exprs = [
        e for name, dtype in frame.schema.items() if (e := _json_expr(name, dtype)) is not None
    ]
    if exprs:
        frame = frame.with_columns(exprs)
    out: dict[str, list[Any]] = {}
    for name, dtype in frame.schema.items():
        values = frame.get_column(name).to_list()
        out[name] = [_json_safe(v) for v in values] if dtype.is_nested() else values
    return out


# --------------------------------------------------------------------------------------------
# Parquet
# --------------------------------------------------------------------------------------------


_serial = threading.local()


@contextmanager
def serial_decoding() -> Iterator[None]:
    """Parquet read in this thread is decoded by this thread alone (polars' ``parallel="none"``).

    For callers that already decode many files at once on their own threads (a fleet pull):
    there, each decode also fanning out over polars' pool only adds scheduling between threads
    contending for the same cores (measured on 200 files of 100k rows on 8 threads, 2 cores:
    about 10 % less CPU and 17 % less time). A single large read keeps polars' parallelism.
    """
    before = getattr(_serial, "on", False)
    _serial.on = True
    try:
        yield
    finally:
        _serial.on = before


def read_parquet(
    source: bytes | bytearray | memoryview | str | os.PathLike[str],
    *,
    description: str | None = None,
) -> pl.DataFrame:
    """Read a parquet file or buffer with polars, raising :class:`IonworksError` on bad input.

    ``description`` names the data in error messages (e.g. "time series of measurement m1").
    Paths are memory-mapped; buffers go through ``io.BytesIO`` (measured on a 1M-row, 3-column
    frame: BytesIO 12.6 ms, raw bytes 12.7 ms, pyarrow BufferReader 13.7-14.6 ms).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        what = description or "Downloaded data"
        view = memoryview(source)
        if view.format != "B":
            view = view.cast("B")
        problem = _not_parquet_reason(view)
        if problem is not None:
            raise IonworksError(
                f"{what} ({len(view)} bytes) is not a valid parquet file: {problem}"
            )
        target: Any = io.BytesIO(source)
    else:
        target = os.fspath(source)
        what = description or f"{target!r}"
        if not os.path.isfile(target):
            raise IonworksError(f"Cannot read parquet file {target!r}: no such file")
    parallel: Any = "none" if getattr(_serial, "on", False) else "auto"
    try:
        if isinstance(target, str):
            return pl.read_parquet(target, memory_map=True, glob=False, parallel=parallel)
        return pl.read_parquet(target, parallel=parallel)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IonworksError(
            f"{what} is not a valid parquet file: it has the PAR1 magic bytes at both ends but "
            f"could not be decoded ({reason}), so its contents are damaged"
        ) from exc


def _not_parquet_reason(view: memoryview) -> str | None:
    """Why a buffer cannot be parquet (which needs PAR1 at both ends), or None if it may be.

    Says what the bytes really are at the failing end, since that tells a truncated or damaged
    file (right start, wrong end) from something that was never parquet (an error page).
    """
    magic = _PARQUET_MAGIC
    if len(view) < 12:
        return f"too short for parquet, which needs at least 12 bytes (got {bytes(view)!r})"
    head, tail = bytes(view[:16]), bytes(view[-16:])
    if head[:4] != magic:
        return (
            f"it does not start with the PAR1 magic bytes (it starts with {head!r}), so it is "
            "not parquet at all: perhaps an error page or another format"
        )
    if tail[-4:] != magic:
        return (
            f"it starts with PAR1 but does not end with it (it ends with {tail!r}): the parquet "
            "footer is missing or damaged, so the file was cut short or corrupted in transit or "
            "in storage; fetch it again"
        )
    return None


def write_parquet_bytes(df: pl.DataFrame) -> bytes:
    """Encode a frame as zstd-compressed parquet bytes (what the API and the cache store)."""
    buffer = io.BytesIO()
    df.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


__all__ = [
    "BACKENDS",
    "ENV_DATAFRAME_BACKEND",
    "Backend",
    "Frame",
    "columns_to_frame",
    "decode_json",
    "frame_to_columns",
    "read_parquet",
    "resolve_backend",
    "serial_decoding",
    "to_backend",
    "to_polars",
    "write_parquet_bytes",
]
