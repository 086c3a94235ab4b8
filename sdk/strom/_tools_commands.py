"""What `strom topics`, `strom history` and `strom replay` do, once their arguments are parsed."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence

from google.protobuf import json_format
from temporalio import workflow
from temporalio.api.history.v1 import History
from temporalio.runtime import Runtime, TelemetryConfig

from schemas.topics import Topology
from strom import _deadletters as deadletters
from strom._formatting import format_history, format_layout
from strom._history_reader import read_history
from strom._kafka_tools import Cluster, describe_cluster
from strom.replay import (
    ReplayResult,
    closed_histories_from_kafka,
    history_from_kafka,
    replay_histories,
)


class UsageError(Exception):
    """Arguments the parser accepted but the command cannot use."""


def topics(args: argparse.Namespace) -> int:
    """`strom topics`: prints the layout and the lag of the groups."""
    layout = describe_cluster(Cluster.open(args.bootstrap, args.prefix, args.timeout))
    print(json.dumps(layout.to_json(), indent=2) if args.json else format_layout(layout))
    return 0


def history(args: argparse.Namespace) -> int:
    """`strom history`: prints one run's history as text or JSON."""
    cluster = Cluster.open(args.bootstrap, args.prefix, args.timeout)
    run = read_history(cluster, args.namespace, args.workflow_id, args.run_id)
    if args.json:
        print(json_format.MessageToJson(History(events=run.events)))
    else:
        print(format_history(run, Topology(args.prefix).events))
    return 0


def dlq(args: argparse.Namespace) -> int:
    """`strom dlq list` / `strom dlq replay`."""
    cluster = Cluster.open(args.bootstrap, args.prefix, args.timeout)
    letters = deadletters.read(cluster)
    if args.dlq_command == "list":
        if args.json:
            print(json.dumps([letter.to_json() for letter in letters], indent=2))
        else:
            print(deadletters.format_letters(letters))
        return 0
    if args.all:
        chosen = [letter for letter in letters if letter.replayable]
    else:
        by_offset = {letter.offset: letter for letter in letters}
        unknown = [n for n in args.offset if n not in by_offset]
        if unknown:
            raise UsageError(f"no dead letter at offset {', '.join(map(str, unknown))}")
        chosen = [by_offset[n] for n in args.offset]
    count = deadletters.replay(cluster, chosen)
    print(f"replayed {count} dead letter{'s' if count != 1 else ''}")
    return 0


def replay(args: argparse.Namespace) -> int:
    """`strom replay`: replays runs from Kafka; 1 if any failed."""
    classes = load_workflows(args.workflows)
    return asyncio.run(_replay(args, classes))


async def _replay(args: argparse.Namespace, classes: list[type]) -> int:
    where = {"namespace": args.namespace, "prefix": args.prefix, "timeout": args.timeout}
    if args.all_closed:
        types = workflow_types(classes)
        histories = await closed_histories_from_kafka(args.bootstrap, workflow_types=types, **where)
        if not histories:
            of_types = "" if types is None else f" of types {', '.join(sorted(types))}"
            print(f"no closed runs{of_types} in namespace {args.namespace!r}")
            return 0
    else:
        histories = [
            await history_from_kafka(args.bootstrap, wid, **where) for wid in args.workflow_ids
        ]
    # The SDK logs each failed workflow task (with a traceback); the result line says it all.
    logging.getLogger("temporalio").setLevel(logging.CRITICAL)
    quiet = Runtime(telemetry=TelemetryConfig(logging=None))
    results = await replay_histories(classes, histories, runtime=quiet)
    print(format_results(results, as_json=args.json))
    return 0 if all(result.ok for result in results) else 1


def format_results(results: Sequence[ReplayResult], *, as_json: bool = False) -> str:
    """Replay results as one line per run and a summary, or as a JSON list."""
    if as_json:
        rows = [
            {
                "workflow_id": r.workflow_id,
                "run_id": r.run_id,
                "status": r.status.value,
                "error": r.message or None,
            }
            for r in results
        ]
        return json.dumps(rows, indent=2)
    width = max((len(r.status.value) for r in results), default=0)
    lines = []
    for r in results:
        line = f"{r.status.value.ljust(width)}  {r.workflow_id}  run {r.run_id}"
        if r.error is not None:
            line += ": " + r.message
        lines.append(line)
    failed = sum(not r.ok for r in results)
    lines.append(f"{len(results)} replayed, {failed} failed")
    return "\n".join(lines)


def load_workflows(specs: Sequence[str]) -> list[type]:
    """Imports workflow classes named ``module:Class`` (comma-separated, from the cwd too).

    Raises:
        UsageError: A spec is malformed, cannot be imported or is not a workflow class.
    """
    named = []
    for spec in (part.strip() for text in specs for part in text.split(",")):
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise UsageError(f"--workflows wants MODULE:CLASS, got {spec!r}")
        named.append((spec, module_name, attr))
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    classes: list[type] = []
    for spec, module_name, attr in named:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            raise UsageError(f"cannot import {module_name!r}: {exc}") from exc
        cls = getattr(module, attr, None)
        if cls is None:
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}")
        if not isinstance(cls, type) or workflow._Definition.from_class(cls) is None:
            raise UsageError(f"{spec} is not a workflow class (@workflow.defn)")
        classes.append(cls)
    return classes


def workflow_types(classes: Sequence[type]) -> set[str] | None:
    """The workflow type names of the classes; None when a dynamic workflow takes any type."""
    names = set()
    for cls in classes:
        # The SDK keeps the definition behind a private name; Worker reads it the same way.
        definition = workflow._Definition.must_from_class(cls)
        if definition.name is None:
            return None
        names.add(definition.name)
    return names
