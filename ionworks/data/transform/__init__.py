"""The cleaning steps engineers run on a time series before comparing cells.

Same names, parameters and results as ionworksdata 0.20.2's ``transform`` module, so a user can
switch by changing an import; each function takes a polars frame and returns a new one. The
differences, each deliberate:

* an option key no transform function knows is a :class:`~ionworks.data.errors.DataError`
  (ionworksdata drops it silently), and so is a missing column, with the fix in the message;
* ``set_positive_current_for_discharge`` does not write ``"method"`` into the caller's dict;
* ``remove_outliers`` keeps rows in their order (ionworksdata joins steps in ``unique()``
  order, the same when the step number only grows) and ``reset_time`` returns an empty frame
  as it is;
* the sign fit solves its three-unknown bounded least squares exactly with numpy, where
  ionworksdata uses SciPy's BVLS: same optimum, no SciPy dependency.
"""

from __future__ import annotations

from ._clean import offset_duplicate_times, remove_outliers, reset_time
from ._counts import (
    get_cumulative_cycle_number,
    get_cumulative_step_number,
    set_cumulative_cycle_number,
    set_cumulative_step_number,
    set_cycle_count,
    set_step_count,
)
from ._cumulative import (
    fix_swapped_charge_discharge_columns,
    set_capacity,
    set_energy,
    set_net_capacity,
    set_nominal_soc,
    set_power,
)
from ._ecm import positive_current_is_charge
from ._sign import MODE_LABELS, set_positive_current_for_discharge

__all__ = [
    "MODE_LABELS",
    "fix_swapped_charge_discharge_columns",
    "get_cumulative_cycle_number",
    "get_cumulative_step_number",
    "offset_duplicate_times",
    "positive_current_is_charge",
    "remove_outliers",
    "reset_time",
    "set_capacity",
    "set_cumulative_cycle_number",
    "set_cumulative_step_number",
    "set_cycle_count",
    "set_energy",
    "set_net_capacity",
    "set_nominal_soc",
    "set_positive_current_for_discharge",
    "set_power",
    "set_step_count",
]
