"""The replication service: one replicator per remote cluster this cluster's records name.

`strom server start-dev` runs it beside the other services (`python -m replicator` without
``--remote-bootstrap``). Temporal's AddOrUpdateRemoteCluster records only the remote
frontend's address; a replicator needs the remote's Kafka and topic prefix. The prefix is
the remote cluster's name (Strom names a cluster by its prefix), and the Kafka bootstrap is
asked from the remote frontend itself: its GetClusterInfo answers with the header
`schemas.clusters.KAFKA_BOOTSTRAP_HEADER`. Asking on every (re)start, instead of copying
the address into the record when the remote is added, keeps the record Temporal's and
follows a remote whose Kafka moved. The service follows the records: a remote added (with
its connection enabled) gets a replicator, a remote removed or disabled loses it, and a
replicator that failed is started again after a backoff.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import grpc
from temporalio.api.workflowservice.v1 import GetClusterInfoRequest
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from replicator.loop import Replicator, ReplicatorConfig
from schemas.clusters import KAFKA_BOOTSTRAP_HEADER, KafkaClusterStore, RemoteCluster

log = logging.getLogger(__name__)

_ASK_TIMEOUT_S = 10.0
_BACKOFF_MAX_S = 60.0


class RemoteUnknownError(Exception):
    """A remote frontend could not say where its Kafka is."""


def remote_kafka(address: str) -> str:
    """The Kafka bootstrap of the Strom cluster whose frontend listens on ``address``.

    Raises:
        RemoteUnknownError: The frontend did not answer, or is not a Strom frontend.
    """
    try:
        with grpc.insecure_channel(address) as channel:
            stub = WorkflowServiceStub(channel)
            _, call = stub.GetClusterInfo.with_call(GetClusterInfoRequest(), timeout=_ASK_TIMEOUT_S)
            headers = dict(call.initial_metadata() or ())
    except grpc.RpcError as err:
        raise RemoteUnknownError(f"GetClusterInfo of {address} failed: {err}") from None
    bootstrap = headers.get(KAFKA_BOOTSTRAP_HEADER, "")
    if not isinstance(bootstrap, str) or not bootstrap:
        raise RemoteUnknownError(f"{address} does not name its Kafka (not a Strom frontend?)")
    return bootstrap


def wanted(records: list[RemoteCluster], prefix: str) -> dict[str, RemoteCluster]:
    """The remotes to replicate from: every record with its connection enabled, by name."""
    return {r.name: r for r in records if r.connection_enabled and r.name != prefix}


class Runner(Protocol):
    """What the service runs per remote: `loop.Replicator`."""

    def run(self) -> None:
        """Replicates until `stop`."""

    def stop(self) -> None:
        """Asks `run` to return."""


@dataclass
class _Running:
    record: RemoteCluster
    replicator: Runner
    thread: threading.Thread


class ReplicationService:
    """Runs and supervises one `Replicator` thread per wanted remote cluster.

    Args:
        bootstrap: This cluster's Kafka.
        prefix: This cluster's name.
        poll_s: How often the remote-cluster records are read again.
        resolve: Remote frontend address -> its Kafka bootstrap (tests replace it).
        make: Builds the replicator of one remote (tests replace it).
    """

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        poll_s: float = 5.0,
        resolve: Callable[[str], str] = remote_kafka,
        make: Callable[[ReplicatorConfig], Runner] = Replicator,
    ) -> None:
        self.bootstrap, self.prefix, self.poll_s = bootstrap, prefix, poll_s
        self._resolve = resolve
        self._make = make
        self._store = KafkaClusterStore(bootstrap, prefix)
        self._running: dict[str, _Running] = {}
        # By remote: when to try again, the attempt, and the record tried (a changed record
        # is tried at once).
        self._retry_at: dict[str, tuple[float, int, RemoteCluster | None]] = {}
        self._stop = threading.Event()

    def stop(self) -> None:
        """Asks `run` to stop every replicator and return."""
        self._stop.set()

    def run(self) -> None:
        """Follows the records until `stop`."""
        try:
            while not self._stop.is_set():
                try:
                    self.reconcile(self._store.list())
                except TimeoutError as exc:
                    log.warning("cannot read the remote-cluster records: %s", exc)
                self._stop.wait(self.poll_s)
        finally:
            for name in list(self._running):
                self._end(name)

    def running(self) -> list[str]:
        """The remotes replicated from now."""
        return sorted(n for n, r in self._running.items() if r.thread.is_alive())

    def reconcile(self, records: list[RemoteCluster], now: float | None = None) -> None:
        """Starts, stops and restarts replicators so that they match ``records``."""
        now = time.monotonic() if now is None else now
        want = wanted(records, self.prefix)
        for name in list(self._running):
            running = self._running[name]
            if name not in want or want[name] != running.record:
                self._end(name)  # removed, disabled or changed: a changed one starts again
            elif not running.thread.is_alive():
                self._end(name)
                self._backoff(name, now, running.record)
        for name, record in want.items():
            if name in self._running:
                continue
            retry = self._retry_at.get(name)
            if retry is not None and now < retry[0] and retry[2] in (None, record):
                continue
            try:
                remote = self._resolve(record.address)
            except RemoteUnknownError as exc:
                log.warning("not replicating from %s yet: %s", name, exc)
                self._backoff(name, now, record)
                continue
            self._begin(record, remote)

    def _begin(self, record: RemoteCluster, remote: str) -> None:
        config = ReplicatorConfig(
            self.bootstrap,
            self.prefix,
            remote,
            record.name,
            remote_initial_version=record.initial_failover_version,
        )
        replicator = self._make(config)

        def body() -> None:
            try:
                replicator.run()
            except Exception:  # its thread ends; reconcile starts it again after a backoff
                log.exception("replicator from %s failed", record.name)

        thread = threading.Thread(target=body, name=f"replicator-{record.name}", daemon=True)
        self._running[record.name] = _Running(record, replicator, thread)
        thread.start()
        log.info("replicating from %s (Kafka %s)", record.name, remote)

    def _end(self, name: str) -> None:
        running = self._running.pop(name)
        running.replicator.stop()
        running.thread.join(60)

    def _backoff(self, name: str, now: float, record: RemoteCluster) -> None:
        _, attempt, _ = self._retry_at.get(name, (0.0, 0, None))
        delay = min(_BACKOFF_MAX_S, 2.0**attempt)
        self._retry_at[name] = (now + delay, attempt + 1, record)
