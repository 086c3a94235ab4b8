"""`python -m frontend`: Strom's Temporal WorkflowService frontend over Kafka and Elasticsearch."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from temporalio.api.workflowservice.v1 import (
    CountWorkflowExecutionsResponse,
    ListWorkflowExecutionsResponse,
)

from frontend.auth import Authorizer, JwksKeys, JwtClaimMapper
from frontend.backends import InvalidQueryError
from frontend.config import FrontendConfig, TlsConfig
from frontend.http import DEFAULT_HTTP_PORT, start_http_api
from frontend.server import serve, servicer, stop
from frontend.system_namespace import add_min_retention_argument, ensure_system
from schemas import connection
from schemas.clients.history import HistoryClient, add_reply_datagram_argument
from schemas.clients.matching import LocalMember, MatchingClient, MatchingDirectory
from schemas.clusters import (
    DEFAULT_INITIAL_FAILOVER_VERSION,
    FAILOVER_VERSION_INCREMENT,
    KafkaClusterStore,
)
from schemas.namespaces import KafkaNamespaceRegistry
from schemas.topics import DEFAULT_PREFIX, Topology
from schemas.visibility import exceptions as vis_errors
from schemas.visibility.attributes import ValueType
from schemas.visibility.search import VisibilityReader
from schemas.visibility.template import index_name
from streams import event_loop, metrics, supervision
from streams.grpc_server import BindError


class ElasticsearchVisibility:
    """The frontend's VisibilityBackend: list and count answered from Elasticsearch."""

    def __init__(self, reader: VisibilityReader) -> None:
        self._reader = reader

    async def list(
        self,
        namespace: str,
        query: str,
        page_size: int,
        next_page_token: bytes,
        *,
        namespace_id: str | None = None,
    ) -> ListWorkflowExecutionsResponse:
        try:
            return await self._reader.list_async(
                namespace, query, page_size, next_page_token, namespace_id=namespace_id
            )
        except vis_errors.InvalidQueryError as exc:
            raise InvalidQueryError(str(exc)) from exc
        except vis_errors.VisibilityError as exc:
            raise ConnectionError(str(exc)) from exc

    async def count(
        self, namespace: str, query: str, *, namespace_id: str | None = None
    ) -> CountWorkflowExecutionsResponse:
        try:
            return await self._reader.count_async(namespace, query, namespace_id=namespace_id)
        except vis_errors.InvalidQueryError as exc:
            raise InvalidQueryError(str(exc)) from exc
        except vis_errors.VisibilityError as exc:
            raise ConnectionError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The command line of the frontend."""
    parser = argparse.ArgumentParser(
        prog="python -m frontend",
        description="Run Strom's frontend: Temporal's WorkflowService gRPC API.",
    )
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--es-url", required=True, help="Elasticsearch URL")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="cluster name (topic prefix)")
    parser.add_argument(
        "--initial-failover-version",
        type=int,
        default=DEFAULT_INITIAL_FAILOVER_VERSION,
        help="the failover versions this cluster owns (Temporal's initial_failover_version, "
        f"0..{FAILOVER_VERSION_INCREMENT - 1}, unique among replicating clusters; default: 1)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=7233, help="gRPC port (default: 7233)")
    parser.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        help=f"port of Temporal's HTTP API (default: {DEFAULT_HTTP_PORT}); 0 turns it off",
    )
    parser.add_argument("--no-http", action="store_true", help="do not serve the HTTP API")
    add_reply_datagram_argument(parser)
    parser.add_argument(
        "--namespace-rps",
        type=_positive_rate,
        default=2400.0,
        help="requests per second per namespace, unless its data sets frontend.namespaceRPS "
        "(Temporal's frontend.namespaceRPS; burst twice that; default: 2400)",
    )
    parser.add_argument(
        "--persistence-max-qps",
        type=float,
        default=2000.0,
        help="commands per second this frontend may put on the history inbox "
        "(Temporal's frontend.persistenceMaxQPS; 0 = unlimited; default: 2000)",
    )
    parser.add_argument(
        "--reply-partition",
        type=int,
        default=0,
        help="this process's partition of <prefix>.replies; unique per process (default: 0)",
    )
    parser.add_argument(
        "--tls-cert", type=Path, metavar="PEM", help="serve gRPC over TLS with this certificate"
    )
    parser.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's key")
    parser.add_argument(
        "--tls-client-ca",
        type=Path,
        metavar="PEM",
        help="mutual TLS: clients must present a certificate this CA signed",
    )
    add_min_retention_argument(parser)
    metrics.add_port_argument(parser, "frontend")
    connection.add_arguments(parser)
    auth = parser.add_argument_group(
        "authorization", "Temporal's JWT claim mapper and default authorizer; off by default"
    )
    auth.add_argument(
        "--auth-jwks",
        action="append",
        metavar="PATH_OR_URL",
        help="turn authorization on, verifying tokens with the keys of this JWKS file, "
        "file:// or http(s):// URL (repeatable)",
    )
    auth.add_argument(
        "--auth-jwks-refresh",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="re-read the JWKS sources this often (default: 60; 0: never)",
    )
    auth.add_argument("--auth-audience", help="tokens must name this audience in 'aud'")
    auth.add_argument(
        "--auth-permissions-claim",
        default="permissions",
        help="the claim listing 'namespace:role' permissions (default: permissions)",
    )
    return parser


def authorizer_from_args(args: argparse.Namespace) -> Authorizer | None:
    """The authorizer of the command line, None when authorization is off.

    Raises:
        SystemExit: A JWKS source cannot be read.
    """
    if not args.auth_jwks:
        return None
    keys = JwksKeys(args.auth_jwks, args.auth_jwks_refresh)
    try:
        keys.load()
    except (OSError, ValueError) as exc:
        raise SystemExit(f"frontend: cannot read the JWKS keys: {exc}") from exc
    return Authorizer(JwtClaimMapper(keys, args.auth_audience, args.auth_permissions_claim))


def _positive_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = 0.0
    if not 0 < rate < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return rate


def tls_from_args(args: argparse.Namespace) -> TlsConfig | None:
    """The TLS settings of the command line, None for plaintext.

    Raises:
        SystemExit: The flags do not go together, or a file is unreadable.
    """
    if args.tls_cert is None and args.tls_key is None:
        if args.tls_client_ca is not None:
            raise SystemExit("frontend: --tls-client-ca needs --tls-cert and --tls-key")
        return None
    if args.tls_cert is None or args.tls_key is None:
        raise SystemExit("frontend: --tls-cert and --tls-key go together")
    try:
        return TlsConfig.from_files(args.tls_cert, args.tls_key, args.tls_client_ca)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"frontend: cannot read the TLS files: {exc}") from exc


MemberFactory = Callable[
    [argparse.Namespace, Topology, HistoryClient, Callable[[str, BaseException], None]],
    Awaitable[LocalMember],
]
"""Starts a matching member in this process, given the frontend's arguments, the cluster's
topology, the frontend's history client and its death handler (a composition root passes one:
the frontend imports no other service)."""


async def run(args: argparse.Namespace, local_matching: MemberFactory | None = None) -> int:
    """Serves until SIGTERM/SIGINT, or until a background thread dies; returns the exit code.

    With `local_matching`, a matching member runs in this process too, and the polls of the
    task-queue partitions it owns are in-process calls.
    """
    tls = tls_from_args(args)  # before anything starts: bad flags end the process at once
    metrics.serve(args.metrics_port, args.metrics_host, service="frontend")
    authorizer = authorizer_from_args(args)
    es_settings = connection.from_args(args)  # Kafka TLS/SASL for every client; ES options
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    died: list[str] = []

    def on_death(name: str, error: BaseException) -> None:
        # On the dying thread: stop serving (health NOT_SERVING) and exit non-zero.
        died.append(name)  # list.append is atomic; the event is the loop's
        loop.call_soon_threadsafe(done.set)

    topology = Topology.from_cluster(args.bootstrap, args.prefix)
    config = FrontendConfig(
        host=args.host,
        port=args.port,
        cluster_name=args.prefix,
        initial_failover_version=args.initial_failover_version,
        history_shard_count=topology.shards,
        namespace_rps=args.namespace_rps,
        namespace_burst=max(1, int(2 * args.namespace_rps)),
        persistence_max_qps=args.persistence_max_qps,
        namespace_min_retention_ms=args.namespace_min_retention,
        tls=tls,
        authorizer=authorizer,
    )
    async with contextlib.AsyncExitStack() as started:  # stops what started, last first
        try:
            server = await _start(
                args, config, topology, es_settings, local_matching, on_death, started
            )
        except BindError as exc:
            logging.getLogger(__name__).error("%s", exc)
            return 1
        logging.getLogger(__name__).info("frontend listening on %s:%d", args.host, args.port)
        http_api, code = None, 0
        if args.http_port and not args.no_http:
            try:
                http_api = await start_http_api(
                    servicer(server), args.host, args.http_port, config.shutdown_grace_s
                )
            except OSError as exc:
                logging.getLogger(__name__).error(
                    "cannot serve the HTTP API on %s:%d: %s", args.host, args.http_port, exc
                )
                code = 1
                done.set()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        await done.wait()
        if died:
            logging.getLogger(__name__).critical("stopping: thread %s died", ", ".join(died))
            code = 1
        await stop(server, config.shutdown_grace_s)  # also ends the HTTP API's long-polls
        if http_api is not None:
            await http_api.stop()
    return code


async def _start(
    args: argparse.Namespace,
    config: FrontendConfig,
    topology: Topology,
    es_settings: connection.ElasticsearchSettings,
    local_matching: MemberFactory | None,
    on_death: Callable[[str, BaseException], None],
    started: contextlib.AsyncExitStack,
) -> grpc.aio.Server:
    """Starts the frontend's clients, its matching member (with `local_matching`) and its
    gRPC server; `started` stops each of them when it closes.

    Raises:
        BindError: The frontend's or the member's gRPC address could not be bound.
    """
    namespaces = KafkaNamespaceRegistry(args.bootstrap, args.prefix)
    namespaces.on_death = on_death
    started.callback(namespaces.close)
    await asyncio.to_thread(namespaces.start)
    await asyncio.to_thread(namespaces.ensure_default)
    await asyncio.to_thread(ensure_system, namespaces)
    history = HistoryClient(
        args.bootstrap, topology, args.reply_partition, args.reply_datagram_host
    )
    history.on_death = on_death
    history.start()
    started.callback(history.close)
    member = None
    if local_matching is not None:
        member = await local_matching(args, topology, history, on_death)
        # After the frontend's server has stopped: its polls were answered as it stopped.
        started.push_async_callback(member.stop)
    matching = MatchingClient(
        MatchingDirectory(args.bootstrap, args.prefix), topology.tq_partitions, member
    )
    started.push_async_callback(matching.close)
    es = es_settings.client(args.es_url)
    started.callback(es.close)

    def custom_search_attributes(name: str) -> dict[str, ValueType]:
        found = namespaces.get(name)
        return found.custom_search_attributes() if found is not None else {}

    visibility = ElasticsearchVisibility(
        VisibilityReader(es, index_name(args.prefix), custom_attributes=custom_search_attributes)
    )
    clusters = KafkaClusterStore(args.bootstrap, args.prefix)
    return await serve(config, history, matching, visibility, namespaces, clusters=clusters)


def main(argv: list[str] | None = None, local_matching: MemberFactory | None = None) -> int:
    """Runs the frontend (with `local_matching`: and a matching member); the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    if not 0 <= args.initial_failover_version < FAILOVER_VERSION_INCREMENT:
        parser.error(f"--initial-failover-version must be 0..{FAILOVER_VERSION_INCREMENT - 1}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return event_loop.run(run(args, local_matching))


if __name__ == "__main__":
    sys.exit(main())
