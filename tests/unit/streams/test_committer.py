"""The commit worker without a broker: one job at a time, outcomes collected, no thread left."""

from __future__ import annotations

import threading

import pytest

from streams.committer import CommitWorker
from streams.exceptions import InvalidStateError


def test_a_job_runs_off_the_callers_thread_and_its_outcome_is_collected_once() -> None:
    worker = CommitWorker("test-commit")
    release = threading.Event()
    ran_on: list[str] = []

    def job() -> None:
        ran_on.append(threading.current_thread().name)
        release.wait(5)

    worker.submit(job)
    assert worker.busy and not worker.done()
    assert worker.wait(0.05) == (False, None), "still running: nothing collected"
    with pytest.raises(InvalidStateError):
        worker.submit(job)  # the next commit may only begin after this one returned
    release.set()
    assert worker.wait(5) == (True, None)
    assert ran_on == ["test-commit"]
    assert not worker.busy
    with pytest.raises(InvalidStateError):
        worker.wait(0)  # collected already
    worker.close(5)


def test_a_failing_job_hands_its_error_to_the_caller_and_the_worker_goes_on() -> None:
    worker = CommitWorker("test-commit")
    boom = RuntimeError("commit failed")

    def fail() -> None:
        raise boom

    worker.submit(fail)
    assert worker.wait(5) == (True, boom)
    done = threading.Event()
    worker.submit(done.set)
    assert worker.wait(5) == (True, None) and done.is_set()
    worker.close(5)


def test_close_lets_the_running_job_finish_and_ends_the_thread() -> None:
    before = threading.active_count()
    worker = CommitWorker("test-commit")
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        release.wait(5)
        finished.set()

    worker.submit(job)
    assert started.wait(5) and threading.active_count() == before + 1
    release.set()
    worker.close(5)
    assert finished.is_set()
    assert threading.active_count() == before, "no thread left behind"
    with pytest.raises(InvalidStateError):
        worker.submit(job)


def test_done_turns_true_when_the_job_returns() -> None:
    worker = CommitWorker("test-commit")
    release = threading.Event()
    worker.submit(lambda: release.wait(5) and None)
    assert not worker.done()
    release.set()
    for _ in range(500):
        if worker.done():
            break
        threading.Event().wait(0.01)
    assert worker.done() and worker.busy, "finished but not collected yet"
    assert worker.wait(0) == (True, None)
    worker.close(5)
