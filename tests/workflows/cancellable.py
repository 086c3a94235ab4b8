"""Activities for the cancellation and async-completion tests, with an in-process rendezvous.

Activities run in the test's own process, so a test (or another activity) can wait until an
activity really runs on a worker before it acts: `started(key)` is set by the activity.
"""

import asyncio

from temporalio import activity

_STARTED: dict[str, asyncio.Event] = {}
INFOS: dict[str, activity.Info] = {}
"""The activity.Info of the async-completed activity of each key (for by-id handles)."""
SAW_CANCEL: set[str] = set()
"""Keys whose heartbeating activity was told to stop by its heartbeat."""


def started(key: str) -> asyncio.Event:
    """The event an activity of `key` sets once it runs."""
    return _STARTED.setdefault(key, asyncio.Event())


@activity.defn
async def heartbeat_until_cancelled(key: str) -> str:
    """Heartbeats every 100 ms until its cancellation arrives through a heartbeat response."""
    started(key).set()
    beat = 0
    try:
        while True:
            activity.heartbeat(beat)
            beat += 1
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        SAW_CANCEL.add(key)
        raise


@activity.defn
async def wait_until_started(key: str) -> str:
    """Returns once the activity of `key` runs on the worker."""
    await asyncio.wait_for(started(key).wait(), 30)
    return key


@activity.defn
async def complete_by_id_later(key: str) -> str:
    """Leaves its completion to whoever holds a handle (by id or token)."""
    INFOS[key] = activity.info()
    started(key).set()
    activity.raise_complete_async()


@activity.defn
async def quick(name: str) -> str:
    """Returns at once."""
    return name


CANCELLABLE_ACTIVITIES = [
    heartbeat_until_cancelled,
    wait_until_started,
    complete_by_id_later,
    quick,
]
