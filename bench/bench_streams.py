"""Benchmark of streams/ beside the raw Kafka figures of INFRA.md, measured in the same run.

Prints, on one broker (STROM_KAFKA_BOOTSTRAP, else a dev broker started here):
- raw: plain produce->consume hop, one-record transaction, a transaction of two outputs and
  an input position (as `streams/commit.py` commits; its outputs acknowledged before the
  position is sent, or still in flight), the steps of one such transaction awaited one by
  one (which broker round trip costs what), and a hand-written transactional
  consume-process-produce loop (latency at low rate, records/s flooded);
- streams: the same two figures through `StreamApp`, for a stateless pass-through processor and
  for the stateful counter (RocksDB + changelog).

Usage: python bench/bench_streams.py [--records 50000] [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from confluent_kafka import Consumer, Message, Producer, TopicPartition

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _broker import broker  # noqa: E402

from streams import (  # noqa: E402
    Context,
    MemoryStore,
    RocksDBStore,
    StateTransaction,
    StreamApp,
    StreamsConfig,
    TopicSpec,
    ensure_topics,
)
from tests.integration.streams.counter_app import Counter  # noqa: E402

PAYLOAD = b"x" * 192


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def topics(bootstrap: str, partitions: int = 1) -> tuple[str, str, str]:
    base = f"bench-{uuid.uuid4().hex[:8]}"
    names = (f"{base}.in", f"{base}.changelog", f"{base}.out")
    ensure_topics(
        bootstrap,
        [
            TopicSpec(names[0], partitions),
            TopicSpec(names[1], partitions, "compact"),
            TopicSpec(names[2], partitions),
        ],
    )
    return names


def reader(bootstrap: str, topic: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 5,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    return consumer


def stamped() -> bytes:
    return struct.pack(">d", time.time()) + PAYLOAD


def hop_latency(bootstrap: str, into: str, out: str, samples: int) -> list[float]:
    """Produces stamped records one at a time into `into`, times their arrival on `out`."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    consumer = reader(bootstrap, out)
    consumer.poll(1.0)
    latencies = []
    for _ in range(samples):
        producer.produce(into, stamped(), b"k")
        producer.flush(10)
        while True:
            msg = consumer.poll(10)
            if msg is not None and msg.error() is None:
                latencies.append((time.time() - struct.unpack(">d", msg.value()[:8])[0]) * 1000)
                break
        time.sleep(0.01)
    consumer.close()
    return latencies


def one_record_transactions(bootstrap: str, topic: str, samples: int) -> list[float]:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": uuid.uuid4().hex})
    producer.init_transactions(30)
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        producer.begin_transaction()
        producer.produce(topic, PAYLOAD, b"k")
        producer.commit_transaction(30)
        times.append((time.perf_counter() - began) * 1000)
    return times


def positions_transactions(
    bootstrap: str, names: tuple[str, str, str], samples: int, ack_first: bool
) -> list[float]:
    """Transactions of two outputs and an input position (the shape of every Strom commit),
    with the outputs' acknowledgements awaited before the position is sent, or not; they take
    turns over `transactional_producers` producers, as `streams.commit` does."""
    prefill(bootstrap, names[0], samples + 1)
    consumer = group_member(bootstrap, names[0])
    metadata = consumer.consumer_group_metadata()
    producers = transactional_producers(bootstrap, names)
    times = []
    for offset in range(1, samples + 1):
        producer = producers[offset % len(producers)]
        began = time.perf_counter()
        producer.begin_transaction()
        producer.produce(names[2], PAYLOAD, b"k")
        producer.produce(names[1], PAYLOAD, b"k")
        if ack_first:
            producer.flush(30)
        position = [TopicPartition(names[0], 0, offset)]
        producer.send_offsets_to_transaction(position, metadata, 30)
        producer.commit_transaction(30)
        times.append((time.perf_counter() - began) * 1000)
    consumer.close()
    return times


def transaction_steps(
    bootstrap: str, names: tuple[str, str, str], samples: int
) -> dict[str, list[float]]:
    """Where one transaction's time goes, each step awaited before the next (the commit
    overlaps the first two): the first output (librdkafka adds its partition to the
    transaction first), a second output to the same partition (a plain produce), the input
    position (AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator), the commit.
    Transactions take turns over the producers, as in `streams.commit`."""
    prefill(bootstrap, names[0], samples + 1)
    consumer = group_member(bootstrap, names[0])
    metadata = consumer.consumer_group_metadata()
    producers = transactional_producers(bootstrap, names)
    steps: dict[str, list[float]] = {
        "first output (AddPartitionsToTxn + Produce)": [],
        "second output, same partition (Produce)": [],
        "input position (AddOffsetsToTxn + TxnOffsetCommit)": [],
        "commit (EndTxn)": [],
    }
    for offset in range(1, samples + 1):
        producer = producers[offset % len(producers)]
        producer.begin_transaction()
        instants = [time.perf_counter()]
        for _ in range(2):
            producer.produce(names[1], PAYLOAD, b"k")
            producer.flush(30)
            instants.append(time.perf_counter())
        position = [TopicPartition(names[0], 0, offset)]
        producer.send_offsets_to_transaction(position, metadata, 30)
        instants.append(time.perf_counter())
        producer.commit_transaction(30)
        instants.append(time.perf_counter())
        for times, (began, ended) in zip(steps.values(), pairwise(instants), strict=True):
            times.append((ended - began) * 1000)
    consumer.close()
    return steps


def transactional_producers(bootstrap: str, names: tuple[str, str, str]) -> list[Producer]:
    """Producers set up as `streams.commit` sets them up, as many as it takes turns over."""
    config = StreamsConfig(bootstrap, "bench", "0", (names[0],), names[1], Path("unused"))
    producers = []
    for _ in range(config.transactional_producers):
        producers.append(Producer(config.producer_settings(uuid.uuid4().hex)))
        producers[-1].init_transactions(30)
    return producers


def group_member(bootstrap: str, topic: str) -> Consumer:
    """A consumer of `topic` that has joined a fresh group (its metadata has a generation)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
         "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    )  # fmt: skip
    consumer.subscribe([topic])
    while consumer.poll(0.5) is None:
        pass
    return consumer


def prefill(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for i in range(count):
        while True:
            try:
                producer.produce(topic, PAYLOAD, str(i % 64).encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def raw_loop(
    bootstrap: str,
    into: str,
    out: str,
    stop: threading.Event,
    done: list[int],
    started: list[float],
) -> None:
    """The hand-written transactional consume-process-produce loop INFRA.md measured."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
        }
    )
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": uuid.uuid4().hex, "linger.ms": 1}
    )
    producer.init_transactions(30)
    consumer.subscribe([into])
    while not stop.is_set():
        first = consumer.poll(0.05)
        if first is None:
            continue
        batch = [first, *consumer.consume(499, 0)]
        producer.begin_transaction()
        for msg in batch:
            if msg.error() is None:
                producer.produce(out, msg.value(), msg.key())
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 30
        )
        producer.commit_transaction(30)
        if not done[0]:
            started[0] = time.perf_counter()
        done[0] += len(batch)
    consumer.close()


class PassThrough:
    """A stateless processor: each input is sent on unchanged."""

    def __init__(self, out: str) -> None:
        self.out = out

    def process(self, ctx: Context, record: Message) -> None:
        ctx.send(self.out, record.value(), record.key())

    def apply(self, state: StateTransaction, key: bytes | None, value: bytes | None) -> None:
        return

    def punctuate(self, ctx: Context, now_ms: int) -> None:
        return

    def reject(self, ctx: Context, record: Message, error: Exception) -> None:
        raise error  # nothing here can be poison: stop loudly


class CountingApp:
    """A StreamApp in a thread, with the number of inputs it committed."""

    def __init__(self, bootstrap: str, names: tuple[str, str, str], stateful: bool) -> None:
        into, changelog, out = names
        self.tmp = tempfile.TemporaryDirectory()
        config = StreamsConfig(
            bootstrap=bootstrap,
            app_id=f"bench-{uuid.uuid4().hex[:8]}",
            instance_id="0",
            input_topics=(into,),
            changelog_topic=changelog,
            state_dir=Path(self.tmp.name),
        )
        if stateful:  # its acknowledgements on a topic of their own, not among the outputs
            ensure_topics(bootstrap, [TopicSpec(f"{out}.acks", 1)])
        processor = Counter(out, f"{out}.acks", "bench") if stateful else PassThrough(out)
        store = RocksDBStore(Path(self.tmp.name)) if stateful else MemoryStore()
        self.app = StreamApp(config, processor, store)
        self.thread = threading.Thread(target=self.app.run, daemon=True)

    def __enter__(self) -> CountingApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.app.stop()
        self.thread.join(60)
        self.tmp.cleanup()


def flood(records: int, run: Callable[[], int]) -> float:
    """Records/s from the first processed record until `run()` reports all of them done."""
    while run() == 0:
        time.sleep(0.001)
    began, first = time.perf_counter(), run()
    while run() < records:
        time.sleep(0.005)
    return (records - first) / (time.perf_counter() - began)


def line(name: str, values: list[float]) -> str:
    return f"  {name:<58} p50 {statistics.median(values):7.1f} ms   p99 {pct(values, 0.99):7.1f} ms"


def measure(bootstrap: str, records: int, samples: int) -> None:
    print(f"broker {bootstrap}; {records} records of {len(PAYLOAD) + 8} B flooded; "
          f"{samples} latency samples")  # fmt: skip
    print("raw Kafka (confluent-kafka, no Strom code):")
    names = topics(bootstrap)
    print(line("plain hop: produce (acks=all) -> consume", hop_latency(
        bootstrap, names[0], names[0], samples)))  # fmt: skip
    print(line("one transaction of one record, begin -> commit", one_record_transactions(
        bootstrap, names[1], samples)))  # fmt: skip
    for ack_first in (False, True):
        label = "acked before" if ack_first else "in flight at"
        times = positions_transactions(bootstrap, topics(bootstrap), samples, ack_first)
        print(line(f"2 outputs + input position, outputs {label} the position", times))
    print("  one transaction step by step (Strom's commits overlap the first three):")
    for step, times in transaction_steps(bootstrap, topics(bootstrap), samples).items():
        print(line(f"  {step}", times))

    names = topics(bootstrap)
    stop, done, started = threading.Event(), [0], [0.0]
    args = (bootstrap, names[0], names[2], stop, done, started)
    thread = threading.Thread(target=raw_loop, args=args)
    thread.start()
    time.sleep(2)
    print(line("transactional consume-process-produce hop", hop_latency(
        bootstrap, names[0], names[2], samples)))  # fmt: skip
    stop.set()
    thread.join(30)
    names = topics(bootstrap)
    prefill(bootstrap, names[0], records)
    stop, done = threading.Event(), [0]
    thread = threading.Thread(
        target=raw_loop, args=(bootstrap, names[0], names[2], stop, done, started)
    )
    thread.start()
    raw_rate = flood(records, lambda: done[0])
    stop.set()
    thread.join(30)
    print(f"  {'same loop, flooded, one transaction per polled batch':<58} {raw_rate:9,.0f} rec/s")

    for stateful in (False, True):
        label = "counter: RocksDB state + changelog + output" if stateful else "pass-through"
        print(f"streams/ StreamApp, {label}:")
        names = topics(bootstrap)
        with CountingApp(bootstrap, names, stateful) as app:
            time.sleep(3)
            print(line("one hop, input -> committed output", hop_latency(
                bootstrap, names[0], names[2], samples)))  # fmt: skip
        names = topics(bootstrap)
        prefill(bootstrap, names[0], records)
        with CountingApp(bootstrap, names, stateful) as app:
            rate = flood(records, lambda a=app: a.app.stats["records"])  # type: ignore[misc]
        share = 100 * rate / raw_rate
        print(f"  {'flooded, batches of up to 500 inputs / 100 ms':<58} {rate:9,.0f} rec/s "
              f"({share:.0f}% of the raw loop)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with broker() as bootstrap:
        measure(bootstrap, args.records, args.samples)


if __name__ == "__main__":
    main()
