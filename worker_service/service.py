"""One SDK worker per namespace on ``temporal-sys-per-ns-tq``, following the namespace list."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.workflowservice.v1 import ListNamespacesRequest
from temporalio.client import Client
from temporalio.worker import Worker

from schemas.schedules import names
from worker_service.batcher.activities import BatcherActivities
from worker_service.batcher.workflow import BatchWorkflow
from worker_service.deadletters.activities import DeadLetterActivities, KafkaAddress
from worker_service.deadletters.workflow import DeadLettersWorkflow
from worker_service.retention.activities import RetentionActivities
from worker_service.retention.starter import RetentionSettings, ensure_all
from worker_service.retention.workflow import ReclaimNamespaceWorkflow, RetentionWorkflow
from worker_service.scheduler.activities import SchedulerActivities
from worker_service.scheduler.workflow import SchedulerWorkflow

_log = logging.getLogger(__name__)

REFRESH_S = 10.0
"""How often the namespace list is read again."""


def namespace_worker(client: Client, namespace: str, kafka: KafkaAddress | None = None) -> Worker:
    """The worker of one namespace's system workflows (the dead-letter one only with ``kafka``)."""
    ns_client = Client(
        client.service_client, namespace=namespace, data_converter=client.data_converter
    )
    activities = SchedulerActivities(client)
    batcher = BatcherActivities(client)
    cleaner = RetentionActivities(client)
    workflows: list[type] = [
        SchedulerWorkflow,
        BatchWorkflow,
        RetentionWorkflow,
        ReclaimNamespaceWorkflow,
    ]
    extra: list[Callable[..., Any]] = []
    if kafka is not None:
        letters = DeadLetterActivities(kafka)
        workflows.append(DeadLettersWorkflow)
        extra = [letters.list_letters, letters.replay_letters]
    return Worker(
        ns_client,
        task_queue=names.TASK_QUEUE,
        workflows=workflows,
        activities=[
            activities.start_workflow,
            activities.cancel_workflow,
            activities.terminate_workflow,
            activities.watch_workflow,
            batcher.run_batch,
            cleaner.delete_expired,
            cleaner.delete_all,
            cleaner.remove_namespace,
            *extra,
        ],
        identity=f"strom-worker-service@{namespace}",
        # System workflows are few and light: a handful of long-polls per namespace, not the
        # SDK's default ten, keeps an idle namespace cheap for the frontend and matching.
        max_concurrent_workflow_task_polls=2,
        max_concurrent_activity_task_polls=1,
    )


@dataclass
class WorkerService:
    """Runs and stops the per-namespace workers as namespaces come and go."""

    client: Client
    refresh_s: float = REFRESH_S
    kafka: KafkaAddress | None = None
    workers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    ensured: dict[str, float] = field(default_factory=dict)  # system workflows started, when

    async def active_namespaces(self) -> set[str]:
        """Registered namespaces (deprecated and deleted ones start nothing new)."""
        found: set[str] = set()
        token = b""
        while True:
            page = await self.client.workflow_service.list_namespaces(
                ListNamespacesRequest(page_size=100, next_page_token=token)
            )
            for ns in page.namespaces:
                if ns.namespace_info.state == NamespaceState.NAMESPACE_STATE_REGISTERED:
                    found.add(ns.namespace_info.name)
            token = page.next_page_token
            if not token:
                return found

    async def sync(self) -> None:
        """Starts workers of new namespaces and stops those of gone ones."""
        try:
            wanted = await self.active_namespaces()
        except Exception as err:
            _log.warning("cannot list namespaces: %s", err)
            return
        for name in sorted(wanted - self.workers.keys()):
            _log.info("starting the system worker of namespace %s", name)
            worker = namespace_worker(self.client, name, self.kafka)
            self.workers[name] = asyncio.create_task(worker.run(), name=f"worker-{name}")
        for name in sorted(self.workers.keys() - wanted):
            _log.info("stopping the system worker of namespace %s", name)
            self.workers.pop(name).cancel()
        for name, task in list(self.workers.items()):
            if task.done():
                # A worker that died (e.g. a fatal poll error) starts again on this refresh.
                self.workers.pop(name)
                if not task.cancelled() and task.exception() is not None:
                    _log.warning("system worker of %s ended: %s", name, task.exception())
        await ensure_all(self.client, wanted, self.retention, self.ensured, time.monotonic())

    async def run(self, stop: asyncio.Event) -> None:
        """Follows the namespace list until ``stop`` is set, then stops every worker."""
        try:
            while not stop.is_set():
                await self.sync()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.refresh_s)
        finally:
            for task in self.workers.values():
                task.cancel()
            await asyncio.gather(*self.workers.values(), return_exceptions=True)
            self.workers.clear()
