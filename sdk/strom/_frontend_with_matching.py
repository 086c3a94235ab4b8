"""`python -m strom._frontend_with_matching`: the frontend with a matching member in its process.

It takes the frontend's arguments (`python -m frontend --help`). The matching member shares the
frontend's history client (its reply partition, datagram host and inbox producer), serves
matching's internal gRPC service on the frontend's `--host` at a free port and advertises that
host (127.0.0.1 for a wildcard). Polls of the task-queue partitions it owns skip the gRPC hop;
other frontends and matching members reach it as any other member.

This module is the composition root: the frontend and matching packages import each other
nowhere else. `strom server start-dev` runs it in place of two processes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from frontend.__main__ import main
from matching_processor.config import MatchingConfig, advertised_host
from matching_processor.service import MatchingService
from schemas.clients.history import HistoryClient
from schemas.topics import Topology
from streams import metrics


async def start_member(
    args: argparse.Namespace,
    topology: Topology,
    history: HistoryClient,
    on_death: Callable[[str, BaseException], None],
) -> MatchingService:
    """Starts the matching member beside the frontend of `args`."""
    config = MatchingConfig(
        bootstrap=args.bootstrap,
        prefix=args.prefix,
        grpc_host=args.host,
        grpc_port=0,
        advertise_host=advertised_host(args.host),
        n_tq_partitions=topology.tq_partitions,
    )
    # The frontend's metrics (if it serves them) also show the lag of matching's group.
    metrics.watch_consumer_lag(args.bootstrap, topology.matching_group, topology.tasks)
    # One producer for the frontend's commands and the member's: they share produce requests.
    member = MatchingService(config, history, on_death=on_death, producer=history.producer)
    await member.start()
    return member


if __name__ == "__main__":
    sys.exit(main(local_matching=start_member))
