"""Runs the chapter-3 workflow's worker against Strom (or any Temporal frontend).

Usage: python examples/chapter03/worker.py [--address 127.0.0.1:7233]
"""

import argparse
import asyncio
import contextlib
import logging

from service_workflow import TASK_QUEUE, ServiceArchitectureWorkflow
from temporalio.client import Client
from temporalio.worker import Worker


async def main(address: str) -> None:
    client = await Client.connect(address)
    worker = Worker(client, task_queue=TASK_QUEUE, workflows=[ServiceArchitectureWorkflow])
    print(f"Worker polling task queue {TASK_QUEUE!r} at {address}; Ctrl-C stops it.")
    await worker.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="127.0.0.1:7233")
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().address))
