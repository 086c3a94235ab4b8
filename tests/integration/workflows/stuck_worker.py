"""A worker process that takes a HandOver workflow task and hangs in it until it is killed."""

import asyncio
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from tests.workflows.handover import StuckHandOverWorkflow


async def main(target: str, task_queue: str) -> None:
    client = await Client.connect(target)
    # debug_mode turns off deadlock detection: the task must hang, not fail.
    worker = Worker(
        client, task_queue=task_queue, workflows=[StuckHandOverWorkflow], debug_mode=True
    )
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
