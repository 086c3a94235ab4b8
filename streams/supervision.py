"""Threads that fail loudly: a background thread that dies tells its process, never just a log.

A service whose reader thread died but whose health still says SERVING accepts requests it can
no longer answer. Every background thread of a Strom process is started with `start_thread`,
and its `on_death` makes the process stop serving and exit non-zero (its supervisor, e.g.
`strom server start-dev`, then starts it again).
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

OnDeath = Callable[[str, BaseException], None]
"""Called with the thread's name and what killed it, on the dying thread."""


def log_death(name: str, error: BaseException) -> None:
    """The default `on_death` of library use (tests, tools): a CRITICAL log line."""
    log.critical("thread %s died: %r", name, error)


def start_thread(
    target: Callable[[], None], name: str, on_death: OnDeath = log_death
) -> threading.Thread:
    """Starts a daemon thread running `target`; if it raises, `on_death` is told.

    A `target` that returns normally (it was asked to stop) is not a death.
    """

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # whatever it was, the thread is gone: say so
            log.exception("thread %s died", name)
            on_death(name, exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def dump_stacks_on_sigusr1() -> None:
    """Makes SIGUSR1 write every thread's Python stack to stderr (the service's log).

    For a process that is alive but makes no progress: `kill -USR1 <pid>` shows where each of
    its threads waits, without stopping it. The fault test does it when workflows stall.
    """
    stderr = sys.__stderr__  # the process's own, even where sys.stderr is replaced (tests)
    if stderr is None:
        return  # no stderr at all: nowhere to write
    try:
        faulthandler.register(signal.SIGUSR1, file=stderr, all_threads=True)
    except (OSError, ValueError) as exc:  # a stderr without a file descriptor
        log.warning("no thread stacks on SIGUSR1: %s", exc)
