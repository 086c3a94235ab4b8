"""`python -m history_processor`: run history shards of a Strom cluster as one process."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from confluent_kafka import KafkaException

from history_processor import store
from history_processor.pending_limits import DEFAULT_PENDING_LIMIT, PendingLimits
from history_processor.processor import HistoryProcessor
from history_processor.settings import HistorySettings, configure
from schemas import connection
from schemas.clients.history import datagram_host
from schemas.namespaces import KafkaNamespaceRegistry, namespace_id, stance
from schemas.topics import DEFAULT_PREFIX, Topology
from schemas.visibility.attributes import ValueType
from streams import RocksDBStore, StreamApp, StreamsConfig, metrics, supervision
from streams.exceptions import StreamsError

_LIMIT_FLAGS = (
    ("max-pending-activities", "limit.numPendingActivities.error"),
    ("max-pending-child-workflows", "limit.numPendingChildExecutions.error"),
    ("max-pending-signals", "limit.numPendingSignals.error"),
    ("max-pending-cancel-requests", "limit.numPendingCancelRequests.error"),
)


def _limit(text: str) -> int:
    """A count flag: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or more, got {value}")
    return value


def pending_limits(args: argparse.Namespace) -> PendingLimits:
    """The pending-work caps of the command line."""
    return PendingLimits(
        activities=args.max_pending_activities,
        child_workflows=args.max_pending_child_workflows,
        signals=args.max_pending_signals,
        cancel_requests=args.max_pending_cancel_requests,
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of the history processor."""
    parser = argparse.ArgumentParser(
        prog="python -m history_processor",
        description=(
            "Run Strom's history processor: owns a share of the history shards (partitions "
            "of <prefix>.history.inbox) through the consumer group <prefix>.history, decides "
            "workflow events and commits them, their tasks and replies exactly once."
        ),
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="cluster name (topic prefix)")
    parser.add_argument(
        "--instance",
        default="0",
        help="stable id of this instance; unique among running instances (default: 0)",
    )
    parser.add_argument(
        "--state-dir", required=True, type=Path, help="folder of the shards' RocksDB stores"
    )
    defaults = HistorySettings()
    parser.add_argument(
        "--suggest-continue-as-new-count",
        type=_positive_int,
        default=defaults.suggest_continue_as_new_count,
        metavar="EVENTS",
        help="a started workflow task suggests continue-as-new from this many history events "
        "(Temporal's limit.historyCount.suggestContinueAsNew; default: %(default)s)",
    )
    parser.add_argument(
        "--suggest-continue-as-new-size",
        type=_positive_int,
        default=defaults.suggest_continue_as_new_size,
        metavar="BYTES",
        help="... or from this many bytes of history "
        "(Temporal's limit.historySize.suggestContinueAsNew; default: %(default)s)",
    )
    history = parser.add_argument_group(
        "history limits",
        "a change that takes a running run's history past an error limit terminates the run "
        "instead; past a warning limit each change logs a warning",
    )
    for flag, field, key, unit in _HISTORY_LIMIT_FLAGS:
        history.add_argument(
            f"--{flag}",
            type=_positive_int,
            default=getattr(defaults, field),
            metavar=unit,
            help=f"Temporal's {key} (default: %(default)s)",
        )
    parser.add_argument(
        "--max-batch-ms", type=int, default=5, help="longest a transaction stays open (ms)"
    )
    parser.add_argument(
        "--persistence-max-qps",
        type=float,
        default=9000.0,
        help="records per second this instance may produce to Kafka; above it, input waits "
        "(Temporal's history.persistenceMaxQPS; 0 = unlimited; default: 9000)",
    )
    limits = parser.add_argument_group(
        "per-workflow limits",
        "caps on a run's pending work (Temporal's limit.numPending*.error); a workflow task "
        "that would pass one fails with PENDING_*_LIMIT_EXCEEDED; 0 = no limit",
    )
    for flag, key in _LIMIT_FLAGS:
        limits.add_argument(
            f"--{flag}",
            type=_limit,
            default=DEFAULT_PENDING_LIMIT,
            metavar="N",
            help=f"Temporal's {key} (default: %(default)s)",
        )
    parser.add_argument(
        "--command-host",
        metavar="HOST",
        type=datagram_host,
        help="also take commands for owned shards over TCP on a free port of this interface, "
        "which the frontends and matching processes must reach; they find it in the "
        "consumer group and skip the inbox topic (default: the inbox topic only)",
    )
    metrics.add_port_argument(parser, "history processor")
    connection.add_arguments(parser)
    return parser


# (flag, HistorySettings field, Temporal's dynamic config key, unit)
_HISTORY_LIMIT_FLAGS = [
    (
        "history-count-limit-error",
        "history_count_limit_error",
        "limit.historyCount.error",
        "EVENTS",
    ),
    ("history-count-limit-warn", "history_count_limit_warn", "limit.historyCount.warn", "EVENTS"),
    ("history-size-limit-error", "history_size_limit_error", "limit.historySize.error", "BYTES"),
    ("history-size-limit-warn", "history_size_limit_warn", "limit.historySize.warn", "BYTES"),
]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Runs until SIGTERM/SIGINT; returns the exit code."""
    args = build_parser().parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    connection.from_args(args)  # Kafka TLS/SASL settings for every client of this process
    configure(
        HistorySettings(
            suggest_continue_as_new_count=args.suggest_continue_as_new_count,
            suggest_continue_as_new_size=args.suggest_continue_as_new_size,
            **{field: getattr(args, field) for _, field, _, _ in _HISTORY_LIMIT_FLAGS},
        )
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        topology = Topology.from_cluster(args.bootstrap, args.prefix)
    except (KafkaException, StreamsError) as exc:
        print(f"history_processor: cannot read the cluster's topics: {exc}", file=sys.stderr)
        return 1
    lag = [(args.bootstrap, topology.history_group, topology.inbox)]
    metrics.serve(args.metrics_port, args.metrics_host, service="history_processor", lag=lag)
    died: list[str] = []
    app: StreamApp | None = None

    def on_death(name: str, error: BaseException) -> None:
        died.append(name)
        if app is not None:
            app.stop()  # the loop ends after its transaction; the process exits non-zero

    namespaces = KafkaNamespaceRegistry(args.bootstrap, args.prefix)
    namespaces.on_death = on_death
    namespaces.start()

    def resolve_namespace_id(name: str) -> str:
        found = namespaces.get(name)
        return found.id if found is not None else namespace_id(args.prefix, name)

    config = StreamsConfig(
        bootstrap=args.bootstrap,
        app_id=topology.history_group,
        instance_id=args.instance,
        input_topics=(topology.inbox,),
        changelog_topic=topology.events,
        state_dir=args.state_dir,
        max_batch_ms=args.max_batch_ms,
        state_format=store.STATE_FORMAT,
        max_produce_records_per_second=args.persistence_max_qps,
        direct_host=args.command_host,
    )

    def custom_search_attributes(name: str) -> dict[str, ValueType]:
        found = namespaces.get(name)
        return found.custom_search_attributes() if found is not None else {}

    processor = HistoryProcessor(
        topology,
        resolve_namespace_id,
        search_attributes=custom_search_attributes,
        pending_limits=pending_limits(args),
        stance=lambda name: stance(namespaces.get(name), args.prefix),
    )
    try:
        app = StreamApp(config, processor, RocksDBStore(args.state_dir))
    except OSError as exc:  # the command port
        print(f"history_processor: cannot listen on {args.command_host}: {exc}", file=sys.stderr)
        namespaces.close()
        return 1
    app.on_partitions_changed = processor.forget_partitions
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.stop())
    try:
        app.run()
    except StreamsError as exc:
        print(f"history_processor: {exc}", file=sys.stderr)
        return 1
    finally:
        namespaces.close()
    if died:
        print(f"history_processor: thread {', '.join(died)} died", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
