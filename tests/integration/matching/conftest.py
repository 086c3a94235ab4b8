"""Leak check for matching integration tests: no thread or asyncio task may outlive a test."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from helpers import eventually_async


@pytest.fixture(autouse=True)
async def no_leaks() -> AsyncIterator[None]:
    threads_before = set(threading.enumerate())
    tasks_before = asyncio.all_tasks()
    yield

    def leaked() -> tuple[set[threading.Thread], set[asyncio.Task[object]]]:
        threads = {
            t
            for t in threading.enumerate()
            if t not in threads_before and t.is_alive() and not t.name.startswith("asyncio_")
        }
        current = asyncio.current_task()
        tasks = {
            t
            for t in asyncio.all_tasks()
            if t not in tasks_before and t is not current and not t.done()
        }
        return threads, tasks

    async def clean() -> bool:
        threads, tasks = leaked()
        assert not threads and not tasks, f"leaked threads {threads}, tasks {tasks}"
        return True

    # The loop's default executor keeps its idle worker threads (asyncio_N): they are not ours.
    await eventually_async(clean, timeout=5)
