"""Runs one matching process: ``python -m matching_processor --bootstrap HOST:PORT ...``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from confluent_kafka import KafkaException

from matching_processor.config import MatchingConfig, advertised_host
from matching_processor.exceptions import MatchingError
from matching_processor.service import MatchingService
from schemas import connection
from schemas.clients.history import HistoryClient, add_reply_datagram_argument
from schemas.topics import Topology
from streams import event_loop, metrics, supervision
from streams.exceptions import StreamsError
from streams.grpc_server import BindError

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
    add_reply_datagram_argument(parser)
    parser.add_argument("--log-level", default="INFO", help="logging level")
    metrics.add_port_argument(parser, "matching processor")
    connection.add_arguments(parser)
    args = parser.parse_args(argv)
    connection.from_args(args)  # Kafka TLS/SASL settings for every client of this process
    return args


def config_from_args(args: argparse.Namespace, topology: Topology) -> MatchingConfig:
    """Builds the service configuration from parsed arguments and the cluster's topology."""
    advertise = args.advertise_host or advertised_host(args.grpc_host)
    return MatchingConfig(
        bootstrap=args.bootstrap,
        prefix=args.prefix,
        grpc_host=args.grpc_host,
        grpc_port=args.grpc_port,
        advertise_host=advertise,
        n_tq_partitions=topology.tq_partitions,
    )


async def run(args: argparse.Namespace) -> int:
    """Runs the service until SIGINT or SIGTERM, or a background thread dies; the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    died: list[str] = []

    def on_death(name: str, error: BaseException) -> None:
        died.append(name)  # list.append is atomic; the event is the loop's
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        topology = await asyncio.to_thread(Topology.from_cluster, args.bootstrap, args.prefix)
    except (KafkaException, StreamsError) as exc:
        raise SystemExit(f"matching_processor: cannot read the cluster's topics: {exc}") from exc
    lag = [(args.bootstrap, topology.matching_group, topology.tasks)]
    metrics.serve(args.metrics_port, args.metrics_host, service="matching_processor", lag=lag)
    history = HistoryClient(
        args.bootstrap, topology, args.reply_partition, args.reply_datagram_host
    )
    history.on_death = on_death
    history.start()
    config = config_from_args(args, topology)
    try:
        async with MatchingService(config, history, on_death=on_death) as service:
            log.info("matching ready at %s (group %s)", service.address, service.config.group_id)
            await stop.wait()
            log.info("matching process stopping")
    except (BindError, MatchingError) as exc:
        log.error("%s", exc)
        return 1
    finally:
        await asyncio.to_thread(history.close)
    if died:
        log.critical("stopped: thread %s died", ", ".join(died))
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.exit(event_loop.run(run(args)))


if __name__ == "__main__":
    main()
