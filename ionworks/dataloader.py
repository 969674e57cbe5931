"""``DataLoader``: measurement data for pipelines, either held locally or referenced by id.

A loader is the value users put where a pipeline objective expects measurement data. A database
loader (:meth:`DataLoader.from_db`) is only a ``"db:<id>"`` reference until its data is read,
so building pipeline configs never downloads anything; a local loader carries its frames and is
sent inline (and is therefore subject to the 1,000-row inline cap, see
:func:`ionworks._pipeline_config.check_inline_rows`).

Frames are always polars here, whatever the client's DataFrame backend: the loader is a data
processing object and converting back and forth would cost time on every access. Importing this
module imports neither pandas nor matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from ionworks._client import Ionworks
from ionworks._dataframe import frame_to_columns, to_polars
from ionworks._pipeline_config import serialize_config
from ionworks.data.columns import TIME
from ionworks.errors import IonworksError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["DataLoader"]

DB_PREFIX = "db:"

_CONFIG_KEYS = ("data", "options", "time_range")
# Keys the hosted Ionworks service accepts in a data loader's ``options``. openapi.yaml leaves
# ``options`` an open object, so the list lives here, to reject a typo before the round trip; the
# legacy spellings (``*_dict`` selectors and transform names at the top level) are still migrated
# by the service, so they are accepted too.
_TRANSFORM_KEYS = (
    "rest_to_ocp",
    "sort",
    "remove_duplicates",
    "remove_extremes",
    "filters",
    "interpolate",
    "keep_first_ocp_point",
)
_OPTION_KEYS = frozenset(
    {
        "first_step",
        "last_step",
        "first_step_dict",
        "last_step_dict",
        "capacity_column",
        "transforms",
        *_TRANSFORM_KEYS,
    }
)


def _check_options(options: Any) -> dict[str, Any] | None:
    """Validate ``options`` early: the server rejects unknown keys only after a round trip."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise IonworksError(f"DataLoader options must be a dict, got {type(options).__name__}.")
    unknown = sorted(str(key) for key in options if key not in _OPTION_KEYS)
    if unknown:
        raise IonworksError(
            f"Unknown DataLoader option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_OPTION_KEYS))}."
        )
    return dict(options) or None


def _check_time_range(time_range: Any) -> dict[str, float] | None:
    """Normalise ``time_range`` to ``{"start"?: s, "end"?: s}`` in elapsed seconds."""
    if time_range is None:
        return None
    if isinstance(time_range, list | tuple) and len(time_range) == 2:
        time_range = {"start": time_range[0], "end": time_range[1]}
    if not isinstance(time_range, Mapping) or set(time_range) - {"start", "end"}:
        raise IonworksError(
            "time_range must be {'start': seconds, 'end': seconds} (either optional) or a "
            f"(start, end) pair, got {time_range!r}."
        )
    result: dict[str, float] = {}
    for key in ("start", "end"):
        value = time_range.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise IonworksError(f"time_range {key!r} must be a number of seconds, got {value!r}.")
        result[key] = value
    if "start" in result and "end" in result and result["start"] > result["end"]:
        raise IonworksError(
            f"time_range start ({result['start']}) is after its end ({result['end']})."
        )
    return result or None


def _frame(value: Any, where: str) -> pl.DataFrame:
    """Convert user or config data to polars, naming the config location when it fails."""
    if isinstance(value, Mapping):
        bad = [
            key
            for key, column in value.items()
            if isinstance(column, str | bytes | Mapping) or not hasattr(column, "__len__")
        ]
        if bad:
            raise IonworksError(
                f"{where} must map column names to lists of values; {bad[0]!r} holds a "
                f"{type(value[bad[0]]).__name__}."
            )
        lengths = {key: len(column) for key, column in value.items()}
        if len(set(lengths.values())) > 1:
            raise IonworksError(f"{where} has columns of different lengths: {lengths}.")
    try:
        return to_polars(value)
    except IonworksError:
        raise
    except Exception as exc:  # any converter error becomes ours, naming the location
        raise IonworksError(f"{where} could not be read as a table: {exc}") from exc


def _comparable(df: pl.DataFrame | None) -> pl.DataFrame | None:
    """Widen numeric types and treat NaN as null, as a trip through JSON config does."""
    if df is None:
        return None
    return df.with_columns(
        [
            pl.col(name).cast(pl.Float64).fill_nan(None)
            if dtype.is_float()
            else pl.col(name).cast(pl.Int64)
            if dtype.is_integer()
            else pl.col(name)
            for name, dtype in df.schema.items()
        ]
    )


def _frames_equal(a: pl.DataFrame | None, b: pl.DataFrame | None) -> bool:
    a, b = _comparable(a), _comparable(b)
    if a is None or b is None:
        return a is b
    return a.equals(b, null_equal=True)


class DataLoader:
    """Measurement data for a pipeline: local frames, or a lazy reference to a stored measurement.

    ``DataLoader(time_series, steps=None, options=None, time_range=None)`` holds local data
    (polars, pandas or a column dict; stored as polars). Use :meth:`from_db` for uploaded
    measurements and :meth:`from_config` to rebuild a loader from :meth:`to_config` output.

    Args:
        time_series: the time series (``Time [s]``, ``Current [A]``, ``Voltage [V]``, ...).
        steps: optional step table (``Start index``, ``End index``, ``Step count``, ...).
        options: loader options sent with the data (``first_step``, ``last_step``,
            ``capacity_column``, ``transforms``); unknown keys are rejected here rather than by
            the server.
        time_range: ``{"start": s, "end": s}`` (either optional) in elapsed ``Time [s]``; the
            server applies it, and :attr:`data` returns only the rows inside it.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside; equality is by value

    def __init__(
        self,
        time_series: Any = None,
        steps: Any = None,
        *,
        options: Mapping[str, Any] | None = None,
        time_range: Any = None,
    ) -> None:
        if time_series is None:
            raise IonworksError(
                "DataLoader needs a time series (polars/pandas DataFrame or column dict); "
                "for an uploaded measurement use DataLoader.from_db(measurement_id)."
            )
        self._measurement_id: str | None = None
        self._client: Any = None
        self._use_cache = True
        self._time_series: pl.DataFrame | None = _frame(time_series, "time_series")
        self._steps: pl.DataFrame | None = None if steps is None else _frame(steps, "steps")
        self._steps_loaded = True
        self._options = _check_options(options)
        self._time_range = _check_time_range(time_range)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_db(
        cls,
        measurement_id: str,
        *,
        client: Any = None,
        use_cache: bool = True,
        options: Mapping[str, Any] | None = None,
        time_range: Any = None,
    ) -> DataLoader:
        """Reference a stored measurement; nothing is fetched until :attr:`data`/:attr:`steps`.

        Args:
            measurement_id: the measurement id (a leading ``"db:"`` is accepted and stripped).
            client: an ``Ionworks`` client; by default one is built from the environment at the
                first fetch, so configs can be built without credentials.
            use_cache: passed to ``client.cell_measurement.steps``/``time_series``.
        """
        if isinstance(measurement_id, str) and measurement_id.startswith(DB_PREFIX):
            measurement_id = measurement_id[len(DB_PREFIX) :]
        if not isinstance(measurement_id, str) or not measurement_id.strip():
            raise IonworksError(
                f"measurement_id must be a non-empty string, got {measurement_id!r}."
            )
        loader = cls.__new__(cls)
        loader._measurement_id = measurement_id
        loader._client = client
        loader._use_cache = use_cache
        loader._time_series = None
        loader._steps = None
        loader._steps_loaded = False
        loader._options = _check_options(options)
        loader._time_range = _check_time_range(time_range)
        return loader

    @classmethod
    def from_config(cls, config: Any) -> DataLoader:
        """Rebuild a loader from :meth:`to_config` output (or a bare ``"db:<id>"`` string).

        Raises:
            IonworksError: the config is not one of the shapes ``to_config`` produces; the
                message names the offending key.
        """
        if isinstance(config, str):
            config = {"data": config}
        if not isinstance(config, Mapping):
            raise IonworksError(
                "DataLoader config must be a dict like {'data': 'db:<measurement_id>'}, got "
                f"{type(config).__name__}."
            )
        unknown = sorted(str(key) for key in config if key not in _CONFIG_KEYS)
        if unknown:
            raise IonworksError(
                f"Unknown DataLoader config key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(map(repr, _CONFIG_KEYS))}."
            )
        if "data" not in config:
            raise IonworksError("DataLoader config has no 'data' key.")
        data = config["data"]
        options, time_range = config.get("options"), config.get("time_range")
        if isinstance(data, str):
            if data.startswith(DB_PREFIX) and data[len(DB_PREFIX) :].strip():
                return cls.from_db(data, options=options, time_range=time_range)
            raise IonworksError(
                f"DataLoader config 'data' is {data!r}; a string must be 'db:<measurement_id>'."
            )
        if isinstance(data, Mapping) and "time_series" in data:
            extra = sorted(str(key) for key in data if key not in ("time_series", "steps"))
            if extra:
                raise IonworksError(
                    f"DataLoader config 'data' has unexpected key(s) {', '.join(map(repr, extra))}"
                    "; with 'time_series' only 'steps' may accompany it."
                )
            time_series = _frame(data["time_series"], "'data.time_series'")
            steps = data.get("steps")
            return cls(
                time_series,
                None if steps is None else _frame(steps, "'data.steps'"),
                options=options,
                time_range=time_range,
            )
        if data is None:
            raise IonworksError("DataLoader config 'data' is None.")
        return cls(_frame(data, "'data'"), options=options, time_range=time_range)

    # -- state -------------------------------------------------------------------------------

    @property
    def measurement_id(self) -> str | None:
        """The referenced measurement's id, or None for local data."""
        return self._measurement_id

    @property
    def is_local(self) -> bool:
        """True when the data lives in this object (and is sent inline), not in the database."""
        return self._measurement_id is None

    @property
    def options(self) -> dict[str, Any] | None:
        """A copy of the loader options (None when none were given)."""
        return None if self._options is None else dict(self._options)

    @property
    def time_range(self) -> dict[str, float] | None:
        """A copy of the time window in elapsed seconds (None when unrestricted)."""
        return None if self._time_range is None else dict(self._time_range)

    @property
    def data(self) -> pl.DataFrame:
        """The time series (polars), fetched on first access for a database loader.

        Only rows inside :attr:`time_range` are returned when one is set.
        """
        frame = self._load_time_series()
        if self._time_range is None or TIME not in frame.columns:
            return frame
        time = pl.col(TIME)
        start, end = self._time_range.get("start"), self._time_range.get("end")
        condition = pl.lit(True)
        if start is not None:
            condition = condition & (time >= start)
        if end is not None:
            condition = condition & (time <= end)
        return frame.filter(condition)

    @property
    def time_series(self) -> pl.DataFrame:
        """Alias of :attr:`data`."""
        return self.data

    @property
    def steps(self) -> pl.DataFrame | None:
        """The step table (polars) or None; fetches only the steps for a database loader."""
        if not self._steps_loaded:
            result = self._reader().steps(self._measurement_id, use_cache=self._use_cache)
            self._steps = None if result is None else to_polars(result)
            self._steps_loaded = True
        return self._steps

    def _reader(self) -> Any:
        """``client.cell_measurement``, building a client from the environment if needed."""
        if self._client is None:
            # Built at first fetch, not in from_db: a loader made only to build a config must
            # not need credentials.
            self._client = Ionworks()
        return self._client.cell_measurement

    def _load_time_series(self) -> pl.DataFrame:
        if self._time_series is None:
            result = self._reader().time_series(self._measurement_id, use_cache=self._use_cache)
            if result is None:
                raise IonworksError(f"Measurement {self._measurement_id} has no time series.")
            self._time_series = to_polars(result)
        return self._time_series

    def _raw_time_series_height(self) -> int:
        """Rows that :meth:`to_config` would inline (local loaders only)."""
        return 0 if self._time_series is None else self._time_series.height

    # -- conversion --------------------------------------------------------------------------

    def to_local(self) -> DataLoader:
        """Fetch the time series and steps now and return a local loader without the id.

        The result's :meth:`to_config` embeds the data, so it can be shared without database
        access. Options and time range are kept.
        """
        time_series = self._load_time_series()
        steps = self.steps
        return DataLoader(time_series, steps, options=self._options, time_range=self._time_range)

    def to_config(self) -> dict[str, Any]:
        """The JSON-ready config for this loader, as pipeline objectives take it.

        ``{"data": "db:<id>"}`` for a database loader; for local data
        ``{"data": {<column>: [...]}}`` or, with steps,
        ``{"data": {"time_series": {...}, "steps": {...}}}``. ``"time_range"`` and ``"options"``
        are added when set. NaN and infinities become None.
        """
        config: dict[str, Any] = {}
        if self._measurement_id is not None:
            config["data"] = f"{DB_PREFIX}{self._measurement_id}"
        else:
            assert self._time_series is not None
            columns = frame_to_columns(self._time_series)
            if self._steps is None:
                config["data"] = columns
            else:
                config["data"] = {"time_series": columns, "steps": frame_to_columns(self._steps)}
        if self._time_range is not None:
            config["time_range"] = dict(self._time_range)
        if self._options is not None:
            config["options"] = serialize_config(self._options)
        return config

    # -- plotting ----------------------------------------------------------------------------

    def plot_data(
        self, show: bool = False, *, ax: Any = None, title: str | None = None
    ) -> tuple[Figure, np.ndarray]:
        """Plot voltage and current over time (and temperature when present).

        Loads the time series first if needed. See :func:`ionworks.plotting.plot_time_series`
        for ``ax`` and the returned axes array. ``title``: e.g. the measurement's name (the
        loader knows only its id, the default title).
        """
        from ionworks.plotting import plot_time_series

        if title is None and self._measurement_id:
            title = f"Measurement {self._measurement_id}"
        return plot_time_series(self.data, show=show, title=title, ax=ax)

    # -- dunder ------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Same source (measurement id, or equal local frames), options and time range."""
        if not isinstance(other, DataLoader):
            return NotImplemented
        if (self._options, self._time_range) != (other._options, other._time_range):
            return False
        if self._measurement_id is not None or other._measurement_id is not None:
            return self._measurement_id == other._measurement_id
        return _frames_equal(self._time_series, other._time_series) and _frames_equal(
            self._steps, other._steps
        )

    def __repr__(self) -> str:
        source = "local" if self._measurement_id is None else f"db:{self._measurement_id}"
        parts = [source]
        if self._time_series is None and not self._steps_loaded:
            parts.append("not loaded")
        else:
            if self._time_series is None:
                parts.append("time series not loaded")
            else:
                parts.append(f"{self._time_series.height:,} rows")
            if self._steps_loaded:
                parts.append("no steps" if self._steps is None else f"{self._steps.height:,} steps")
            else:
                parts.append("steps not loaded")
        if self._time_range is not None:
            parts.append(f"time_range={self._time_range}")
        return f"DataLoader({', '.join(parts)})"
