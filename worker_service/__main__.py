"""`python -m worker_service`: Strom's internal worker (schedules) against Strom's frontend."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from temporalio.client import Client

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
    add_retention_arguments(parser)
    return parser


async def connect(target: str, stop: asyncio.Event) -> Client | None:
    """A client of the frontend, retried until it answers or ``stop`` is set."""
    delay = 0.2
    while not stop.is_set():
        try:
            return await Client.connect(target)
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
    client = await connect(args.frontend, stop)
    if client is None:
        return 0
    _log.info("worker service connected to %s", args.frontend)
    await WorkerService(client, args.refresh, retention=retention_settings(args)).run(stop)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs the worker service; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.refresh <= 0:
        raise SystemExit("worker_service: --refresh must be positive")
    retention_settings(args)  # bad retention flags end the process before it connects
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
