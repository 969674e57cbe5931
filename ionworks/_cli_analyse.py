"""``ionworks measurements analyse ID --what dqdv|resistance|fade [--plot out.png]``.

Fetches what the analysis needs (the time series for dQ/dV and pulse resistance, the cycles
table for fade) through the client, runs :mod:`ionworks.data.analysis` and prints one table
(or JSON with ``--json``); ``--plot`` saves the matching plot atomically. Kept apart from
``cli.py`` so the command table stays one page.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

WHAT = ("dqdv", "resistance", "fade")


def add_analyse_command(measurements: Any, common: argparse.ArgumentParser) -> None:
    """Register ``analyse`` under ``ionworks measurements``."""
    p = measurements.add_parser(
        "analyse",
        aliases=["analyze"],
        help="dQ/dV peaks, pulse resistance or capacity fade of a measurement",
        parents=[common],
    )
    p.add_argument("id", help="the time-series measurement")
    p.add_argument("--what", choices=WHAT, required=True, help="which analysis")
    p.add_argument("--plot", help="FILE.png: save the matching plot")
    p.add_argument("--cycle", type=int, help="dqdv: only this cycle (default: every cycle)")
    p.add_argument(
        "--direction", choices=["charge", "discharge"], default="discharge", help="dqdv side"
    )
    p.add_argument("--threshold", type=float, default=0.8, help="fade: retention threshold")
    p.set_defaults(handler=analyse_command)


def analyse_command(args: argparse.Namespace) -> None:
    """Run the analysis; DataError (bad data) becomes the CLI's one-line ValueError."""
    from ._dataframe import to_polars
    from .cli import _client
    from .data.errors import DataError

    client = _client(args)
    measurements = client.cell_measurement
    try:
        if args.what == "fade":
            source = to_polars(measurements.cycles(args.id))
            table = _fade(source, args)
        else:
            source = to_polars(measurements.time_series(args.id))
            table = _dqdv(source, args) if args.what == "dqdv" else _resistance(source)
        if args.plot:
            _save_plot(args, source)
    except DataError as exc:
        raise ValueError(f"measurement {args.id}: {exc}") from exc
    rows = [{k: _plain(v) for k, v in row.items()} for row in table.iter_rows(named=True)]
    if args.json:
        summary = {"measurement_id": args.id, "what": args.what, "plot": args.plot, "rows": rows}
        print(json.dumps(summary, indent=2))
        return
    print(table)
    if args.plot:
        print(f"wrote {args.what} plot of {args.id} to {args.plot}")


def _dqdv(series: Any, args: argparse.Namespace) -> Any:
    from .data.analysis import dqdv, find_peaks

    return find_peaks(dqdv(series, cycle=args.cycle, direction=args.direction))


def _resistance(series: Any) -> Any:
    from .data.analysis import pulse_resistance

    return pulse_resistance(series)


def _fade(cycles: Any, args: argparse.Namespace) -> Any:
    from .data.analysis import capacity_fade

    return capacity_fade(cycles, threshold=args.threshold)


def _save_plot(args: argparse.Namespace, source: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import analysis_plots as plots
    from ._cli_files import write_atomically
    from .data.analysis import dqdv, pulse_resistance

    title = f"{args.what} of {args.id}"
    if args.what == "dqdv":
        curve = dqdv(source, cycle=args.cycle, direction=args.direction)
        fig, _ = plots.plot_dqdv(curve, title=title)
    elif args.what == "resistance":
        fig, _ = plots.plot_pulse_resistance(pulse_resistance(source), title=title)
    else:
        fig, _ = plots.plot_capacity_fade(source, threshold=args.threshold, title=title)
    output = Path(args.plot)
    try:
        write_atomically(
            output, lambda path: fig.savefig(path, format=output.suffix[1:] or "png", dpi=120)
        )
    finally:
        plt.close(fig)


def _plain(value: Any) -> Any:
    """JSON-safe: NaN becomes null."""
    return None if isinstance(value, float) and math.isnan(value) else value
