"""Every service's Prometheus endpoint on a real Strom: scraped over plain HTTP, parsed with
prometheus_client's parser, and checked to move when a workflow runs."""

from __future__ import annotations

import asyncio
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.service import RPCError
from temporalio.worker import Worker

from helpers import eventually
from strom.testing import StromEnvironment
from tests.workflows.activities import greet
from tests.workflows.one_activity import OneActivityWorkflow

pytestmark = [pytest.mark.timeout(300)]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample an endpoint serves, by name and labels."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        text = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lbls), v in samples.items() if n == name and want <= lbls)


def series(samples: Samples, name: str) -> list[dict[str, str]]:
    """The label sets of every sample of `name`."""
    return [dict(lbls) for (n, lbls), _ in samples.items() if n == name]


@pytest_asyncio.fixture(scope="module")
async def env(
    kafka_bootstrap: str, es_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StromEnvironment]:
    strom = await StromEnvironment.start(
        kafka_bootstrap=kafka_bootstrap,
        es_url=es_url,
        data_dir=Path(tmp_path_factory.mktemp("metrics")),
        metrics=True,
    )
    try:
        yield strom
    finally:
        await strom.shutdown()


async def test_every_service_exports_what_a_workflow_run_did(env: StromEnvironment) -> None:
    urls = env.services.metrics_urls
    assert set(urls) == {"frontend", "history", "matching", "visibility"}
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())
    before = {name: await asyncio.to_thread(scrape, url) for name, url in urls.items()}

    tq = f"metrics-{uuid.uuid4().hex[:8]}"
    # No eager activities: the activity task goes through matching like any other.
    async with Worker(
        env.client,
        task_queue=tq,
        workflows=[OneActivityWorkflow],
        activities=[greet],
        disable_eager_activity_execution=True,
    ):
        result = await env.client.execute_workflow(
            OneActivityWorkflow.run, "metrics", id=f"wf-{tq}", task_queue=tq
        )
    assert result == "Hello, metrics!"
    with pytest.raises(RPCError):  # one failed call: NOT_FOUND
        await env.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace="default", execution=WorkflowExecution(workflow_id=f"none-{tq}")
            )
        )

    def moved(service: str, name: str, at_least: float = 1, **labels: str) -> None:
        after = scrape(urls[service])
        grown = total(after, name, **labels) - total(before[service], name, **labels)
        assert grown >= at_least, (service, name, labels, grown)

    def check_frontend() -> bool:
        start, ok = "StartWorkflowExecution", grpc.StatusCode.OK.name
        moved("frontend", "service_requests_total", operation=start, status_code=ok)
        moved("frontend", "service_latency_count", operation=start, status_code=ok)
        moved("frontend", "service_requests_total", operation="PollWorkflowTaskQueue")
        moved("frontend", "service_requests_total", operation="RespondActivityTaskCompleted")
        describe = "DescribeWorkflowExecution"
        moved("frontend", "service_errors_entity_not_found_total", operation=describe)
        moved("frontend", "service_requests_total", operation=describe, status_code="NOT_FOUND")
        return True

    def check_history() -> bool:
        moved("history", "shard_transaction_latency_count", 2)
        moved("history", "persistence_latency_count", operation="CommitTransaction")
        moved("history", "persistence_latency_count", operation="Produce")
        moved("history", "cache_requests_total", 2, operation="HistoryCacheGetOrCreate")
        return True

    def check_matching() -> bool:
        moved("matching", "poll_success_total", task_type="Workflow", task_queue_kind="Normal")
        moved("matching", "poll_success_total", task_type="Workflow", task_queue_kind="Sticky")
        moved("matching", "poll_success_total", task_type="Activity")
        # The worker was polling before the start: its first task was handed over at once.
        moved("matching", "poll_success_sync_total")
        moved("matching", "task_latency_queue_count", operation="TransferActiveTaskWorkflowTask")
        moved("matching", "task_latency_queue_count", operation="TransferActiveTaskActivityTask")
        moved("matching", "service_requests_total", operation="PollActivityTaskQueue")
        return True

    def check_visibility() -> bool:
        upsert = "UpsertWorkflowExecution"
        moved("visibility", "visibility_persistence_latency_count", operation=upsert)
        moved("visibility", "visibility_persistence_requests_total", operation=upsert)
        return True

    for check in (check_frontend, check_history, check_matching, check_visibility):
        await asyncio.to_thread(eventually, check, 30)

    # Consumer lag: one series per partition of the topic each group consumes.
    topology = env.services.topology
    for service, group, topic, partitions in (
        ("history", topology.history_group, topology.inbox, topology.shards),
        ("matching", topology.matching_group, topology.tasks, topology.task_partitions),
        ("visibility", topology.indexer_group, topology.visibility, topology.shards),
    ):
        samples = await asyncio.to_thread(scrape, urls[service])
        lags = series(samples, "kafka_consumergroup_lag")
        assert {(s["consumergroup"], s["topic"]) for s in lags} == {(group, topic)}, lags
        assert sorted(int(s["partition"]) for s in lags) == list(range(partitions))
        assert total(samples, "kafka_consumergroup_lag") >= 0
