"""An activity that counts its executions per attempt, for the dispatch fault tests."""

import asyncio
from collections import Counter

from temporalio import activity

EXECUTIONS: Counter[tuple[str, str, int]] = Counter()
"""(workflow id, activity id, attempt) -> how often a worker of this process ran it."""


@activity.defn
async def counted_greet(name: str) -> str:
    """Notes this attempt's execution, takes a moment (so dispatch is under way when a
    process dies), and greets."""
    info = activity.info()
    EXECUTIONS[(info.workflow_id, info.activity_id, info.attempt)] += 1
    await asyncio.sleep(0.05)
    return f"Hello, {name}!"
