"""The Kafka-side commands of the `strom` CLI: `strom topics`, `history`, `replay` and `dlq`.

Each reads a cluster straight from Kafka (no Strom service has to run). Exit codes: 0 done,
1 the work failed (Kafka unreachable, no such cluster or workflow, a replay failed), 2 bad
arguments. Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from schemas.topics import DEFAULT_PREFIX
from strom._kafka_tools import DEFAULT_TIMEOUT_S, KafkaToolError

COMMANDS = ("topics", "history", "replay", "dlq")
DEFAULT_BOOTSTRAP = "127.0.0.1:19092"  # where `strom server start-dev` runs Kafka


def add_commands(commands: Any) -> None:
    """Adds `topics`, `history` and `replay` to the `strom` command's subparsers."""
    topics = commands.add_parser(
        "topics",
        help="show a cluster's topics, settings and consumer-group lag, from Kafka",
        description=(
            "Show a Strom cluster as Kafka holds it: the settings fixed at creation (history "
            "shards, task-queue partitions), every topic with its partitions, cleanup policy, "
            "retention and summed end offsets, and for each consumer group (history, "
            "matching, visibility indexer) its state, members and lag: committed offset "
            "against end offset per partition of its input topic, summed. Offsets count "
            "transaction markers, so a caught-up partition written by transactions may show "
            "a lag of 1."
        ),
    )
    _kafka_options(topics)
    topics.add_argument("--json", action="store_true", help="print JSON instead of tables")

    history = commands.add_parser(
        "history",
        help="print a workflow's history decoded from the events topic",
        description=(
            "Decode a workflow's history straight from <prefix>.history.events: the shard of "
            "the workflow is scanned from the beginning (committed transactions only). Prints "
            "one line per event (id, time, type, a few attributes) like `temporal workflow "
            "show`, or with --json the History in Temporal's JSON, which "
            "temporalio.client.WorkflowHistory.from_json and `temporal workflow show -o json` "
            "share. Exits 1 when the workflow has no history there."
        ),
    )
    history.add_argument("workflow_id", metavar="WORKFLOW_ID", help="the workflow id")
    history.add_argument(
        "--run-id", metavar="RUN_ID", help="the run (default: the run written to last)"
    )
    history.add_argument(
        "--namespace", default="default", help="the workflow's namespace (default: %(default)s)"
    )
    _kafka_options(history)
    history.add_argument("--json", action="store_true", help="print the History as JSON")

    replay = commands.add_parser(
        "replay",
        help="replay histories from Kafka against your workflow classes (official SDK Replayer)",
        description=(
            "Replay histories read from <prefix>.history.events through temporalio's Replayer "
            "against your workflow code, before you deploy it. Prints OK, NONDETERMINISM or "
            "FAILED per run; exits 1 if any run did not replay cleanly. Workflow modules are "
            "imported with the current directory on sys.path."
        ),
    )
    replay.add_argument(
        "--workflows",
        action="append",
        required=True,
        metavar="MODULE:CLASS[,MODULE:CLASS...]",
        help="the workflow classes to replay with (repeatable), e.g. app.workflows:OrderWorkflow",
    )
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "workflow_ids",
        nargs="*",
        default=[],
        metavar="WORKFLOW_ID",
        help="workflows whose latest run to replay",
    )
    which.add_argument(
        "--all-closed",
        action="store_true",
        help="replay every closed run in the namespace whose type is one of --workflows",
    )
    replay.add_argument(
        "--namespace", default="default", help="the workflows' namespace (default: %(default)s)"
    )
    _kafka_options(replay)
    replay.add_argument("--json", action="store_true", help="print the results as JSON")


def add_dlq_command(commands: Any) -> None:
    """Adds `dlq list` and `dlq replay` to the `strom` command's subparsers."""
    dlq = commands.add_parser(
        "dlq",
        help="list dead letters, or put them back on their source topic",
        description=(
            "Inputs a Strom service could not process (an undecodable or unknown record, a "
            "command whose fold failed, a poison timer) are kept on <prefix>.deadletter with "
            "the reason. `list` shows them; `replay` produces the chosen ones again, byte for "
            "byte, to the partition they came from, once their cause is fixed."
        ),
    )
    actions = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the dead letters, oldest first")
    _kafka_options(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of lines")
    again = actions.add_parser("replay", help="put dead letters back on their source topic")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--offset",
        type=int,
        action="append",
        metavar="N",
        help="the dead letter at offset N of the dead-letter topic (repeatable)",
    )
    which.add_argument("--all", action="store_true", help="every replayable dead letter")
    _kafka_options(again)


def _kafka_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("STROM_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        metavar="SERVERS",
        help=f"Kafka bootstrap servers (default: $STROM_KAFKA_BOOTSTRAP, else {DEFAULT_BOOTSTRAP})",
    )
    parser.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="the cluster's name, its topic prefix (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help="how long to wait for Kafka (default: %(default)g)",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    """Runs one Kafka-side command; returns its exit code."""
    # Imported here: temporalio takes seconds to import, and `strom server start-dev` and
    # `strom --help` need none of it.
    from strom import _tools_commands as commands

    try:
        if args.command == "topics":
            return commands.topics(args)
        if args.command == "history":
            return commands.history(args)
        if args.command == "dlq":
            return commands.dlq(args)
        return commands.replay(args)
    except commands.UsageError as exc:
        print(f"strom {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KafkaToolError as exc:
        print(f"strom {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # the shell's code for SIGINT; a traceback would tell the user nothing
