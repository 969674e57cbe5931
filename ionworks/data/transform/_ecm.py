"""Which way does positive current go? An OCV-R model fitted under both sign conventions.

The fit is ionworksdata's (``ionworks.validators.positive_current_is_charge``): ``V = v0 +
delta·soc − I·R0`` with ``delta ≥ 0`` (open-circuit voltage rises with charge) and ``R0 ≥ 0``.
Under the wrong convention the state-of-charge axis runs backwards and the best slope collapses
toward zero, so the convention with the larger slope wins. ionworksdata solves the bounded
least squares with SciPy's BVLS; with three unknowns the exact optimum is found here by trying
every face of the box (each unknown free, at its lower or at its upper bound), which needs only
numpy and gives the same optimum.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

_SLOPE_EPS = 1e-10


def cumulative_trapezoid(y: Floats, x: Floats) -> Floats:
    """Running trapezoidal integral from 0 (SciPy's ``cumulative_trapezoid(..., initial=0)``)."""
    if len(y) == 0:
        return np.zeros(0)
    steps = np.diff(x) * (y[1:] + y[:-1]) / 2.0
    return np.concatenate([[0.0], np.cumsum(steps)])


def trapezoid(y: Floats, x: Floats) -> float:
    """Trapezoidal integral of ``y`` over ``x``."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _box_lstsq(a: Floats, b: Floats, lower: Floats, upper: Floats) -> tuple[Floats, float]:
    """Minimise ½‖a·x − b‖² with ``lower ≤ x ≤ upper``: the best feasible face optimum."""
    best: tuple[Floats, float] | None = None
    width = a.shape[1]
    # All free first: when that optimum lies in the box it is the answer (the problem is convex).
    for states in itertools.product((0, 1, 2), repeat=width):
        x = np.zeros(width)
        free = [k for k, s in enumerate(states) if s == 0]
        fixed = [k for k, s in enumerate(states) if s != 0]
        for k in fixed:
            x[k] = lower[k] if states[k] == 1 else upper[k]
        if not np.isfinite(x[fixed]).all():
            continue
        if free:
            rhs = b - a[:, fixed] @ x[fixed]
            x[free] = np.linalg.lstsq(a[:, free], rhs, rcond=None)[0]
            slack = 1e-12 * np.maximum(1.0, np.abs(x[free]))
            if (x[free] < lower[free] - slack).any() or (x[free] > upper[free] + slack).any():
                continue
            x = np.clip(x, lower, upper)
        residual = a @ x - b
        cost = 0.5 * float(residual @ residual)
        if best is None or cost < best[1]:
            best = (x, cost)
        if not fixed:
            return best
    assert best is not None  # every unknown at its lower bound is always feasible and finite
    return best


def _fit(t: Floats, current: Floats, voltage: Floats) -> tuple[float, float] | None:
    """(OCV slope, cost) of the model with ``current`` positive on discharge; None if the
    charge passed is too small to define a state of charge."""
    charge = cumulative_trapezoid(-current, t)
    span = charge.max() - charge.min()
    if span < 1e-12:
        return None
    soc = (charge - charge.min()) / span
    v_min, v_max = float(voltage.min()), float(voltage.max())
    v_range = max(v_max - v_min, 0.01)
    lower = np.array([v_min - v_range, 0.0, 0.0])
    upper = np.array([v_max + v_range, 2.0 * v_range, np.inf])
    a = np.column_stack((np.ones_like(soc), soc, -current))
    x, cost = _box_lstsq(a, voltage.astype(np.float64), lower, upper)
    return float(x[1]), cost


def positive_current_is_charge(t: Floats, current: Floats, voltage: Floats) -> tuple[bool, float]:
    """(positive current charges, p) where p in [0, 1] is low when the answer is clear.

    Too little data answers (False, 1.0); a flat voltage answers (True, 1.0), as ionworksdata.
    """
    t, current, voltage = (np.asarray(v, dtype=np.float64) for v in (t, current, voltage))
    if t.size < 2 or t.max() == t.min() or np.linalg.norm(current, ord=np.inf) < 1e-12:
        return False, 1.0
    if len(t) - 3 <= 0:
        q = cumulative_trapezoid(current, t)
        if q[1] == q[0]:
            return False, 1.0
        return bool((voltage[1] - voltage[0]) / (q[1] - q[0]) >= 0), 1.0
    if float(np.ptp(voltage)) <= max(1e-9, 1e-6 * max(float(np.max(np.abs(voltage))), 1.0)):
        return True, 1.0
    discharge, charge = _fit(t, current, voltage), _fit(t, -current, voltage)
    if discharge is None or charge is None:
        return discharge is None and charge is not None, 1.0
    (slope_d, sse_d), (slope_c, sse_c) = discharge, charge
    if max(slope_d, slope_c) < _SLOPE_EPS:
        return True, 1.0
    is_charge = slope_c > slope_d
    slope_ratio = min(slope_d, slope_c) / max(slope_d, slope_c, _SLOPE_EPS)
    winner, loser = (sse_c, sse_d) if is_charge else (sse_d, sse_c)
    sse_ratio = winner / max(loser, _SLOPE_EPS) if loser > _SLOPE_EPS else 0.0
    return bool(is_charge), float(np.clip(slope_ratio + sse_ratio, 0.0, 1.0))


def _step_groups(step: Floats) -> npt.NDArray[np.int64]:
    """0, 1, 2... for consecutive runs of equal values."""
    return np.cumsum(np.concatenate([[True], np.diff(step) != 0])).astype(np.int64) - 1


def charge_fraction(t: Floats, current: Floats, voltage: Floats) -> float:
    """Share (0..1) of the evidence, weighted by charge passed, that positive current charges.

    ionworksdata's ``validate_positive_current_is_discharge`` (steps from the current's sign)
    flags a sign problem at 0.25 or more. Untimed rows are left out; 0 when nothing votes.
    """
    timed = ~np.isnan(t)
    t, current, voltage = t[timed], current[timed], voltage[timed]
    if len(current) == 0:
        return 0.0
    magnitude = np.abs(current)
    rest_tol = min(1e-3, max(0.02 * float(np.percentile(magnitude, 95.0)), 1e-12))
    largest = float(np.max(magnitude))
    if largest == 0:
        return 0.0
    normalised = current / largest
    groups = _step_groups(np.sign(normalised * (np.abs(normalised) > rest_tol)))
    count = int(groups[-1]) + 1
    totals = np.bincount(groups, weights=current, minlength=count)
    mean = totals / np.maximum(np.bincount(groups, minlength=count), 1)
    weights = {True: 0.0, False: 0.0}
    for group in np.flatnonzero(np.abs(mean) >= rest_tol):
        mask = groups == group
        if mask.sum() < 2:
            continue
        passed = trapezoid(np.abs(current[mask]), t[mask])
        if passed <= 0:
            continue
        is_charge, p = positive_current_is_charge(t[mask], current[mask], voltage[mask])
        weights[is_charge] += (1.0 - p) * passed
    total = weights[True] + weights[False]
    return weights[True] / total if total > 0 else 0.0
