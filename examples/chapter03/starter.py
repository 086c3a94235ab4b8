"""Starts the chapter-3 workflow and prints what each service did on the way.

Usage: python examples/chapter03/starter.py [--address 127.0.0.1:7233]
"""

import argparse
import asyncio
import uuid

from service_workflow import TASK_QUEUE, ServiceArchitectureWorkflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client


async def main(address: str) -> None:
    print("=== Temporal Service Architecture Demonstration (on Strom) ===")
    print("1. Client connecting to the frontend...")
    client = await Client.connect(address)
    print("   Connected")
    workflow_id = f"architecture-demo-{uuid.uuid4().hex[:8]}"
    print(f"2. Starting workflow (ID: {workflow_id})")
    handle = await client.start_workflow(
        ServiceArchitectureWorkflow.run, id=workflow_id, task_queue=TASK_QUEUE
    )
    print(f"   Started: run {handle.result_run_id}")
    result = await handle.result()
    print(f"3. Result: {result}")
    print("4. History (events folded by the history processor from Kafka):")
    async for event in handle.fetch_history_events():
        print(f"   {event.event_id:3d} {EventType.Name(event.event_type)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", default="127.0.0.1:7233")
    asyncio.run(main(parser.parse_args().address))
