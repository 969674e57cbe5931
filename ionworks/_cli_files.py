"""The command line's local files: ``ionworks read`` (cycler file -> parquet/CSV/plot), the
reader options ``read`` and ``measurements upload`` share, and writing output files atomically
(the frame an upload sends is read by ``_file_frames``, which the library uses too).

Kept apart from ``cli.py`` so the command table stays one readable page; nothing here talks
to the API.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._file_frames import check_file, time_series_with_progress

STANDARD_SUFFIXES = (".parquet", ".csv")
"""Output formats of ``ionworks read -o`` (and of ``measurements download``)."""


def add_read_command(groups: Any, common: argparse.ArgumentParser) -> None:
    """``ionworks read FILE [-r READER] [-o out.parquet] [--plot out.png]``."""
    p = groups.add_parser(
        "read",
        help="read a cycler file (Maccor, Neware, Arbin, BioLogic...) into the standard columns",
        parents=[common],
    )
    p.add_argument("file", help="the cycler's export (format detected from its content)")
    p.add_argument("-o", "--output", help="FILE.parquet or FILE.csv: the standard time series")
    p.add_argument("--plot", help="FILE.png: voltage and current against time")
    add_reader_arguments(p)
    p.set_defaults(handler=read_command)


def add_upload_arguments(p: argparse.ArgumentParser) -> None:
    """What ``measurements upload`` takes about its file: ``FILE --instance ID`` (or the older
    ``INSTANCE_ID FILE``), a reader to force, and a name defaulting to the file's."""
    p.add_argument(
        "target",
        metavar="FILE",
        help="the file to upload, format detected (the older form INSTANCE_ID FILE still works)",
    )
    p.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    p.add_argument(
        "--instance", metavar="ID", help="the cell instance to upload to (required with FILE alone)"
    )
    p.add_argument("--name", help="measurement name (default: the file name without extension)")
    add_reader_arguments(p)


def add_reader_arguments(p: argparse.ArgumentParser) -> None:
    """How a command reading a cycler file is told the reader: ``-r``, or the mapping of a table
    no reader knows (the csv reader's options); ``ionworks read`` and ``measurements upload``
    take the same ones, parsed by :func:`mapping_options`."""
    p.add_argument("-r", "--reader", help="force a reader by name, e.g. maccor, 'biologic mpt'")
    mapping = p.add_argument_group(
        "a table no reader knows (reader csv)", "map its columns: each option implies -r csv"
    )
    mapping.add_argument(
        "--column",
        action="append",
        metavar="'NAME=STANDARD'",
        help="a file column and the standard column it holds, e.g. 'elapsed (h)=Time [s]' "
        "(repeat; at least time, current and voltage)",
    )
    mapping.add_argument(
        "--unit",
        action="append",
        metavar="'NAME=UNIT'",
        help="the unit a column is written in, e.g. 'elapsed (h)=h' or 'I (mA)=mA' (repeat)",
    )
    mapping.add_argument(
        "--sheet", help="the worksheet of an Excel file (default: the first with cells)"
    )
    mapping.add_argument(
        "--charge-positive",
        action="store_true",
        help="the file's current is positive on charge (the standard is positive on discharge)",
    )


def read_command(args: argparse.Namespace) -> None:
    """Read, then write the table and/or the plot; one summary line (or JSON) on stdout."""
    if not args.output and not args.plot:
        raise ValueError("ionworks read: say what to write: -o FILE.parquet and/or --plot FILE.png")
    output = Path(args.output) if args.output else None
    if output is not None and output.suffix.lower() not in STANDARD_SUFFIXES:
        raise ValueError(f"-o {output}: use a .parquet or .csv file name")
    if args.plot:
        _check_plot_format(Path(args.plot))
    path = Path(args.file)
    reader, options = mapping_options(args)
    frame, reader = read_cycler_file(path, reader, **options)
    if output is not None:
        write_table(frame, output)
    if args.plot:
        plot_file(frame, Path(args.plot), title=path.name)
    summary = {
        "file": str(path),
        "reader": reader,
        "rows": frame.height,
        "columns": frame.columns,
        "output": str(output) if output else None,
        "plot": args.plot,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    written = " and ".join(str(p) for p in (output, args.plot) if p)
    print(f"read {frame.height:,} rows from {path.name} ({reader}); wrote {written}")


GENERIC_READER = "csv"
"""The reader of tables no cycler wrote, which takes the column mapping."""


OPTION_FLAGS = {
    "columns": "--column",
    "units": "--unit",
    "sheet": "--sheet",
    "charge_positive": "--charge-positive",
}
"""The csv reader's options and the command line's flags that give them."""


def mapping_options(args: argparse.Namespace) -> tuple[str | None, dict[str, Any]]:
    """(reader, options) from ``-r`` and the mapping options: ``--column`` and the others
    imply the csv reader; that reader without ``--column`` says how to give them."""
    options: dict[str, Any] = {}
    if args.column:
        options["columns"] = _pairs(args.column, "--column", "'elapsed (h)=Time [s]'")
    if args.unit:
        options["units"] = _pairs(args.unit, "--unit", "'elapsed (h)=h'")
    if args.sheet is not None:
        options["sheet"] = args.sheet
    if args.charge_positive:
        options["charge_positive"] = True
    reader = args.reader
    named = reader.strip().lower() if reader else None
    if options and named not in (None, GENERIC_READER):
        given = ", ".join(OPTION_FLAGS[k] for k in options)
        raise ValueError(f"{given}: options of the csv reader, not of -r {reader}; drop -r")
    if (options or named == GENERIC_READER) and "columns" not in options:
        raise ValueError(
            "the csv reader needs the column mapping: --column 'elapsed (h)=Time [s]' "
            "--column 'I (mA)=Current [A]' --column 'U=Voltage [V]' (at least time, current "
            "and voltage), and --unit 'I (mA)=mA' where a column is not in standard units"
        )
    return (GENERIC_READER if options else reader), options


def _pairs(given: list[str], option: str, example: str) -> dict[str, str]:
    """``NAME=VALUE`` arguments as a dict (split at the last ``=``; names may hold one)."""
    pairs = {}
    for item in given:
        name, sep, value = item.rpartition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"{option} {item!r}: write NAME=VALUE, e.g. {option} {example}")
        pairs[name.strip()] = value.strip()
    return pairs


def _check_plot_format(plot: Path) -> None:
    """Before reading: a ``--plot`` suffix matplotlib can write (none means PNG)."""
    from matplotlib.backend_bases import FigureCanvasBase

    kinds = FigureCanvasBase.get_supported_filetypes()
    if plot.suffix and plot.suffix[1:].lower() not in kinds:
        raise ValueError(f"--plot {plot}: use a file name ending in .{', .'.join(sorted(kinds))}")


def read_cycler_file(path: Path, reader: str | None, **options: Any) -> tuple[Any, str]:
    """The file's standard time series and the reader used (one parse of the file)."""
    from .data import read

    check_file(path)
    with in_cli_terms(), read.opened(path, reader) as file:
        return time_series_with_progress(file, options), file.reader


@contextmanager
def in_cli_terms() -> Iterator[None]:
    """A file no reader recognises is told how to force a reader or map its columns with the
    command line's options; the library (``upload_frame`` serves ``create(instance, path)``
    too) says it in Python."""
    from .data import read

    try:
        yield
    except read.UnknownFormat as exc:
        raise read.ReaderError(f"{exc.found}. {_unknown_advice(exc.workbook)}") from exc


def _unknown_advice(workbook: bool) -> str:
    """How to read a file no reader recognises, in the command line's options."""
    mapping = (
        "--column 'NAME=Time [s]' --column 'NAME=Current [A]' --column 'NAME=Voltage [V]' "
        "(and --unit 'NAME=mA' where a column is not in standard units"
    )
    if workbook:
        return f"Map the columns of a sheet: --sheet SHEET {mapping})"
    return f"If you know the format, force it: -r NAME; or map the columns: {mapping})"


def write_table(frame: Any, output: Path) -> None:
    """The frame as parquet or CSV (by suffix), written atomically."""
    parquet = output.suffix.lower() == ".parquet"
    write_atomically(
        output, lambda path: frame.write_parquet(path) if parquet else frame.write_csv(path)
    )


def plot_file(frame: Any, output: Path, *, title: str) -> None:
    """Voltage and current against time, saved as ``output`` (PNG unless the suffix says)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import plotting

    fig, _ = plotting.plot_time_series(frame, title=title)
    try:
        write_atomically(
            output, lambda path: fig.savefig(path, format=output.suffix[1:] or "png", dpi=120)
        )
    finally:
        plt.close(fig)


def write_atomically(target: Path, write: Any) -> None:
    """Write through a temp file in the same directory, then rename: never a half-written file.

    ``mkstemp`` makes the temp file private (0600); before the rename it gets the mode a plain
    ``open(target, "w")`` would give: the existing file's, else ``0666`` less the umask.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix
        )
    except OSError as exc:  # the message would name the temp file, not what was asked for
        raise OSError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _new_file_mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename == tmp:
            raise OSError(f"cannot write {target}: {exc.strerror or exc}") from exc
        raise


def _new_file_mode(target: Path) -> int:
    """The mode a new ``open(target, "w")`` would give: the existing file's, else 0666 - umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask
