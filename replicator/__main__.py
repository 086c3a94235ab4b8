"""`python -m replicator`: replicate a source cluster's global namespaces into this cluster."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from confluent_kafka import KafkaException

from replicator.loop import Replicator, ReplicatorConfig
from replicator.service import ReplicationService
from schemas import connection
from schemas.clusters import FAILOVER_VERSION_INCREMENT
from schemas.topics import DEFAULT_PREFIX
from streams import metrics, supervision
from streams.connection import KafkaConfigError, parse_pairs
from streams.exceptions import StreamsError


def build_parser() -> argparse.ArgumentParser:
    """The command line of the replicator."""
    parser = argparse.ArgumentParser(
        prog="python -m replicator",
        description="Run Strom's replicator: this cluster reads another cluster's history "
        "events topic and applies the batches of their shared global namespaces. Without "
        "--remote-bootstrap and --remote-prefix it replicates from every remote cluster "
        "this cluster's records name (AddOrUpdateRemoteCluster), following their changes.",
    )
    parser.add_argument("--bootstrap", required=True, help="this cluster's Kafka bootstrap")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="this cluster's name")
    parser.add_argument("--remote-bootstrap", help="the source cluster's Kafka bootstrap")
    parser.add_argument("--remote-prefix", help="the source cluster's name")
    parser.add_argument(
        "--remote-kafka-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka setting for the source cluster's clients (repeatable)",
    )
    parser.add_argument(
        "--remote-initial-failover-version",
        type=int,
        default=None,
        help="the failover versions the source cluster owns (default: from this cluster's "
        "remote-cluster record of it)",
    )
    metrics.add_port_argument(parser, "replicator")
    connection.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the replicator (or the replication service) until SIGTERM; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    if (args.remote_bootstrap is None) != (args.remote_prefix is None):
        parser.error("--remote-bootstrap and --remote-prefix go together")
    if args.prefix == args.remote_prefix:
        parser.error("--remote-prefix must name another cluster than --prefix")
    version = args.remote_initial_failover_version
    if version is not None and not 0 <= version < FAILOVER_VERSION_INCREMENT:
        parser.error(
            f"--remote-initial-failover-version must be 0..{FAILOVER_VERSION_INCREMENT - 1}"
        )
    try:
        remote_kafka = parse_pairs(args.remote_kafka_config)
    except KafkaConfigError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    connection.from_args(args)
    metrics.serve(args.metrics_port, args.metrics_host, service="replicator")
    runner: Replicator | ReplicationService
    try:
        if args.remote_bootstrap is None:
            runner = ReplicationService(args.bootstrap, args.prefix)
        else:
            config = ReplicatorConfig(
                args.bootstrap,
                args.prefix,
                args.remote_bootstrap,
                args.remote_prefix,
                remote_kafka,
                version,
            )
            runner = Replicator(config)
    except (KafkaException, StreamsError) as exc:
        print(f"replicator: cannot read the cluster's topics: {exc}", file=sys.stderr)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: runner.stop())
    try:
        runner.run()
    except (KafkaException, StreamsError, TimeoutError) as exc:
        print(f"replicator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
