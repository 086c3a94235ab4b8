"""A per-key counter built only on streams/, run as its own process by the exactly-once tests.

Input records: key = counter name, value = a unique input id. For each input the processor
emits the new count to the changelog (the source of truth of its state), sends
"<input id>:<count>:<instance>" to the output topic, and the same value to the acks topic with
`send_after_commit`. An input whose id starts with "peek" only reads the count: it produces
nothing and changes nothing. An input whose id starts with "poison" does all of that and then
raises: `reject` must find its effects rolled back, and sends "rejected-<input id>:0:<instance>"
instead. On SIGTERM the process prints its `stats`.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
from pathlib import Path

from confluent_kafka import Message

from streams import Context, RocksDBStore, StateTransaction, StreamApp, StreamsConfig


class Counter:
    """Counts inputs per key."""

    def __init__(self, output_topic: str, acks_topic: str, instance: str) -> None:
        self.output_topic = output_topic
        self.acks_topic = acks_topic
        self.instance = instance

    def process(self, ctx: Context, record: Message) -> None:
        key = record.key()
        if record.value().startswith(b"peek"):
            ctx.state.get(key)
            return
        count = int(ctx.state.get(key) or b"0") + 1
        ctx.emit(key, str(count).encode())
        value = b"%s:%d:%s" % (record.value(), count, self.instance.encode())
        ctx.send(self.output_topic, value, key=key)
        ctx.send_after_commit(self.acks_topic, value, key=key)
        if record.value().startswith(b"poison"):
            raise ValueError(f"poison input {record.value()!r}")

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        assert key is not None and value is not None
        state.put(key, value)

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        return

    def reject(self, ctx: Context, record: Message, error: Exception) -> None:
        if not record.value().startswith(b"poison"):
            raise error  # not the planted poison: a real bug, stop loudly
        value = b"rejected-%s:0:%s" % (record.value(), self.instance.encode())
        ctx.send(self.output_topic, value, key=record.key())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--changelog", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--acks", required=True)
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--max-batch-ms", type=int, default=100)
    parser.add_argument(
        "--hold-transactions",
        action="store_true",
        help="keep each transaction open for --max-batch-ms instead of committing when idle",
    )
    parser.add_argument("--max-produce-rate", type=float, default=0.0)
    parser.add_argument("--direct-host", help="also take direct inputs on this interface")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = StreamsConfig(
        bootstrap=args.bootstrap,
        app_id=args.app_id,
        instance_id=args.instance,
        input_topics=(args.input,),
        changelog_topic=args.changelog,
        state_dir=args.state_dir,
        max_batch_ms=args.max_batch_ms,
        commit_when_idle=not args.hold_transactions,
        max_produce_records_per_second=args.max_produce_rate,
        direct_host=args.direct_host,
    )
    counter = Counter(args.output, args.acks, args.instance)
    app = StreamApp(config, counter, RocksDBStore(args.state_dir))
    app.on_partitions_changed = lambda owned: print(f"OWNED {sorted(owned)}", flush=True)
    if app._direct is not None:
        print(f"DIRECT {app._direct.address}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: app.stop())
    app.run()
    print(f"STATS {json.dumps(app.stats)}", flush=True)


if __name__ == "__main__":
    main()
