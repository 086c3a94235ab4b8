"""`python -m worker_service`: Strom's internal worker (schedules) against Strom's frontend."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from temporalio.client import Client

from schemas import connection
from streams import supervision
from worker_service.deadletters.activities import KafkaAddress
from worker_service.retention.starter import add_retention_arguments, retention_settings
from worker_service.service import REFRESH_S, WorkerService

_log = logging.getLogger("worker_service")


def build_parser() -> argparse.ArgumentParser:
    """The command line of the worker service."""
    parser = argparse.ArgumentParser(
        prog="python -m worker_service",
        description="Run Strom's internal worker: the system workflows of every namespace.",
    )
    parser.add_argument(
        "--frontend",
        default="127.0.0.1:7233",
        help="Strom frontend address, host:port (default: 127.0.0.1:7233)",
    )
    parser.add_argument(
        "--refresh",
        type=float,
        default=REFRESH_S,
        help=f"seconds between reads of the namespace list (default: {REFRESH_S:g})",
    )
    parser.add_argument(
        "--auth-token-file",
        type=Path,
        metavar="PATH",
        help="a JWT the frontend's authorizer accepts (sent as 'authorization: Bearer'); "
        "needed when the frontend runs with --auth-jwks",
    )
    parser.add_argument(
        "--bootstrap",
        help="Kafka bootstrap servers; with --prefix, serves the dead-letter workflow",
    )
    parser.add_argument("--prefix", help="the cluster's topic prefix (with --bootstrap)")
    add_retention_arguments(parser)
    connection.add_arguments(parser)  # for the dead-letter workflow's Kafka clients
    return parser


def read_token(path: Path | None) -> str | None:
    """The token in `path` (surrounding whitespace dropped), None without a path.

    Raises:
        SystemExit: The file cannot be read or is empty.
    """
    if path is None:
        return None
    try:
        token = path.read_text("utf-8").strip()
    except OSError as exc:
        raise SystemExit(f"worker_service: cannot read --auth-token-file: {exc}") from exc
    if not token:
        raise SystemExit(f"worker_service: --auth-token-file {path} is empty")
    return token


async def connect(target: str, stop: asyncio.Event, token: str | None = None) -> Client | None:
    """A client of the frontend, retried until it answers or ``stop`` is set."""
    delay = 0.2
    while not stop.is_set():
        try:
            # Not api_key: the SDK would then switch TLS on, which the frontend may not serve.
            metadata = {"authorization": f"Bearer {token}"} if token else {}
            return await Client.connect(target, rpc_metadata=metadata)
        except Exception as err:
            _log.info("frontend %s not reachable yet: %s", target, err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 5.0)
    return None


async def run(args: argparse.Namespace) -> int:
    """Serves until SIGTERM/SIGINT; returns the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(args.frontend, stop, read_token(args.auth_token_file))
    if client is None:
        return 0
    _log.info("worker service connected to %s", args.frontend)
    kafka = KafkaAddress(args.bootstrap, args.prefix) if args.bootstrap and args.prefix else None
    retention = retention_settings(args)
    await WorkerService(client, args.refresh, kafka=kafka, retention=retention).run(stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the worker service; returns the exit code."""
    args = build_parser().parse_args(argv)
    supervision.dump_stacks_on_sigusr1()
    if args.refresh <= 0:
        raise SystemExit("worker_service: --refresh must be positive")
    if bool(args.bootstrap) != bool(args.prefix):
        raise SystemExit("worker_service: --bootstrap and --prefix go together")
    connection.from_args(args)
    retention_settings(args)  # bad retention flags end the process before it connects
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
