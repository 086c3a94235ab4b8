"""A worker thread that carries one commit's Kafka round trips while the loop goes on.

`Transactions` hands it the blocking part of a commit (steps 1-3 of streams/commit.py and the
acknowledgements after them). Meanwhile the processing loop keeps deciding inputs against
the still uncommitted state, fires timers and polls; it learns the outcome through `done` or
`wait` and does step 4 itself.

Contract:
- At most one job runs at a time: `submit` refuses a second one until the first was collected
  with `wait`. So transaction N+1 can begin only after N's commit returned.
- A job's exception never kills the thread: `wait` hands it to the caller, on the loop's
  thread, where it is handled as a failed commit.
- `close` waits for the running job and ends the thread; no thread is left behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from streams.exceptions import InvalidStateError
from streams.supervision import OnDeath, log_death, start_thread


class CommitWorker:
    """Runs submitted jobs one at a time on a thread of its own (started on first use)."""

    def __init__(self, name: str, on_death: OnDeath = log_death) -> None:
        self._name = name
        self._on_death = on_death
        self._lock = threading.Condition()
        self._job: Callable[[], None] | None = None
        self._running = False  # a job was submitted and not yet collected
        self._finished = False  # that job returned or raised
        self._error: BaseException | None = None
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        """True from `submit` until the job's outcome was collected with `wait`."""
        return self._running

    def done(self) -> bool:
        """True when the submitted job has finished (`wait` then returns at once)."""
        with self._lock:
            return self._running and self._finished

    def submit(self, job: Callable[[], None]) -> None:
        """Starts `job` on the worker thread.

        Raises:
            InvalidStateError: a job is still running or its outcome was not collected, or
                the worker is closed.
        """
        with self._lock:
            if self._closing:
                raise InvalidStateError("the commit worker is closed")
            if self._running:
                raise InvalidStateError("a commit is still in flight")
            self._job, self._running, self._finished, self._error = job, True, False, None
            if self._thread is None:
                self._thread = start_thread(self._serve, self._name, self._on_death)
            self._lock.notify_all()

    def wait(self, timeout: float | None = None) -> tuple[bool, BaseException | None]:
        """Waits for the submitted job and collects its outcome.

        Returns:
            (finished, error): finished is False when `timeout` passed first (the job is then
            still in flight and not collected); error is what the job raised, or None.

        Raises:
            InvalidStateError: no job was submitted.
        """
        with self._lock:
            if not self._running:
                raise InvalidStateError("no commit is in flight")
            if not self._lock.wait_for(lambda: self._finished, timeout):
                return False, None
            error, self._error = self._error, None
            self._running = self._finished = False
            return True, error

    def close(self, timeout: float | None = None) -> None:
        """Lets a running job finish (its outcome is dropped) and ends the thread."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _serve(self) -> None:
        while True:
            with self._lock:
                self._lock.wait_for(lambda: self._job is not None or self._closing)
                job, self._job = self._job, None
            if job is None:
                return  # closing, nothing left to run
            error: BaseException | None = None
            try:
                job()
            except BaseException as exc:  # the loop decides what a failed commit means
                error = exc
            with self._lock:
                self._error, self._finished = error, True
                self._lock.notify_all()
