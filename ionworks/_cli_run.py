"""Running one parsed ``ionworks`` command: what it opens is closed, whatever happens, and
every failure ends in one line on stderr and an exit code (never a bare traceback).

Exit codes: 0 done; 1 the command failed (a known error, or an unexpected one, which says so and
how to see its traceback); 2 a usage error (argparse's own); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable

from .errors import IonworksError

EXPECTED_ERRORS = (IonworksError, ValueError, OSError)
"""What a command reports as its own failure: the message is written for the person running it."""

_MESSAGE_LIMIT = 500


def run_command(args: argparse.Namespace, message: Callable[[Exception], str]) -> int:
    """Run ``args.handler(args)``; ``message`` words an expected error in the CLI's terms.

    The handler registers what it opens (the client) on ``args.closing`` (an ``ExitStack``),
    closed before the error, if any, is reported; ``--debug`` re-raises for the traceback.
    """
    name = command_name(args)
    try:
        with contextlib.ExitStack() as closing:
            args.closing = closing
            args.handler(args)
    except KeyboardInterrupt:
        print(f"ionworks {name}: interrupted", file=sys.stderr)
        return 130
    except EXPECTED_ERRORS as exc:
        if args.debug:
            raise
        print(f"error: {message(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {unexpected_error_line(name, exc)}", file=sys.stderr)
        return 1
    return 0


def command_name(args: argparse.Namespace) -> str:
    """``"measurements download"``: the command and its action, as typed."""
    words = (getattr(args, "command", None), getattr(args, "action", None))
    return " ".join(word for word in words if word) or "(no command)"


def unexpected_error_line(name: str, exc: BaseException) -> str:
    """One line for an error no command expects: which command, the error type and its message,
    and how to see the traceback (a bug to report, so the traceback is worth having)."""
    text = " ".join(str(exc).split())
    if len(text) > _MESSAGE_LIMIT:
        text = text[: _MESSAGE_LIMIT - 1] + "…"
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return (
        f"ionworks {name} failed unexpectedly ({detail}); "
        "rerun with --debug to see the traceback, and please report it"
    )
