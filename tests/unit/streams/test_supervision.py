"""Background threads that die say so; threads that finish do not; SIGUSR1 shows stacks."""

from __future__ import annotations

import subprocess
import sys
import threading

from streams.supervision import start_thread


def test_a_dying_thread_calls_on_death_with_its_name_and_error() -> None:
    deaths: list[tuple[str, BaseException]] = []
    called = threading.Event()

    def on_death(name: str, error: BaseException) -> None:
        deaths.append((name, error))
        called.set()

    def reader() -> None:
        raise RuntimeError("broker gone")

    start_thread(reader, "reply-reader", on_death).join(5)
    assert called.is_set()
    ((name, error),) = deaths
    assert name == "reply-reader" and isinstance(error, RuntimeError)


def test_a_thread_that_returns_is_not_a_death() -> None:
    deaths: list[str] = []
    start_thread(lambda: None, "done", lambda name, _: deaths.append(name)).join(5)
    assert deaths == []


def test_sigusr1_writes_every_threads_stack_and_the_process_goes_on() -> None:
    code = (
        "import os, signal, threading, time\n"
        "from streams import supervision\n"
        "supervision.dump_stacks_on_sigusr1()\n"
        "threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "os.kill(os.getpid(), signal.SIGUSR1)\n"
        "print('still running', flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "still running" in done.stdout
    assert done.stderr.count("Thread 0x") + done.stderr.count("Current thread 0x") == 2
    assert 'File "<string>"' in done.stderr
