"""The `strom` command line: `server start-dev`, and `topics`, `history`, `replay` from Kafka."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

from schemas.topics import DEV_SHARDS
from strom._devserver import (
    DevCluster,
    DevServerError,
    default_data_dir,
    dynamic_config,
    security,
)
from strom._devserver.services import start_services
from strom._devserver.webui import DEFAULT_UI_PORT, WebUi, start_web_ui
from strom._services import ServiceSet
from strom._tools_cli import COMMANDS as KAFKA_COMMANDS
from strom._tools_cli import add_commands as add_kafka_commands
from strom._tools_cli import add_dlq_command
from strom._tools_cli import run as run_kafka_command

READY_BANNER = "Strom dev server is ready."
DEFAULT_METRICS_PORT = 9233
"""The frontend's metrics port in `start-dev`; the other services take the next three."""


MAX_DEV_SHARDS = 256


def _shard_count(text: str) -> int:
    """`--shards`: a whole number from 1 to MAX_DEV_SHARDS."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= n <= MAX_DEV_SHARDS:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_DEV_SHARDS}, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the `strom` command."""
    parser = argparse.ArgumentParser(
        prog="strom",
        description="Strom: a Temporal-compatible durable-execution server on Apache Kafka.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    server = commands.add_parser(
        "server", help="run a Strom server", description="Run a Strom server."
    )
    server_commands = server.add_subparsers(dest="server_command", metavar="COMMAND", required=True)
    add_kafka_commands(commands)
    add_dlq_command(commands)
    start_dev = server_commands.add_parser(
        "start-dev",
        help="run Kafka, Elasticsearch and Strom locally in the foreground",
        description=(
            "Start a real single-node Apache Kafka broker (KRaft) and a real Elasticsearch node "
            "on 127.0.0.1, then Strom's services on top of them (history processor, visibility "
            "indexer, and the Temporal frontend with a matching member in its process, each its "
            "own process, logs in DIR/logs), then Temporal's Web UI pointed at the frontend, and"
            " print where to connect. The first run downloads Kafka and Elasticsearch from Maven"
            " Central (needs Java 17+ and Maven) and builds the Web UI from its Go module (needs"
            " Go; without it the UI is skipped with a warning) into $STROM_HOME or "
            "~/.cache/strom; later runs reuse the download and the data. A service that crashes "
            "is started again with backoff (1 s doubling up to 30 s); Kafka, Elasticsearch or "
            "the UI exiting ends the run. Runs until Ctrl-C or SIGTERM, then stops every process"
            " it started."
        ),
    )
    start_dev.add_argument(
        "--fresh", action="store_true", help="wipe the data directory first (an empty cluster)"
    )
    start_dev.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where Kafka, Elasticsearch and Strom keep data and logs "
        f"(default: {default_data_dir()})",
    )
    start_dev.add_argument(
        "--kafka-port",
        type=int,
        default=19092,
        metavar="PORT",
        help="Kafka client port; its KRaft controller uses PORT+1 (default: %(default)s)",
    )
    start_dev.add_argument(
        "--es-port",
        type=int,
        default=19200,
        metavar="PORT",
        help="Elasticsearch HTTP port; its transport uses PORT+100 (default: %(default)s)",
    )
    start_dev.add_argument(
        "--port",
        type=int,
        default=7233,
        metavar="PORT",
        help="port of Strom's Temporal gRPC frontend (default: %(default)s)",
    )
    start_dev.add_argument(
        "--http-port",
        type=int,
        default=7243,
        metavar="PORT",
        help="port of Temporal's HTTP API (default: %(default)s); 0 turns it off",
    )
    start_dev.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        metavar="PORT",
        help="Prometheus metrics of the frontend (with its matching member) on PORT, of the "
        "history service on PORT+1 and of the visibility indexer on PORT+3 (PORT+2 stays "
        "free for a matching process; default: %(default)s); 0 turns them off",
    )
    start_dev.add_argument(
        "--ui-port",
        type=int,
        default=DEFAULT_UI_PORT,
        metavar="PORT",
        help="port of the Temporal Web UI (default: %(default)s)",
    )
    start_dev.add_argument(
        "--headless", action="store_true", help="do not start the Temporal Web UI"
    )
    start_dev.add_argument(
        "--cluster-name",
        default="strom",
        metavar="NAME",
        help="this cluster's name, also its Kafka topic and index prefix; global namespaces "
        "name their clusters by it (default: %(default)s)",
    )
    start_dev.add_argument(
        "--shards",
        type=_shard_count,
        default=None,
        metavar="N",
        help=f"history shards of a new cluster, also its tasks topic's partition count "
        f"(default: {DEV_SHARDS}); an existing cluster keeps the count it was created with",
    )
    start_dev.add_argument(
        "--initial-failover-version",
        type=int,
        default=1,
        metavar="N",
        help="the failover versions this cluster owns, 0..9, unique among replicating "
        "clusters (Temporal's initial_failover_version; default: %(default)s)",
    )
    security.add_arguments(start_dev)
    start_dev.add_argument(
        "--dynamic-config-value",
        action="append",
        default=[],
        type=dynamic_config.parse_pair,
        metavar="KEY=VALUE",
        help=dynamic_config.help_text(),
    )
    return parser


def _banner(
    cluster: DevCluster,
    args: argparse.Namespace,
    services: Sequence[object],
    ui: WebUi | None = None,
    metrics_urls: Mapping[str, str] | None = None,
) -> str:
    metrics_urls = metrics_urls or {}
    lines = [READY_BANNER]
    if services:
        lines.append(f"  Temporal frontend:  127.0.0.1:{args.port}")
        if args.http_port:
            lines.append(f"  HTTP API:           http://127.0.0.1:{args.http_port}/api/v1")
        for name, url in metrics_urls.items():
            lines.append(f"  {name.capitalize() + ' metrics:':20}{url}")
    if ui is not None:
        lines.append(f"  Temporal Web UI:    {ui.url}")
    lines += [
        f"  Kafka bootstrap:    {cluster.kafka_bootstrap}",
        f"  Elasticsearch URL:  {cluster.es_url}",
        f"  Data directory:     {cluster.data_dir}",
        f"  Logs:               {cluster.kafka.log_path}",
        f"                      {cluster.elasticsearch.log_path}",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


def _dead(cluster: DevCluster, ui: WebUi | None = None) -> str | None:
    for node in (cluster.kafka, cluster.elasticsearch, ui):
        if node is not None and node.process is not None and node.process.poll() is not None:
            return (
                f"{node.process.name} exited unexpectedly (code {node.process.poll()}); "
                f"its log is {node.log_path}:\n{node.process.log_tail()}"
            )
    return None


def start_dev(args: argparse.Namespace) -> int:
    """Runs `strom server start-dev` until interrupted; returns the exit code."""
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    settings = dynamic_config.service_flags(args.dynamic_config_value)
    if settings.warning is not None:
        print(f"strom: warning: {settings.warning}", file=sys.stderr, flush=True)
    cluster = DevCluster(
        data_dir,
        kafka_port=args.kafka_port,
        es_port=args.es_port,
        fresh=args.fresh,
        kafka_sasl_users=security.sasl_users(args),
    )
    services: ServiceSet | None = None
    ui: WebUi | None = None
    failure: str | None = None
    try:
        cluster.start()
        services = start_services(cluster, args, settings.args)
        if not args.headless:
            ui = start_web_ui(cluster.data_dir, f"127.0.0.1:{args.port}", args.ui_port)
        banner = _banner(cluster, args, list(services.processes), ui, services.metrics_urls)
        print(banner, flush=True)
        while failure is None:
            time.sleep(0.5)
            failure = _dead(cluster, ui)
            # A crashed service comes back, with backoff; Kafka or Elasticsearch dying is fatal.
            for line in services.restart_exited():
                print(f"strom: {line}", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Stopping...", file=sys.stderr, flush=True)
    finally:
        # A second Ctrl-C must not abandon the shutdown halfway; stopping is bounded anyway.
        with _signals(signal.SIG_IGN):
            if ui is not None:
                ui.stop()
            if services is not None:
                services.stop()
            cluster.stop()
    if failure is not None:
        print(f"strom: {failure}", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def _signals(
    handler: signal.Handlers | Callable[[int, FrameType | None], object],
) -> Iterator[None]:
    """Sets SIGINT and SIGTERM to `handler` for the block, then restores the previous ones."""
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `strom` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="strom: %(message)s", stream=sys.stderr)
    try:
        # SIGTERM takes the same path as Ctrl-C: KeyboardInterrupt in the main thread.
        with _signals(signal.default_int_handler):
            if args.command in KAFKA_COMMANDS:
                return run_kafka_command(args)
            if args.command == "server" and args.server_command == "start-dev":
                return start_dev(args)
    except DevServerError as exc:
        print(f"strom: error: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
