"""streams.metrics: the interceptor and MeasuredServer, recording calls, the endpoint, errors."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from matching_processor.queues import QueuedTask, QueueKey, TaskQueues
from streams import metrics

_SERVICE = "test.metrics.v1.Probe"


def value(name: str, **labels: str) -> float:
    """The current value of one sample (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _ok(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return request


async def _not_found(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    raise AssertionError("abort returned")


async def _crash(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    raise RuntimeError("bug")


@pytest_asyncio.fixture(loop_scope="function", params=["interceptor", "generic", "registered"])
async def channel(request: pytest.FixtureRequest) -> AsyncIterator[grpc.aio.Channel]:
    """A server of the probe methods, measured by the interceptor or by `MeasuredServer`
    (which generated code gives generic handlers, and registered ones in newer releases)."""
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(fn)
        for name, fn in (("Ok", _ok), ("NotFound", _not_found), ("Crash", _crash))
    }
    if request.param == "interceptor":
        server = grpc.aio.server(interceptors=metrics.grpc_interceptors())
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(_SERVICE, handlers),))
    else:
        server = grpc.aio.server()
        measured = metrics.MeasuredServer(server)
        if request.param == "generic":
            measured.add_generic_rpc_handlers(
                (grpc.method_handlers_generic_handler(_SERVICE, handlers),)
            )
        else:
            measured.add_registered_method_handlers(_SERVICE, handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as chan:
        yield chan
    await server.stop(None)


async def _call(channel: grpc.aio.Channel, method: str) -> grpc.StatusCode:
    try:
        await channel.unary_unary(f"/{_SERVICE}/{method}")(b"x", timeout=10)
    except grpc.aio.AioRpcError as err:
        return err.code()
    return grpc.StatusCode.OK


@pytest.mark.asyncio(loop_scope="function")
async def test_interceptor_counts_calls_by_method_and_status(channel: grpc.aio.Channel) -> None:
    before = {
        "ok": value("service_requests_total", operation="Ok", status_code="OK"),
        "nf": value("service_requests_total", operation="NotFound", status_code="NOT_FOUND"),
        "nf_named": value("service_errors_entity_not_found_total", operation="NotFound"),
        "crash": value("service_errors_total", operation="Crash"),
        "latency": value("service_latency_count", operation="Ok", status_code="OK"),
    }
    assert await _call(channel, "Ok") == grpc.StatusCode.OK
    assert await _call(channel, "Ok") == grpc.StatusCode.OK
    assert await _call(channel, "NotFound") == grpc.StatusCode.NOT_FOUND
    assert await _call(channel, "Crash") == grpc.StatusCode.UNKNOWN

    assert value("service_requests_total", operation="Ok", status_code="OK") == before["ok"] + 2
    assert value("service_latency_count", operation="Ok", status_code="OK") == before["latency"] + 2
    nf = value("service_requests_total", operation="NotFound", status_code="NOT_FOUND")
    assert nf == before["nf"] + 1
    assert value("service_errors_entity_not_found_total", operation="NotFound") == (
        before["nf_named"] + 1
    )
    typed = value(
        "service_error_with_type_total", operation="NotFound", error_type="serviceerror_NotFound"
    )
    assert typed >= 1
    # A handler that raised: UNKNOWN, counted as an unexpected error.
    assert value("service_errors_total", operation="Crash") == before["crash"] + 1
    assert value("service_requests_total", operation="Crash", status_code="UNKNOWN") >= 1


@pytest.mark.asyncio(loop_scope="function")
async def test_unknown_methods_are_unimplemented_and_not_counted(
    channel: grpc.aio.Channel,
) -> None:
    for _ in range(2):
        assert await _call(channel, "Missing") == grpc.StatusCode.UNIMPLEMENTED
    assert await _call(channel, "Ok") == grpc.StatusCode.OK
    assert value("service_requests_total", operation="Missing", status_code="UNIMPLEMENTED") == 0


def test_measured_handlers_keep_only_methods_they_serve() -> None:
    """A client chooses the method names it calls: names no method serves are not kept."""

    class Details(grpc.HandlerCallDetails):
        def __init__(self, method: str) -> None:
            self.method = method
            self.invocation_metadata = ()

    inner = grpc.method_handlers_generic_handler(
        _SERVICE, {"Ok": grpc.unary_unary_rpc_method_handler(_ok)}
    )
    handlers = metrics._MeasuredHandlers(inner)
    first = handlers.service(Details(f"/{_SERVICE}/Ok"))
    assert first is not None and first.unary_unary is not _ok
    assert handlers.service(Details(f"/{_SERVICE}/Ok")) is first  # wrapped once
    for n in range(100):
        assert handlers.service(Details(f"/{_SERVICE}/Nope{n}")) is None
    assert list(handlers._by_method) == [f"/{_SERVICE}/Ok"]


def test_recording_calls_move_their_metrics() -> None:
    op = {"operation": "HistoryCacheGetOrCreate"}
    requests, misses = value("cache_requests_total", **op), value("cache_miss_total", **op)
    metrics.mutable_state_read(hit=True)
    metrics.mutable_state_read(hit=False)
    assert value("cache_requests_total", **op) == requests + 2
    assert value("cache_miss_total", **op) == misses + 1

    op = {"operation": "TransferActiveTaskActivityTask"}
    count, total = value("task_latency_queue_count", **op), value("task_latency_queue_sum", **op)
    metrics.task_arrived({"task_kind": "activity", "schedule_time_ms": 1_000}, 1_250)
    assert value("task_latency_queue_count", **op) == count + 1
    assert value("task_latency_queue_sum", **op) == pytest.approx(total + 0.25)

    kind = {"task_type": "Workflow", "task_queue_kind": "Sticky"}
    hits, empty = value("poll_success_total", **kind), value("poll_timeouts_total", **kind)
    metrics.poll_done("workflow", True, got_task=True)
    metrics.poll_done("workflow", True, got_task=False)
    assert value("poll_success_total", **kind) == hits + 1
    assert value("poll_timeouts_total", **kind) == empty + 1

    count = value("shard_transaction_latency_count")
    commits = value("persistence_latency_count", operation="CommitTransaction")
    metrics.transaction_committed(0.0, 0.0)
    assert value("shard_transaction_latency_count") == count + 1
    assert value("persistence_latency_count", operation="CommitTransaction") == commits + 1


def _task(namespace: str, queue: str, kind: str, queue_kind: str, offset: int) -> QueuedTask:
    record = {
        "namespace": namespace,
        "task_queue": queue,
        "task_kind": kind,
        "task_queue_partition": 0,
        "task_queue_kind": queue_kind,
        "workflow_id": f"wf-{offset}",
        "run_id": "run",
        "scheduled_event_id": 2,
        "attempt": 1,
        "schedule_time_ms": 0,
        "schedule_to_start_timeout_ms": 0,
    }
    return QueuedTask(record, 0, offset)


def test_matching_backlog_and_sync_matches_are_read_at_scrape() -> None:
    queues = TaskQueues(lambda key: 0)
    metrics.watch_matching(queues)
    labels = {"namespace": "ns-metrics", "taskqueue": "orders", "task_type": "Activity"}
    for offset in range(3):
        queues.offer(_task("ns-metrics", "orders", "activity", "normal", offset), 0)
    queues.offer(_task("ns-metrics", "sticky-abc", "workflow", "sticky", 3), 0)
    assert value("approximate_backlog_count", **labels) == 3
    sticky = {"namespace": "ns-metrics", "taskqueue": "__sticky__", "task_type": "Workflow"}
    assert value("approximate_backlog_count", **sticky) == 1
    synced = value("poll_success_sync_total")
    queues.metrics.sync_matches += 2
    assert value("poll_success_sync_total") == synced + 2
    key = QueueKey("ns-metrics", "orders", "activity", 0)
    assert queues.backlog_len(key) == 3


def test_endpoint_serves_parsable_metrics_and_zero_disables() -> None:
    assert metrics.serve(0, service="probe") is None
    server = metrics.serve(_free_port(), service="probe")
    assert server is not None
    try:
        metrics.mutable_state_read(hit=False)
        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["cache_miss"].type == "counter"
        assert any(s.value >= 1 for s in families["cache_miss"].samples)
        assert families["approximate_backlog_count"].type == "gauge"
        assert not any(s.name.endswith("_created") for f in families.values() for s in f.samples)
    finally:
        server.close()


def test_a_taken_or_bad_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        message = f"probe: cannot serve metrics on 127.0.0.1:{port}"
        with pytest.raises(SystemExit, match=re.escape(message)):
            metrics.serve(port, service="probe")
    with pytest.raises(SystemExit, match=re.escape("--metrics-port must be 1..65535")):
        metrics.serve(70000, service="probe")


def test_schema_lists_every_family_the_registry_exports() -> None:
    exported = {family.name for family in REGISTRY.collect()}
    assert set(metrics.SCHEMA) <= exported


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stats(client: str, requests: dict[str, dict[str, int]], kind: str = "producer") -> str:
    """A librdkafka statistics report of one client with `requests` per broker."""
    brokers = {broker: {"req": req} for broker, req in requests.items()}
    return json.dumps({"name": client, "client_id": "cid", "type": kind, "brokers": brokers})


def test_kafka_statistics_count_each_clients_growth_by_api() -> None:
    produce = {"client_type": "producer", "client_id": "cid", "api": "Produce"}
    end_txn = {**produce, "api": "EndTxn"}
    before, before_end = (
        value("kafka_client_requests_total", **produce),
        value("kafka_client_requests_total", **end_txn),
    )
    # Totals since each client started: the counter gets what grew, per client and broker.
    metrics.kafka_statistics(_stats("t#producer-1", {"b1": {"Produce": 5, "EndTxn": 1}}))
    metrics.kafka_statistics(_stats("t#producer-1", {"b1": {"Produce": 8, "EndTxn": 1}}))
    metrics.kafka_statistics(
        _stats("t#producer-2", {"b1": {"Produce": 2}, "b2": {"Produce": 1, "Fetch": 0}})
    )
    assert value("kafka_client_requests_total", **produce) == before + 8 + 3
    assert value("kafka_client_requests_total", **end_txn) == before_end + 1
    # A report that cannot be read is skipped, never raised into librdkafka's callback.
    metrics.kafka_statistics("not json")
    metrics.kafka_statistics(json.dumps({"brokers": {}}))
    assert value("kafka_client_requests_total", **produce) == before + 11
