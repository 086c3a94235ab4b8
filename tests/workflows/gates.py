"""Gates a test opens to let an activity finish, and a hold that keeps a workflow task busy.

Activities and workflow code of the query tests run in the test's own process, so a set of
open gate names is all the coordination they need. Workflows import this module as a
passthrough (the sandbox would otherwise give them a copy of their own).
"""

import asyncio
import time

from temporalio import activity

_OPEN: set[str] = set()


def open_gate(name: str) -> None:
    """Lets every `wait_for_gate(name)` activity finish."""
    _OPEN.add(name)


def hold(seconds: float) -> None:
    """Blocks the calling workflow task (a busy worker), well below the deadlock detector's 2 s."""
    time.sleep(seconds)


@activity.defn
async def wait_for_gate(name: str) -> str:
    """Returns once the test opened gate `name`."""
    while name not in _OPEN:
        await asyncio.sleep(0.05)
    return name
