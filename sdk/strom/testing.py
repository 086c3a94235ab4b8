"""A real Strom for tests: Kafka, Elasticsearch and every service, with a connected Client.

Like `temporalio.testing.WorkflowEnvironment`, but the server is Strom::

    async with await StromEnvironment.start() as env:
        async with Worker(env.client, task_queue="q", workflows=[MyWorkflow]):
            await env.client.execute_workflow(MyWorkflow.run, id="wf", task_queue="q")
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from temporalio.client import Client

from schemas.topics import Topology
from strom._devserver import DevCluster, free_port
from strom._services import SERVICE_NAMES, ServiceSet


class StromEnvironment:
    """A running Strom and a `temporalio` Client connected to its frontend."""

    def __init__(
        self,
        client: Client,
        services: ServiceSet,
        cluster: DevCluster | None,
        data_dir: Path,
        owns_data_dir: bool,
    ) -> None:
        self.client = client
        self.services = services
        self._cluster = cluster
        self._data_dir = data_dir
        self._owns_data_dir = owns_data_dir

    @property
    def target(self) -> str:
        """host:port of the Temporal frontend."""
        return self.services.target

    @property
    def http_url(self) -> str:
        """Base URL of Temporal's HTTP API (``{http_url}/api/v1/...``)."""
        return self.services.http_url

    @classmethod
    async def start(
        cls,
        *,
        kafka_bootstrap: str | None = None,
        es_url: str | None = None,
        data_dir: Path | None = None,
        prefix: str | None = None,
        port: int | None = None,
        namespace: str = "default",
        metrics: bool = False,
        service_args: Mapping[str, Sequence[str]] | None = None,
        matching_in_frontend: bool = False,
    ) -> StromEnvironment:
        """Starts Strom and connects a Client.

        Args:
            kafka_bootstrap: An existing Kafka (default: $STROM_KAFKA_BOOTSTRAP, else a broker
                started here).
            es_url: An existing Elasticsearch (default: $STROM_ES_URL, else a node started here).
            data_dir: Where services keep state and logs (default: a temporary folder,
                removed by `shutdown`).
            prefix: Cluster name, i.e. topic prefix (default: a unique one, so environments
                sharing a broker do not see each other).
            port: Frontend port (default: a free one).
            namespace: The Client's namespace.
            metrics: Serve every service's Prometheus metrics, on free ports
                (`services.metrics_urls` says where).
            service_args: More command-line arguments of the services it names ("history",
                "matching", "visibility", "frontend", "worker"), e.g. history's limits.
            matching_in_frontend: Run the matching member in the frontend's process, as
                `strom server start-dev` does (default: a process of its own).
        """
        kafka_bootstrap = kafka_bootstrap or os.environ.get("STROM_KAFKA_BOOTSTRAP")
        es_url = es_url or os.environ.get("STROM_ES_URL")
        owns = data_dir is None
        data_dir = data_dir or Path(tempfile.mkdtemp(prefix="strom-env-"))
        cluster = None
        if not kafka_bootstrap or not es_url:
            kafka_port, es_port = free_port(), free_port()
            cluster = DevCluster(data_dir / "cluster", kafka_port=kafka_port, es_port=es_port)
            await asyncio.to_thread(cluster.start)
            kafka_bootstrap = kafka_bootstrap or cluster.kafka_bootstrap
            es_url = es_url or cluster.es_url
        topology = Topology(prefix or f"strom-{uuid.uuid4().hex[:8]}")
        try:
            services = await asyncio.to_thread(
                ServiceSet.start,
                kafka_bootstrap,
                es_url,
                data_dir,
                port or free_port(),
                topology,
                free_port(),
                {name: free_port() for name in SERVICE_NAMES} if metrics else None,
                service_args,
                matching_in_frontend,
            )
        except BaseException:
            if cluster is not None:
                cluster.stop()
            raise
        client = await Client.connect(services.target, namespace=namespace)
        return cls(client, services, cluster, data_dir, owns)

    async def shutdown(self) -> None:
        """Stops the services (and Kafka/Elasticsearch if this environment started them)."""
        await asyncio.to_thread(self.services.stop)
        if self._cluster is not None:
            await asyncio.to_thread(self._cluster.stop)
        if self._owns_data_dir:
            shutil.rmtree(self._data_dir, ignore_errors=True)

    async def __aenter__(self) -> StromEnvironment:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
