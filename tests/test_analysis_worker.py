"""The analysis module's worker thread (``_segments.in_parallel``, which reads a long series in two
halves) where a process's life gets in its way: a call from an atexit handler, a fork while its
lock is held, an error in the half run here. Processes that exit or fork run as subprocesses."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from ionworks.data.analysis import _segments


def _python(code: str) -> subprocess.CompletedProcess[str]:
    # The timeout only ends a hang (the deadlocks these tests look for); a pass takes a second.
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_call_from_an_atexit_handler_is_run_here() -> None:
    """After the interpreter's shutdown has begun no thread can be started or given work (the
    executor raises RuntimeError); dqdv of a long series in an atexit handler still answers."""
    out = _python(
        """
        import atexit
        from ionworks.data.analysis import _segments

        def late() -> None:
            print(_segments.in_parallel([lambda: "first", lambda: "last"]))

        atexit.register(late)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['first', 'last']" and "Traceback" not in out.stderr


def test_a_forked_child_gets_its_own_worker_even_with_the_lock_held_at_the_fork() -> None:
    """A fork copies the worker's lock as it was (held here, as by another thread starting the
    worker at that moment) but not the worker thread: the child uses a fresh lock and worker.
    Before, the child waited on the copied lock forever (its alarm ends it then)."""
    out = _python(
        """
        import os, signal, sys
        from ionworks.data.analysis import _segments

        assert _segments.in_parallel([lambda: 1, lambda: 2]) == [1, 2]  # the worker started
        with _segments._WORKER_LOCK:
            pid = os.fork()
            if pid == 0:
                signal.alarm(120)  # a deadlocked child ends instead of outliving the test
                got = _segments.in_parallel([lambda: "child", lambda: "last"])
                os._exit(0 if got == ["child", "last"] else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        print(_segments.in_parallel([lambda: "parent", lambda: "last"]))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["0", "['parent', 'last']"], out.stdout


def test_an_error_in_the_last_call_withdraws_the_offer_not_yet_started() -> None:
    """The half offered to the worker is not computed after the other half failed (a bad series,
    or Ctrl-C) when the worker had not started it."""
    ran = threading.Event()
    busy = threading.Event()
    blocker = _segments._worker().submit(busy.wait, 60)  # the worker cannot start the offer
    try:

        def boom() -> None:
            raise ValueError("the half run here")

        with pytest.raises(ValueError, match="the half run here"):
            _segments.in_parallel([ran.set, boom])
    finally:
        busy.set()
        blocker.result()
    _segments._worker().submit(lambda: None).result()  # everything offered before has run
    assert not ran.is_set()
