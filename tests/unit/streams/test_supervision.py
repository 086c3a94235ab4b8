"""Background threads that die say so; threads that finish do not."""

from __future__ import annotations

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
