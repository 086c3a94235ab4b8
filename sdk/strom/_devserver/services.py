"""Starts Strom's own services (frontend, processors, indexer) on top of a running DevCluster."""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from schemas.topics import DEFAULT_PREFIX, DEV_SHARDS, Topology
from streams import connection as kafka_connection
from streams.exceptions import TopicAdminError
from strom._devserver import security
from strom._devserver.cluster import DevCluster
from strom._devserver.errors import DevServerError

if TYPE_CHECKING:
    from strom._services import ServiceSet


def dev_topology(bootstrap: str, prefix: str, shards: int | None) -> Topology:
    """The topology of cluster `prefix`: its own partition counts if it exists, else a new one's.

    A new cluster gets `shards` history shards and tasks partitions (`DEV_SHARDS` when None).

    Raises:
        DevServerError: `shards` was given and the existing cluster has another count.
    """
    try:
        found = Topology.from_cluster(bootstrap, prefix)
    except TopicAdminError:  # no such cluster yet
        return Topology.dev(prefix, DEV_SHARDS if shards is None else shards)
    if shards is not None and shards != found.shards:
        raise DevServerError(
            f"cluster {prefix!r} already has {found.shards} history shards; --shards {shards} "
            "applies only to a new cluster (--fresh wipes this one, or pick another "
            "--cluster-name or --data-dir)"
        )
    return found


def start_services(
    cluster: DevCluster,
    args: argparse.Namespace,
    extra_args: Mapping[str, Sequence[str]] | None = None,
) -> ServiceSet:
    """Starts Strom's services against `cluster` and returns them.

    `extra_args` are more command-line arguments by service name (`dynamic_config`).

    Contracts:
    - Each process is started with `start_new_session=True`; the caller stops them
      (SIGTERM to the process group, then SIGKILL) before stopping Kafka and Elasticsearch.
    - It returns only once the frontend accepts connections on `args.port`, or raises
      `DevServerError` with the failing service's log tail.
    """
    if args.fresh:  # the shards' RocksDB stores belong to the wiped Kafka's history
        shutil.rmtree(cluster.data_dir / "history-state", ignore_errors=True)
    from strom._services import SERVICE_NAMES, ServiceSet

    base = args.metrics_port
    if base and not 0 < base <= 65536 - len(SERVICE_NAMES):
        raise DevServerError(f"--metrics-port must be 1..{65536 - len(SERVICE_NAMES)} or 0")
    metrics_ports = {name: base + i for i, name in enumerate(SERVICE_NAMES)} if base else {}
    # The Kafka client settings reach this process's own clients (topic creation) and, through
    # a file, every service; a refusal is reported here, before any service starts.
    settings = security.kafka_client_settings(args, cluster.kafka.client_settings())
    kafka_connection.configure(settings)
    security.check_kafka_access(cluster.kafka_bootstrap, settings)
    properties = security.write_client_properties(settings, cluster.data_dir) if settings else None
    service_args = security.service_args(args, properties)
    for name, more in (extra_args or {}).items():
        service_args.setdefault(name, []).extend(more)
    version = getattr(args, "initial_failover_version", 1)
    service_args.setdefault("frontend", []).extend(["--initial-failover-version", str(version)])
    services = ServiceSet.start(
        cluster.kafka_bootstrap,
        cluster.es_url,
        cluster.data_dir,
        port=args.port,
        http_port=args.http_port,
        metrics_ports=metrics_ports,
        service_args=service_args,
        topology=dev_topology(
            cluster.kafka_bootstrap,
            getattr(args, "cluster_name", DEFAULT_PREFIX),
            getattr(args, "shards", None),
        ),
        matching_in_frontend=True,
    )
    # One replicator per remote-cluster record (`replicator.service`), supervised as the rest.
    config = ["--kafka-config-file", str(properties)] if properties else []
    common = ["--bootstrap", cluster.kafka_bootstrap, "--prefix", services.topology.prefix]
    services._spawn("replication", "replicator", [*common, *config])
    return services
