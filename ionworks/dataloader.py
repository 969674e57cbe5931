"""``DataLoader``: measurement data for pipelines, either held locally or referenced by id.

A loader is the value users put where a pipeline objective expects measurement data. A database
loader (:meth:`DataLoader.from_db`) is only a ``"db:<id>"`` reference until its data is read,
so building pipeline configs never downloads anything; a local loader carries its frames and is
sent inline (and is therefore subject to the 1,000-row inline cap, see
:func:`ionworks._pipeline_config.check_inline_rows`).

Its options select and transform the data as ionworksdata 0.20.2's loader does: the rules live
in :mod:`ionworks.data.window` (which rows) and :mod:`ionworks.data.loader_ops` (options and
transforms); this module fetches and caches. Frames are always polars here, whatever the client's
DataFrame backend. Importing this module imports neither pandas nor matplotlib.
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ionworks._client import Ionworks
from ionworks._dataframe import to_polars
from ionworks._dataloader_support import (
    DB_PREFIX,
    checked,
    frames_equal,
    inline,
    plot_cutoff,
    raw_step_row,
    read_config,
    read_local_dir,
    rebased_steps,
    to_frame,
)
from ionworks._pipeline_config import serialize_config
from ionworks.data.columns import CAPACITY, END_INDEX, START_INDEX, VOLTAGE
from ionworks.data.differential import differential_cutoff
from ionworks.data.loader_ops import LoaderOptions, parse_options, transform_window
from ionworks.data.window import (
    StepSelection,
    Window,
    check_time_range,
    first_step_from_cycle,
    last_step_from_cycle,
    select_steps,
    select_window,
    window_rows,
)
from ionworks.errors import InvalidParameterError, IonworksError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["DataLoader", "first_step_from_cycle", "last_step_from_cycle"]

_STEP_OPTIONS = ("first_step", "last_step", "first_step_dict", "last_step_dict")


@dataclass(frozen=True)
class _View:
    """The selected window and what the transforms made of it (``.data``/``.steps``)."""

    window: Window
    data: pl.DataFrame
    steps: pl.DataFrame | None


class DataLoader:
    """Measurement data for a pipeline: local frames, or a lazy reference to a stored measurement.

    ``DataLoader(time_series, steps=None, options=None, time_range=None)`` holds local data
    (polars, pandas or a column dict; stored as polars). Use :meth:`from_db` for uploaded
    measurements, :meth:`from_local` for a directory, :meth:`from_config` for config output.

    Args:
        time_series: the time series (``Time [s]``, ``Current [A]``, ``Voltage [V]``, ...).
        steps: optional step table (``Start index``, ``End index``, ``Step count``, ...).
        options: ``first_step``/``last_step`` (a steps-table row, a SQL query over ``steps``
            such as :func:`first_step_from_cycle`, or ``{"cycle": n}``), ``capacity_column``
            and ``transforms`` (``rest_to_ocp``, ``sort``, ``remove_duplicates``,
            ``remove_extremes``, ``filters``, ``interpolate``, ``keep_first_ocp_point``).
            Checked here, before any request; they may also be given as keyword arguments.
        time_range: ``{"start": s, "end": s}`` (either optional) in elapsed ``Time [s]``,
            applied after the steps are chosen.
    """

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside; equality is by value

    def __init__(
        self,
        time_series: Any = None,
        steps: Any = None,
        *,
        options: Mapping[str, Any] | None = None,
        time_range: Any = None,
        **option_kwargs: Any,
    ) -> None:
        if time_series is None:
            raise IonworksError(
                "DataLoader needs a time series (polars/pandas DataFrame or column dict); "
                "for an uploaded measurement use DataLoader.from_db(measurement_id)."
            )
        self._setup(None, None, True, options, time_range, option_kwargs)
        self._time_series: pl.DataFrame | None = to_frame(time_series, "time_series")
        self._steps: pl.DataFrame | None = None if steps is None else to_frame(steps, "steps")
        self._steps_loaded = True

    def _setup(
        self,
        measurement_id: str | None,
        client: Any,
        use_cache: bool,
        options: Mapping[str, Any] | None,
        time_range: Any,
        option_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        """Common state of every constructor; options are checked in full here."""
        if options is not None and not isinstance(options, Mapping):
            raise InvalidParameterError(
                f"DataLoader options must be a dict, got {type(options).__name__}."
            )
        merged = {**(options or {}), **(option_kwargs or {})}
        if "time_range" in merged:  # ionworksdata accepts it among the options too
            in_options = merged.pop("time_range")
            time_range = in_options if time_range is None else time_range
        self._measurement_id: str | None = measurement_id
        self._client: Any = client
        self._use_cache = use_cache
        self._parsed: LoaderOptions = checked(lambda: parse_options(merged))
        self._options: dict[str, Any] | None = merged or None
        self._time_range: dict[str, float] | None = checked(lambda: check_time_range(time_range))
        self._time_series = None
        self._ts_rows: tuple[int, int] | None = None  # the rows fetched, when not all of them
        self._steps = None
        self._steps_loaded = False
        self._view_cache: _View | None = None

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
        loader._setup(measurement_id, client, use_cache, options, time_range)
        return loader

    @classmethod
    def from_local(
        cls, data_path: str | Path, options: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> DataLoader:
        """Load ``time_series.parquet`` (or ``.csv``) and, when present, ``steps`` from a directory."""
        series, steps = read_local_dir(Path(data_path))
        return cls(series, steps, options=options, **kwargs)

    @classmethod
    def from_config(cls, config: Any) -> DataLoader:
        """Rebuild a loader from :meth:`to_config` output (or a bare ``"db:<id>"`` string).

        Raises:
            IonworksError: the config is not one of the shapes ``to_config`` produces; the
                message names the offending key.
        """
        source, time_series, steps, settings = read_config(config)
        if source is not None:
            return cls.from_db(source, **settings)
        return cls(time_series, steps, **settings)

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
        """The selected, transformed time series (polars); fetched on first access if needed."""
        return self._view().data

    @property
    def time_series(self) -> pl.DataFrame:
        """Alias of :attr:`data`."""
        return self.data

    @property
    def steps(self) -> pl.DataFrame | None:
        """The chosen steps (polars; indices address the whole series) or None.

        A database loader fetches only the steps table, unless a time window needs the series
        to clip the steps to it. ``rest_to_ocp`` turns the data into an OCP table: no steps.
        """
        raw = self._load_steps()
        if raw is None or self._parsed.transforms.get("rest_to_ocp"):
            return None
        if self._time_range is not None:
            return self._window_of(raw).steps
        return self._select_steps(raw).steps

    @property
    def initial_voltage(self) -> float | None:
        """Voltage when the window opens: the previous step's end voltage, or the first start."""
        raw = self._load_steps()
        return None if raw is None else self._select_steps(raw).initial_voltage

    def __getitem__(self, column: str) -> pl.Series:
        """``loader["Voltage [V]"]``: one column of :attr:`data`."""
        return self.data[column]

    def _select_steps(self, raw: pl.DataFrame) -> StepSelection:
        parsed = self._parsed
        return checked(lambda: select_steps(raw, parsed.first_step, parsed.last_step))

    def _steps_not_needed(self) -> bool:
        """True when ``.data`` of a stored measurement does not depend on its steps table.

        With no step selector and no ``rest_to_ocp`` every step is kept, and the server's steps
        cover every row of a series whose time increases, so the steps need not be fetched.
        """
        parsed = self._parsed
        selectors = (parsed.first_step, parsed.last_step)
        return (
            not self._steps_loaded
            and selectors == (None, None)
            and not (parsed.transforms.get("rest_to_ocp"))
        )

    def _window(self) -> Window:
        """The rows and steps the options select, before transforms."""
        if self._view_cache is not None:
            return self._view_cache.window
        if self._steps_not_needed():
            series, time_range = self._load_time_series(), self._time_range
            data = checked(lambda: window_rows(series, time_range))
            return Window(data, None, None, 0, data.height)
        steps = self._load_steps()
        return self._window_of(steps)

    def _window_of(self, steps: pl.DataFrame | None) -> Window:
        rows = None
        indexed = steps is not None and steps.height and START_INDEX in steps.columns
        if steps is not None and indexed and self._time_series is None:
            chosen = self._select_steps(steps)
            if (chosen.start, chosen.end) != (0, int(steps[END_INDEX][-1]) + 1):
                rows = (chosen.start, chosen.end)  # fetch only the chosen steps' rows
        series = self._load_time_series(rows)
        parsed, time_range = self._parsed, self._time_range
        offset = 0 if self._ts_rows is None else self._ts_rows[0]
        return checked(
            lambda: select_window(
                series, steps, parsed.first_step, parsed.last_step, time_range, offset
            )
        )

    def _view(self) -> _View:
        if self._view_cache is None:
            window = self._window()
            data, steps = checked(lambda: transform_window(window, self._parsed))
            self._view_cache = _View(window, data, steps)
        return self._view_cache

    def _reader(self) -> Any:
        """``client.cell_measurement``, building a client from the environment if needed."""
        if self._client is None:
            # Built at first fetch, not in from_db: a loader made only to build a config must
            # not need credentials.
            self._client = Ionworks()
        return self._client.cell_measurement

    def _load_steps(self) -> pl.DataFrame | None:
        if not self._steps_loaded:
            result = self._reader().steps(self._measurement_id, use_cache=self._use_cache)
            self._steps = None if result is None else to_polars(result)
            self._steps_loaded = True
        return self._steps

    def _load_time_series(self, rows: tuple[int, int] | None = None) -> pl.DataFrame:
        """The series (all of it, or only ``rows`` of a stored measurement)."""
        if self._time_series is None:
            extra = {} if rows is None else {"row_range": rows}
            reader = self._reader()
            result = reader.time_series(self._measurement_id, use_cache=self._use_cache, **extra)
            if result is None:
                raise IonworksError(f"Measurement {self._measurement_id} has no time series.")
            self._time_series = to_polars(result)
            self._ts_rows = rows
        return self._time_series

    def _raw_time_series_height(self) -> int:
        """Rows that :meth:`to_config` would inline (local loaders only)."""
        return 0 if self._time_series is None else self._window().data.height

    # -- conversion --------------------------------------------------------------------------

    def copy(self) -> DataLoader:
        """An independent loader with the same source, options and window (frames are shared:
        polars frames are immutable)."""
        twin = _copy.copy(self)
        twin._options = self.options
        return twin

    def slice_to_steps(self, first_step_idx: int, last_step_idx: int) -> DataLoader:
        """A loader of rows ``first_step_idx..last_step_idx`` (inclusive) of :attr:`steps`.

        The new loader keeps the source, ``capacity_column`` and transforms, not the time range.
        """
        chosen = self.steps
        if chosen is None:
            raise InvalidParameterError("Cannot slice_to_steps on a DataLoader without steps.")
        if not 0 <= first_step_idx <= last_step_idx < chosen.height:
            raise InvalidParameterError(
                f"Step indices out of range or inverted: first_step_idx={first_step_idx}, "
                f"last_step_idx={last_step_idx}, steps.height={chosen.height}."
            )
        raw = self._load_steps()
        assert raw is not None
        rows = [raw_step_row(raw, chosen, i) for i in (first_step_idx, last_step_idx)]
        options = {k: v for k, v in (self._options or {}).items() if k not in _STEP_OPTIONS}
        twin = self.copy()
        twin._setup(
            self._measurement_id,
            self._client,
            self._use_cache,
            {**options, "first_step": rows[0], "last_step": rows[1]},
            None,
        )
        twin._time_series, twin._ts_rows = self._time_series, self._ts_rows
        twin._steps, twin._steps_loaded = self._steps, self._steps_loaded
        return twin

    def to_local(self) -> DataLoader:
        """Fetch the whole time series and steps now and return a local loader without the id.

        The result's :meth:`to_config` embeds the data, so it can be shared without database
        access. Options and time range are kept, so its :attr:`data` is this loader's.
        """
        steps = self._load_steps()
        series = self._time_series
        if series is None or self._ts_rows is not None:
            series = self.copy()._full_series()
        return DataLoader(series, steps, options=self._options, time_range=self._time_range)

    def _full_series(self) -> pl.DataFrame:
        self._time_series = None
        return self._load_time_series()

    def to_config(self, filter_data: bool = True) -> dict[str, Any]:
        """The JSON-ready config for this loader, as pipeline objectives take it.

        ``{"data": "db:<id>"}`` for a database loader; for local data
        ``{"data": {<column>: [...]}}`` or, with steps,
        ``{"data": {"time_series": {...}, "steps": {...}}}``. ``"time_range"`` and ``"options"``
        are added when set. NaN and infinities become None.

        ``filter_data=True`` (local data) ships only the selected window, its step indices
        counted from its first row, with the transforms still as options (so the receiver's
        ``.data`` equals this one's); ``False`` ships everything with every option.
        """
        options = self._options
        config: dict[str, Any] = {}
        if self._measurement_id is not None:
            config["data"] = f"{DB_PREFIX}{self._measurement_id}"
        elif filter_data:
            window = self._window()
            options = {k: v for k, v in (options or {}).items() if k not in _STEP_OPTIONS}
            config["data"] = inline(window.data, rebased_steps(window))
        else:
            assert self._time_series is not None
            config["data"] = inline(self._time_series, self._steps)
        if self._time_range is not None and (self._measurement_id or not filter_data):
            config["time_range"] = dict(self._time_range)
        if options:
            config["options"] = serialize_config(options)
        return config

    # -- analysis and plotting ---------------------------------------------------------------

    def calculate_dUdQ_cutoff(  # ionworksdata's name
        self, method: str = "explicit", show_plot: bool = False, options: Any = None
    ) -> float:
        """Cut-off for ``|dU/dQ|`` of :attr:`data` (``"explicit"``, ``"quantile"``, ``"peaks"``)."""
        return self._cutoff(CAPACITY, VOLTAGE, method, show_plot, options)

    def calculate_dQdU_cutoff(  # ionworksdata's name
        self, method: str = "explicit", show_plot: bool = False, options: Any = None
    ) -> float:
        """Cut-off for ``|dQ/dU|`` of :attr:`data`, as :meth:`calculate_dUdQ_cutoff`."""
        return self._cutoff(VOLTAGE, CAPACITY, method, show_plot, options)

    def _cutoff(self, x: str, y: str, method: str, show_plot: bool, options: Any) -> float:
        data = self.data
        missing = [c for c in (x, y) if c not in data.columns]
        if missing:
            raise InvalidParameterError(
                f"The cut-off needs columns {missing} in .data (set capacity_column?)."
            )
        xs, ys = data[x].to_numpy(), data[y].to_numpy()
        cutoff = checked(lambda: differential_cutoff(xs, ys, method, options))
        if show_plot:
            plot_cutoff(xs, ys, cutoff, x)
        return cutoff

    def plot_data(
        self, show: bool = False, *, ax: Any = None, title: str | None = None
    ) -> tuple[Figure, np.ndarray]:
        """Plot voltage and current over time (and temperature when present) of :attr:`data`.

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
        return frames_equal(self._time_series, other._time_series) and frames_equal(
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
