"""Runs counter processes and feeds and reads their topics, for the exactly-once tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter as Multiset
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from streams import TopicSpec, ensure_topics
from streams.direct import encode_frame

REPO = Path(__file__).resolve().parents[3]
PARTITIONS = 4


@dataclass
class Topics:
    """The topics of one counter test."""

    input: str
    changelog: str
    output: str
    acks: str

    @classmethod
    def create(cls, bootstrap: str, prefix: str) -> Topics:
        topics = cls(f"{prefix}.in", f"{prefix}.changelog", f"{prefix}.out", f"{prefix}.acks")
        ensure_topics(
            bootstrap,
            [
                TopicSpec(topics.input, PARTITIONS),
                TopicSpec(topics.changelog, PARTITIONS, "compact"),
                TopicSpec(topics.output, PARTITIONS),
                TopicSpec(topics.acks, PARTITIONS),
            ],
        )
        return topics

    @classmethod
    def fresh(cls, bootstrap: str, kind: str) -> tuple[Topics, str]:
        """The topics of a new test of `kind`, and its app id (their common prefix)."""
        name = f"{kind}-{uuid.uuid4().hex[:8]}"
        return cls.create(bootstrap, name), name


@dataclass
class CounterProcess:
    """One counter processor process and its log."""

    bootstrap: str
    topics: Topics
    app_id: str
    instance: str
    state_dir: Path
    log_path: Path
    max_batch_ms: int = 100
    hold_transactions: bool = False
    max_produce_rate: float = 0.0
    direct_host: str | None = None
    proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._log = self.log_path.open("a")
        self._log.write(f"--- start {time.time():.3f}\n")
        self._log.flush()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "tests.integration.streams.counter_app",
                "--bootstrap", self.bootstrap, "--app-id", self.app_id,
                "--instance", self.instance, "--input", self.topics.input,
                "--changelog", self.topics.changelog, "--output", self.topics.output,
                "--acks", self.topics.acks,
                "--state-dir", str(self.state_dir), "--max-batch-ms", str(self.max_batch_ms),
                *(["--hold-transactions"] if self.hold_transactions else []),
                "--max-produce-rate", str(self.max_produce_rate),
                *(["--direct-host", self.direct_host] if self.direct_host else []),
            ],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL, and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        """SIGTERM, the process finishes its transaction and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def owned(self) -> list[int] | None:
        """Partitions the process said it owns last, None before it said anything."""
        last = None
        for line in self.log_path.read_text().splitlines():
            if line.startswith("OWNED "):
                last = [int(x) for x in line[len("OWNED [") : -1].split(",") if x.strip()]
            elif line.startswith("--- start"):
                last = None
        return last

    def direct_address(self) -> str | None:
        """Where the process (last started) takes direct inputs, once it said so."""
        last = None
        for line in self.log_path.read_text().splitlines():
            if line.startswith("DIRECT "):
                last = line[len("DIRECT ") :]
            elif line.startswith("--- start"):
                last = None
        return last

    def log_text(self) -> str:
        return self.log_path.read_text()

    def stats(self) -> dict[str, int]:
        """The stats the process printed when it stopped last."""
        lines = [ln for ln in self.log_text().splitlines() if ln.startswith("STATS ")]
        assert lines, "the process printed no stats"
        return json.loads(lines[-1][len("STATS ") :])


class Feeder:
    """Produces numbered inputs over a few keys at a steady rate in a background thread.

    With `peek_every=n`, every n-th input is a read-only "peek" input (not in `sent`); with
    `poison_every=n`, every n-th input makes the processor raise (in `poisoned`, not in `sent`).
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        total: int,
        rate: float,
        keys: int,
        peek_every: int = 0,
        poison_every: int = 0,
    ) -> None:
        # Idempotent: a send retried after a timed-out answer (a loaded broker) would
        # otherwise write an input twice, and the proof would count it twice.
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 2, "enable.idempotence": True}
        )
        self._topic = topic
        self.total = total
        self._rate = rate
        self._keys = keys
        self._peek_every = peek_every
        self._poison_every = poison_every
        self.sent: Multiset[str] = Multiset()
        self.poisoned: list[str] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._first = 0

    def start(self, first: int = 0) -> None:
        self._first = first
        self._thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        for i in range(self._first, self._first + self.total):
            key = f"k{i % self._keys}"
            if self._peek_every and i % self._peek_every == 0:
                self._producer.produce(self._topic, f"peek{i}".encode(), key.encode())
            elif self._poison_every and i % self._poison_every == 0:
                self._producer.produce(self._topic, f"poison{i}".encode(), key.encode())
                self.poisoned.append(f"poison{i}")
            else:
                self._producer.produce(self._topic, f"i{i}".encode(), key.encode())
                self.sent[key] += 1
            self._producer.poll(0)
            delay = began + (i - self._first + 1) / self._rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self._producer.flush(30)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "feeder did not finish"


class DirectFeeder:
    """Sends numbered inputs straight to one process (`streams.direct`) at a steady rate.

    Input i goes to partition i % PARTITIONS with key "d<partition>", whoever owns it: the
    process takes those of its partitions and spills the others to the input topic.
    """

    def __init__(self, address: str, total: int, rate: float) -> None:
        host, port = address.rsplit(":", 1)
        self._socket = socket.create_connection((host, int(port)))
        self.total = total
        self._rate = rate
        self.sent: Multiset[str] = Multiset()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        began = time.monotonic()
        for i in range(self.total):
            partition = i % PARTITIONS
            key = f"d{partition}"
            self._socket.sendall(encode_frame(partition, key.encode(), f"direct{i}".encode()))
            self.sent[key] += 1
            delay = began + (i + 1) / self._rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "direct feeder did not finish"

    def close(self) -> None:
        self._socket.close()


@dataclass
class Outputs:
    """Everything committed to the output (or acks) topic."""

    records: list[tuple[str, str, int]] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # produce time, epoch seconds

    @classmethod
    def read(cls, bootstrap: str, topic: str, expected: int, timeout: float) -> Outputs:
        """Reads read_committed until `expected` records came and 2 s passed without more."""
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"reader-{time.monotonic_ns()}",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
            }
        )
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        out = cls()
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        try:
            while time.monotonic() < deadline:
                msg = consumer.poll(0.2)
                if msg is None:
                    if len(out.records) >= expected and time.monotonic() - quiet_since > 2:
                        break
                    continue
                if msg.error() is not None:
                    assert msg.error().code() == KafkaError._PARTITION_EOF, msg.error()
                    continue
                quiet_since = time.monotonic()
                value = msg.value().decode()
                input_id, count, _instance = value.split(":")
                out.records.append((msg.key().decode(), input_id, int(count)))
                out.values.append(value)
                out.times.append(msg.timestamp()[1] / 1000)
        finally:
            consumer.close()
        return out

    def assert_exactly_once(self, sent: Multiset[str]) -> None:
        """Each input produced exactly one output, and each key counted 1..n without gaps."""
        ids = Multiset(input_id for _, input_id, _ in self.records)
        dupes = [i for i, n in ids.items() if n > 1]
        assert not dupes, f"inputs counted twice: {dupes[:10]}"
        assert len(ids) == sum(sent.values()), f"{len(ids)} outputs for {sum(sent.values())}"
        for key, n in sent.items():
            counts = sorted(c for k, _, c in self.records if k == key)
            assert counts == list(range(1, n + 1)), f"key {key}: counts are not 1..{n}"

    def assert_acknowledged_only_once_committed(self, acks: Outputs) -> None:
        """Each acknowledgement is of a committed output (same input, count and instance), once.

        Acknowledgements lost in a crash are allowed; one of an aborted transaction is not.
        """
        assert acks.values, "no acknowledgement arrived"
        assert len(set(acks.values)) == len(acks.values), "an output was acknowledged twice"
        unknown = set(acks.values) - set(self.values)
        assert not unknown, f"acknowledged but not committed: {sorted(unknown)[:10]}"


def uncommitted_inputs(bootstrap: str, group: str, topic: str) -> int:
    """How many records of `topic` lie beyond the group's committed positions."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        behind = 0
        for tp in consumer.committed(partitions, timeout=10):
            high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), 10)[1]
            behind += high - max(tp.offset, 0)
        return behind
    finally:
        consumer.close()


def wait_for(predicate, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Polls `predicate` until true; returns the seconds it took."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
