"""Key layout of a history shard's RocksDB state: current runs, states, events, timers.

All keys are bytes built from length-prefixed parts (`_part`: 4-byte big-endian length, then
the UTF-8 bytes), so no namespace, workflow id or run id, whatever bytes it holds (NUL
included), can make one key look like another's prefix:
- `r<ns><wid>` -> mutable state (ExecutionState bytes) of the workflow id's current run;
- `c<ns><wid><run>` -> the state of a run that is no longer the current one (closed, then
  replaced by a new start, continue-as-new, a retry or a cron run), for reads by run id;
- `e<ns><wid><run><event id, 8 bytes big-endian>` -> HistoryEvent bytes;
- `t<fire ms, 8 bytes big-endian><ns><wid><run><kind><ref>` -> Deadline bytes, the durable
  timer index ordered by fire time.
Everything here is derived by folding the events topic (docs/ARCHITECTURE.md, invariant 2);
a store written with another layout is rebuilt (`STATE_FORMAT`).
"""

from __future__ import annotations

from collections.abc import Iterator

from temporalio.api.history.v1 import HistoryEvent

from history_processor.deadlines import Deadline, deadlines
from history_processor.state import ExecutionState
from streams import StateTransaction, metrics

STATE_FORMAT = "history/3"
"""The layout of these keys (`StreamsConfig.state_format`); 1 was NUL-separated, 2 kept no
`c` keys (a store of 2 is rebuilt from the changelog, which brings back the older runs)."""

_LEN = 4


def _part(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(_LEN, "big") + raw


def _parts(data: bytes, count: int) -> list[str]:
    """The first `count` length-prefixed parts of `data`."""
    out, pos = [], 0
    for _ in range(count):
        size = int.from_bytes(data[pos : pos + _LEN], "big")
        pos += _LEN
        out.append(data[pos : pos + size].decode())
        pos += size
    return out


def _exec(namespace: str, workflow_id: str) -> bytes:
    return _part(namespace) + _part(workflow_id)


def state_key(namespace: str, workflow_id: str) -> bytes:
    """Key of the current run's mutable state."""
    return b"r" + _exec(namespace, workflow_id)


def closed_state_key(namespace: str, workflow_id: str, run_id: str) -> bytes:
    """Key of the state of a run that is no longer its workflow id's current run."""
    return b"c" + _exec(namespace, workflow_id) + _part(run_id)


def event_prefix(namespace: str, workflow_id: str, run_id: str) -> bytes:
    """Prefix of one run's events."""
    return b"e" + _exec(namespace, workflow_id) + _part(run_id)


def timer_key(namespace: str, workflow_id: str, deadline: Deadline) -> bytes:
    """Index key of one durable timer."""
    return (
        b"t"
        + deadline.fire_at_ms.to_bytes(8, "big")
        + _exec(namespace, workflow_id)
        + _part(deadline.run_id)
        + _part(deadline.kind)
        + _part(deadline.ref)
    )


def timer_fire_ms(key: bytes) -> int:
    """The fire time of a timer index key."""
    return int.from_bytes(key[1:9], "big")


def parse_timer_key(key: bytes) -> tuple[str, str]:
    """(namespace, workflow id) of a timer index key."""
    namespace, workflow_id = _parts(key[9:], 2)
    return namespace, workflow_id


class _DecodedStates:
    """Recently stored or read states, decoded, keyed by their exact stored bytes.

    A hit needs the stored bytes to be equal, so an aborted transaction (whose overlay is
    gone) can never serve a state that was not committed. Callers must not mutate the
    returned objects (`decide` does not; folds work on a copy).
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self._capacity = capacity
        self._entries: dict[bytes, tuple[bytes, ExecutionState]] = {}

    def get(self, key: bytes, raw: bytes) -> ExecutionState | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == raw else None

    def put(self, key: bytes, raw: bytes, run: ExecutionState) -> None:
        if len(self._entries) >= self._capacity:
            del self._entries[next(iter(self._entries))]
        self._entries[key] = (raw, run)


_decoded = _DecodedStates()


def load_state(state: StateTransaction, namespace: str, workflow_id: str) -> ExecutionState | None:
    """The current run's mutable state, or None. The result must not be mutated."""
    key = state_key(namespace, workflow_id)
    raw = state.get(key)
    if raw is None:
        return None
    run = _decoded.get(key, raw)
    metrics.mutable_state_read(hit=run is not None)
    if run is None:
        run = ExecutionState.from_bytes(raw)
        _decoded.put(key, raw, run)
    return run


def save_state(state: StateTransaction, run: ExecutionState) -> None:
    """Stores the run as its workflow id's current run; `run` must not be mutated after."""
    key = state_key(run.namespace, run.workflow_id)
    raw = run.to_bytes()
    state.put(key, raw)
    _decoded.put(key, raw, run)


def current_runs(state: StateTransaction, namespace: str) -> Iterator[ExecutionState]:
    """The current run of every workflow id of a namespace in this shard."""
    prefix = b"r" + _part(namespace)
    for _, value in state.items(prefix, prefix + b"\xff" * (_LEN + 1)):
        yield ExecutionState.from_bytes(value)


def load_run(
    state: StateTransaction, namespace: str, workflow_id: str, run_id: str
) -> ExecutionState | None:
    """The state of the run `run_id` ("" for the current run), or None if it is not known.

    The result must not be mutated.
    """
    current = load_state(state, namespace, workflow_id)
    if not run_id or (current is not None and current.run_id == run_id):
        return current
    key = closed_state_key(namespace, workflow_id, run_id)
    raw = state.get(key)
    if raw is None:
        return None
    run = _decoded.get(key, raw)
    if run is None:
        run = ExecutionState.from_bytes(raw)
        _decoded.put(key, raw, run)
    return run


def save_replaced(state: StateTransaction, run: ExecutionState) -> None:
    """Keeps `run`, which a new run of its workflow id replaces as the current one."""
    state.put(closed_state_key(run.namespace, run.workflow_id, run.run_id), run.to_bytes())


def put_event(state: StateTransaction, run: ExecutionState, event: HistoryEvent) -> None:
    """Stores one committed event of `run`."""
    key = event_prefix(run.namespace, run.workflow_id, run.run_id) + event.event_id.to_bytes(
        8, "big"
    )
    state.put(key, event.SerializeToString())


def read_events(
    state: StateTransaction, namespace: str, workflow_id: str, run_id: str, first: int, until: int
) -> list[HistoryEvent]:
    """The run's events with first <= event_id < until, in order."""
    prefix = event_prefix(namespace, workflow_id, run_id)
    start = prefix + max(first, 0).to_bytes(8, "big")
    stop = prefix + max(until, 0).to_bytes(8, "big")
    return [HistoryEvent.FromString(value) for _, value in state.items(start, stop)]


def due_timers(
    state: StateTransaction, from_ms: int, now_ms: int, limit: int
) -> Iterator[tuple[bytes, bytes]]:
    """Timer index entries due from `from_ms` to `now_ms`, oldest first, at most `limit`."""
    start = b"t" + max(from_ms, 0).to_bytes(8, "big")
    stop = b"t" + (now_ms + 1).to_bytes(8, "big")
    for count, item in enumerate(state.items(start, stop)):
        if count >= limit:
            return
        yield item


def next_timer_ms(state: StateTransaction, from_ms: int) -> int | None:
    """The fire time of the earliest timer due at or after `from_ms`, or None."""
    start = b"t" + max(from_ms, 0).to_bytes(8, "big")
    for key, _ in state.items(start, b"u"):
        return timer_fire_ms(key)
    return None


def delete_run(state: StateTransaction, namespace: str, workflow_id: str, run_id: str) -> bool:
    """Removes everything kept of one run: its state (current or by run id), events and timers.

    Returns:
        False when nothing of the run was kept (already deleted).
    """
    found = False
    current = load_state(state, namespace, workflow_id)
    if current is not None and current.run_id == run_id:
        state.delete(state_key(namespace, workflow_id))
        found = True
    closed = closed_state_key(namespace, workflow_id, run_id)
    if state.get(closed) is not None:
        state.delete(closed)
        found = True
    prefix = event_prefix(namespace, workflow_id, run_id)
    stop = prefix + b"\xff" * 9  # past every 8-byte event id
    for key in [key for key, _ in state.items(prefix, stop)]:
        state.delete(key)
        found = True
    if current is not None and current.run_id == run_id:
        for deadline in deadlines(current):
            state.delete(timer_key(namespace, workflow_id, deadline))
    return found
