"""Runs one matching process: ``python -m matching_processor --bootstrap HOST:PORT ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from confluent_kafka.admin import AdminClient

from history_processor.client import HistoryClient
from matching_processor.config import MatchingConfig
from matching_processor.routing import DEFAULT_TQ_PARTITIONS
from matching_processor.service import MatchingService
from strom.topics import Topology

log = logging.getLogger("matching_processor")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parses the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m matching_processor",
        description="Strom matching process: owns partitions of <prefix>.tasks and serves "
        "worker long-polls over the internal gRPC service strom.matching.v1.Matching.",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--prefix", default="strom", help="cluster name / topic prefix")
    parser.add_argument("--grpc-host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--grpc-port", type=int, default=7235, help="internal gRPC port")
    parser.add_argument(
        "--advertise-host",
        default=None,
        help="host the frontend reaches this process at (default: --grpc-host, or 127.0.0.1 "
        "when binding all interfaces)",
    )
    parser.add_argument(
        "--reply-partition",
        type=int,
        required=True,
        help="this process's partition of <prefix>.replies, where history answers it",
    )
    parser.add_argument(
        "--tq-partitions",
        type=int,
        default=DEFAULT_TQ_PARTITIONS,
        help="partitions of a normal task queue",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> MatchingConfig:
    """Builds the service configuration from parsed arguments."""
    advertise = args.advertise_host
    if advertise is None:
        advertise = "127.0.0.1" if args.grpc_host in ("0.0.0.0", "::", "[::]") else args.grpc_host
    return MatchingConfig(
        bootstrap=args.bootstrap,
        prefix=args.prefix,
        grpc_host=args.grpc_host,
        grpc_port=args.grpc_port,
        advertise_host=advertise,
        n_tq_partitions=args.tq_partitions,
    )


def topology_from_kafka(bootstrap: str, prefix: str) -> Topology:
    """Strom's topology with the partition counts the cluster's topics really have."""
    topology = Topology(prefix=prefix)
    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=30).topics
    counts = {}
    for name in (topology.inbox, topology.tasks, topology.replies):
        meta = topics.get(name)
        if meta is None or meta.error is not None:
            raise SystemExit(
                f"topic {name} does not exist at {bootstrap}; create the cluster first"
            )
        counts[name] = len(meta.partitions)
    return Topology(
        prefix=prefix,
        shards=counts[topology.inbox],
        task_partitions=counts[topology.tasks],
        reply_partitions=counts[topology.replies],
    )


async def run(args: argparse.Namespace) -> None:
    """Runs the service until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    topology = await asyncio.to_thread(topology_from_kafka, args.bootstrap, args.prefix)
    history = HistoryClient(args.bootstrap, topology, args.reply_partition)
    history.start()
    try:
        async with MatchingService(config_from_args(args), history) as service:
            log.info("matching ready at %s (group %s)", service.address, service.config.group_id)
            await stop.wait()
            log.info("matching process stopping")
    finally:
        await asyncio.to_thread(history.close)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
