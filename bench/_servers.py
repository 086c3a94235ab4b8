"""The `--server NAME=HOST:PORT` option of the benchmarks that compare running servers."""

from __future__ import annotations

import argparse


def add_server_option(parser: argparse.ArgumentParser) -> None:
    """Adds the repeatable `--server NAME=HOST:PORT` option."""
    parser.add_argument(
        "--server", action="append", required=True, help="NAME=HOST:PORT (repeatable)"
    )


def servers(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """Name -> target of every `--server` given; a malformed one ends with a usage error."""
    targets = {}
    for spec in args.server:
        name, _, target = spec.partition("=")
        if not name or not target:
            parser.error(f"--server wants NAME=HOST:PORT, got {spec!r}")
        targets[name] = target
    return targets
