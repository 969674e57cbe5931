"""The ``ionworks`` command line: the client's operations for scripts and terminals.

Every command goes through :class:`ionworks.Ionworks` (no second HTTP path). ``--json`` prints
machine-readable output; errors print one line and exit 1 (``--debug`` shows the traceback),
and the client a command builds is closed on every path (``_cli_run``).
The common options (``--api-url``, ``--api-key``, ``--json``, ``--debug``) work before or after
the command. Files written (downloads, plots) appear atomically with the permissions any new
file gets (``0666`` less the umask). ``read`` converts a cycler file locally and
``measurements upload`` sends one after reading it (see ``_file_frames``). ``serve`` and ``admin``
hand over to the local reference server, imported only then.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import _cache
from . import _constants as C
from ._cli_analyse import add_analyse_command
from ._cli_files import (
    add_read_command,
    add_upload_arguments,
    in_cli_terms,
    mapping_options,
)
from ._cli_files import write_atomically as _write_atomically
from ._cli_run import run_command
from ._file_frames import upload_frame
from .errors import NotFoundError
from .resources._ids import name_hint


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in ("serve", "admin"):
        return _server_command(args_list[0], args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return run_command(args, _cli_message)


def _cli_message(exc: Exception) -> str:
    """The error in the CLI's terms: a name passed as an id gets the command that finds it."""
    if isinstance(exc, NotFoundError) and exc.name_lookup and exc.unhinted_message:
        param, value = exc.name_lookup
        exc.message = f"{exc.unhinted_message} ({name_hint(param, value, cli=True)})"
    return str(exc)


def _server_command(name: str, argv: list[str]) -> int:
    try:
        import ionworks_server.cli as server_cli
    except ImportError as exc:
        print(
            f"error: the local server is not installed ({exc}); pip install 'ionworks[server]'",
            file=sys.stderr,
        )
        return 1
    entry = server_cli.serve_main if name == "serve" else server_cli.admin_main
    return int(entry(argv) or 0)


# ---------------------------------------------------------------- argument parsing


def _common_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, as an argparse parent.

    The top-level parser sets the defaults; every sub-parser's copy has no default at all
    (``SUPPRESS``), so a value given before the command is not overwritten by the sub-parser's
    default, and one given after it wins.
    """

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url", default=default(None), help=f"API base URL (default: ${C.ENV_API_URL})"
    )
    common.add_argument(
        "--api-key", default=default(None), help=f"API key (default: ${C.ENV_API_KEY})"
    )
    common.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON for scripts"
    )
    common.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks on errors"
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common_options(defaults=False)
    parser = argparse.ArgumentParser(
        prog="ionworks",
        description="Read and write Ionworks battery data from the command line.",
        parents=[_common_options(defaults=True)],
    )
    parser.set_defaults(handler=None)
    groups = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    specs = _command_group(groups, "specs", "cell specifications", common)
    p = specs.add_parser("list", help="list cell specifications", parents=[common])
    _list_options(p)
    p.add_argument("--form-factor", help="exact form factor, e.g. R2032")
    p.set_defaults(handler=_specs_list)
    p = specs.add_parser("get", help="show one cell specification", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler=_specs_get)

    instances = _command_group(groups, "instances", "cell instances", common)
    p = instances.add_parser("list", help="list the instances of a specification", parents=[common])
    p.add_argument("spec_id")
    _list_options(p)
    p.set_defaults(handler=_instances_list)

    measurements = _command_group(groups, "measurements", "cell measurements", common)
    p = measurements.add_parser(
        "list", help="list the measurements of an instance", parents=[common]
    )
    p.add_argument("instance_id")
    _list_options(p)
    p.add_argument("--type", dest="measurement_type", choices=["time_series", "properties", "file"])
    p.set_defaults(handler=_measurements_list)
    p = measurements.add_parser(
        "download", help="save a measurement table as parquet or CSV", parents=[common]
    )
    p.add_argument("id")
    p.add_argument("--what", choices=["time_series", "steps", "cycles"], default="time_series")
    p.add_argument("-o", "--output", required=True, help="FILE.parquet or FILE.csv")
    p.add_argument("--no-cache", action="store_true", help="bypass the local cache")
    p.set_defaults(handler=_measurements_download)
    _add_upload_command(measurements, common)
    p = measurements.add_parser("plot", help="plot a measurement to a PNG", parents=[common])
    p.add_argument("id")
    p.add_argument("-o", "--output", required=True, help="FILE.png")
    p.add_argument(
        "--kind",
        choices=["time_series", "capacity", "voltage_capacity"],
        default="time_series",
        help="voltage/current vs time (default), capacity vs cycle, or voltage vs capacity",
    )
    p.add_argument("--title", help="plot title (default: the measurement's name)")
    p.set_defaults(handler=_measurements_plot)
    add_analyse_command(measurements, common)

    cache = _command_group(groups, "cache", "the local measurement cache", common)
    p = cache.add_parser("info", help="location, entries and size", parents=[common])
    p.set_defaults(handler=_cache_info)
    p = cache.add_parser("clear", help="delete every cached entry", parents=[common])
    p.set_defaults(handler=_cache_clear)

    _add_export_command(groups, common)
    add_read_command(groups, common)
    groups.add_parser("serve", help="run the local reference server (see `ionworks serve -h`)")
    groups.add_parser("admin", help="manage the local server's keys (see `ionworks admin -h`)")
    return parser


def _add_upload_command(measurements: Any, common: argparse.ArgumentParser) -> None:
    """``ionworks measurements upload FILE --instance ID [mapping] [--notes/--start-time/--tag]``."""
    p = measurements.add_parser(
        "upload",
        help="upload a time series (a cycler file, or parquet/CSV in the standard columns)",
        description="Read FILE (a cycler's export, format detected; parquet or CSV already in "
        "the standard columns as it is; any other table mapped with --column), check it, and "
        "upload it to a cell instance. Nothing is uploaded from a file that does not read.",
        parents=[common],
    )
    add_upload_arguments(p)
    p.add_argument("--notes", help="free text kept with the measurement")
    p.add_argument(
        "--start-time", help="ISO 8601 start time of the test (default: the file's, if it says)"
    )
    p.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="tag (repeat)")
    p.add_argument("--no-wait", action="store_true", help="do not wait for processing")
    p.set_defaults(handler=_measurements_upload)


def _add_export_command(groups: Any, common: argparse.ArgumentParser) -> None:
    """``ionworks export PATH [--spec ID] [--instance ID] [--tables ...]``."""
    p = groups.add_parser(
        "export", help="write measurements to a parquet dataset (hive partitions)", parents=[common]
    )
    p.add_argument("path", help="dataset directory (created; a rerun skips unchanged data)")
    p.add_argument("--spec", help="only this specification's measurements")
    p.add_argument("--instance", help="only this instance's measurements")
    p.add_argument(
        "--tables", nargs="+", choices=["time_series", "steps", "cycles"], help="default: all"
    )
    p.add_argument("--concurrency", type=int, default=4, help="measurements at once (default 4)")
    p.add_argument("--no-cache", action="store_true", help="bypass the local cache")
    p.set_defaults(handler=_export)


def _command_group(groups: Any, name: str, help_text: str, common: argparse.ArgumentParser) -> Any:
    """A command with actions (``specs list``); the common options work at its level too."""
    return groups.add_parser(name, help=help_text, parents=[common]).add_subparsers(
        metavar="ACTION", dest="action"
    )


def _list_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="case-insensitive substring of the name")
    p.add_argument("--name-exact", help="exact name")
    p.add_argument("--limit", type=int, default=50, help="page size, 1 to 1000 (default 50)")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--order-by", choices=["name", "created_at", "updated_at"])
    p.add_argument("--order", choices=["asc", "desc"])
    p.add_argument("--all", action="store_true", help="every page, not just one")


# ---------------------------------------------------------------- commands


def _client(args: argparse.Namespace) -> Any:
    """The client for these options, closed when the command ends (``args.closing``, which
    ``run_command`` provides); configuration errors name the CLI's options, not Python's."""
    client = _new_client(args)
    args.closing.enter_context(client)
    return client


def _new_client(args: argparse.Namespace) -> Any:
    from ._client import Ionworks

    api_key = args.api_key or None
    if api_key is None and not (os.environ.get(C.ENV_API_TOKEN) or os.environ.get(C.ENV_API_KEY)):
        raise ValueError(
            f"No Ionworks credentials: pass --api-key KEY or set {C.ENV_API_KEY} "
            f"(or {C.ENV_API_TOKEN} for a bearer token)."
        )
    try:
        return Ionworks(api_key=api_key, api_url=args.api_url or None)
    except ValueError as exc:
        if str(exc).startswith("api_url="):
            url = args.api_url or os.environ.get(C.ENV_API_URL)
            where = "--api-url" if args.api_url else C.ENV_API_URL
            raise ValueError(
                f"{where} {url!r} must start with http:// or https://, e.g. "
                "--api-url http://127.0.0.1:8000"
            ) from exc
        raise


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    names = ("name", "name_exact", "order_by", "order", "form_factor", "measurement_type")
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def _emit_page(args: argparse.Namespace, page: Any, columns: Sequence[str]) -> None:
    items = list(page.auto_paging_iter()) if args.all else list(page.items)
    if args.json:
        print(json.dumps({"items": [i.to_dict() for i in items], "total": page.total}, indent=2))
        return
    _print_table([[_text(item.get(c)) for c in columns] for item in items], columns)
    shown = f"{len(items)} of {page.total}"
    if not args.all and page.has_more:
        shown += f" (next page: --offset {page.offset + page.count}, or --all)"
    print(shown, file=sys.stderr)


def _specs_list(args: argparse.Namespace) -> None:
    page = _client(args).cell_spec.list(args.limit, args.offset, **_filters(args))
    _emit_page(args, page, ["id", "name", "form_factor", "chemistry", "created_at"])


def _specs_get(args: argparse.Namespace) -> None:
    spec = _client(args).cell_spec.get(args.id)
    _emit_object(args, spec.to_dict())


def _instances_list(args: argparse.Namespace) -> None:
    page = _client(args).cell_instance.list(args.spec_id, args.limit, args.offset, **_filters(args))
    _emit_page(args, page, ["id", "name", "created_at"])


def _measurements_list(args: argparse.Namespace) -> None:
    page = _client(args).cell_measurement.list(
        args.instance_id, args.limit, args.offset, **_filters(args)
    )
    _emit_page(args, page, ["id", "name", "measurement_type", "start_time", "processing_status"])


def _measurements_download(args: argparse.Namespace) -> None:
    client = _client(args)
    fetch = getattr(client.cell_measurement, args.what)
    frame = fetch(args.id, use_cache=not args.no_cache)
    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"-o {output}: use a .parquet or .csv file name")
    _write_atomically(
        output,
        lambda path: frame.write_parquet(path) if suffix == ".parquet" else frame.write_csv(path),
    )
    summary = {
        "id": args.id,
        "what": args.what,
        "rows": frame.height,
        "columns": frame.width,
        "output": str(output),
    }
    _emit_object(args, summary) if args.json else print(
        f"wrote {frame.height:,} rows × {frame.width} columns of {args.what} to {output}"
    )


def _upload_target(args: argparse.Namespace) -> tuple[str, Path]:
    """(instance id, file) from ``FILE --instance ID`` or the older ``INSTANCE_ID FILE``."""
    if args.instance and args.file is None:
        return args.instance, Path(args.target)
    if not args.instance and args.file is not None:
        return args.target, Path(args.file)
    raise ValueError("measurements upload: give FILE --instance ID (or INSTANCE_ID FILE)")


def _measurements_upload(args: argparse.Namespace) -> None:
    instance_id, path = _upload_target(args)
    reader, options = mapping_options(args)
    with in_cli_terms():
        frame, file_start = upload_frame(path, reader, options)
    measurement = {
        "name": args.name or path.stem,
        "notes": args.notes,
        "start_time": args.start_time or file_start,
        "tags": args.tags,
    }
    bundle = _client(args).cell_measurement.create(
        instance_id,
        {
            "measurement": {k: v for k, v in measurement.items() if v is not None},
            "time_series": frame,
        },
        wait_for_processing=not args.no_wait,
    )
    m = bundle.measurement
    if args.json:
        _emit_object(args, m.to_dict())
    else:
        print(f"uploaded {frame.height:,} rows as measurement {m.id} ({m.processing_status})")


def _measurements_plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from . import plotting

    client = _client(args)
    measurements = client.cell_measurement
    title = args.title if args.title is not None else measurements.get(args.id).name
    if args.kind == "capacity":
        fig, _ = plotting.plot_capacity(measurements.cycles(args.id), title=title)
    elif args.kind == "voltage_capacity":
        fig, ax = plotting.plot_voltage_vs_capacity(
            measurements.time_series(args.id), measurements.steps(args.id)
        )
        ax.set_title(f"{title}: {ax.get_title()}")
    else:
        fig, _ = plotting.plot_time_series(measurements.time_series(args.id), title=title)
    output = Path(args.output)
    try:
        _write_atomically(
            output, lambda path: fig.savefig(path, format=output.suffix[1:] or "png", dpi=120)
        )
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    if args.json:
        summary = {"path": str(output), "measurement_id": args.id, "kind": args.kind}
        _emit_object(args, {**summary, "title": title})
    else:
        print(f"wrote {args.kind} plot of {args.id} ({title}) to {output}")


def _export(args: argparse.Namespace) -> None:
    """``ionworks export``: the summary on stdout, one line per failure on stderr; exit 1 on any."""
    result = _client(args).export(
        args.path,
        spec_id=args.spec,
        instance_id=args.instance,
        tables=tuple(args.tables or ("time_series", "steps", "cycles")),
        concurrency=args.concurrency,
        use_cache=not args.no_cache,
    )
    if args.json:
        fields = ("exported", "skipped", "failed")
        _emit_object(args, {"path": str(result.path), **{k: getattr(result, k) for k in fields}})
    else:
        print(result.summary())
        for mid, reason in result.failed.items():
            print(f"failed {mid}: {reason}", file=sys.stderr)
    if result.failed:
        raise ValueError(f"{len(result.failed)} measurement(s) failed; rerun to retry them")


def _cache_info(args: argparse.Namespace) -> None:
    info = _cache.cache_info()
    if args.json:
        _emit_object(args, info)  # raw numbers (bytes, seconds) for scripts
        return
    for key, value in info.items():
        label, text = _cache_field(key, value)
        print(f"{label:>12}: {text}")


def _cache_field(key: str, value: Any) -> tuple[str, str]:
    """A ``cache_info()`` entry as a human reads it: sizes in bytes units, the TTL in time units."""
    if key == "ttl":
        return "ttl", "none (entries never expire)" if value is None else human_duration(value)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and (key.endswith("_bytes") or key == "size_limit"):
        return key.removesuffix("_bytes").replace("_", " "), human_bytes(value)
    return key.replace("_", " "), _text(value, 100)


_BYTE_UNITS = ("KiB", "MiB", "GiB", "TiB")
_TIME_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def human_bytes(size: float) -> str:
    """``1288490188`` -> ``"1.2 GiB"``: binary units, as ``IONWORKS_CACHE_SIZE_LIMIT`` documents."""
    if abs(size) < 1024:
        return f"{int(size)} B"
    value, unit = float(size), "B"
    for unit in _BYTE_UNITS:  # noqa: B007  (the last unit tried is the one shown)
        value /= 1024
        if abs(value) < 1024:
            break
    return f"{value:.1f} {unit}".replace(".0 ", " ")


def human_duration(seconds: float) -> str:
    """``604800`` -> ``"7 days"``, ``5400`` -> ``"1.5 hours"``, ``45`` -> ``"45 seconds"``."""
    unit, length = next(((u, n) for u, n in _TIME_UNITS if abs(seconds) >= n), _TIME_UNITS[-1])
    text = f"{round(seconds / length, 1):g}"
    return f"{text} {unit}" + ("" if text == "1" else "s")


def _cache_clear(args: argparse.Namespace) -> None:
    deleted = _cache.clear_cache()
    _emit_object(args, {"deleted": deleted}) if args.json else print(f"deleted {deleted} entries")


# ---------------------------------------------------------------- output helpers


def _emit_object(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return
    for key, value in data.items():
        print(f"{key:>20}: {_text(value, 100)}")


def _text(value: Any, width: int = 40) -> str:
    text = (
        ""
        if value is None
        else (json.dumps(value) if isinstance(value, dict | list) else str(value))
    )
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(rows: Iterable[Sequence[str]], header: Sequence[str]) -> None:
    rows = list(rows)
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
